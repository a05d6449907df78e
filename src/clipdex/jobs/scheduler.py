"""Claiming stages: fair across tenants, tier-aware, capped per tenant, fenced by lease tokens.

Order of tenants for the next free slot: fewest running stages relative to the tier's weight,
then higher tier rank, then the tenant served longest ago. A tenant with 500 queued videos and a
tenant with one therefore alternate: the newcomer waits for at most one slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, true, update

from clipdex.billing import state as billing_state
from clipdex.db.types import utcnow
from clipdex.jobs import outbox
from clipdex.models import Job, JobStage, Tenant, Video
from clipdex.pipeline import registry
from clipdex.platform import Platform
from clipdex.tenancy.access import owned_by, same_tenant
from clipdex.tenancy.system import SystemReason


@dataclass(frozen=True)
class Claim:
    stage_id: uuid.UUID
    job_id: uuid.UUID
    tenant_id: uuid.UUID
    video_id: uuid.UUID
    name: str
    version: str
    lease_token: int
    attempt: int
    max_attempts: int


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _claimable(now: datetime, queues: tuple[str, ...] | None = None):
    # Only stages this process can run: a worker without an analyzer installed leaves them to others.
    return and_(
        JobStage.queue.in_(queues) if queues is not None else true(),
        JobStage.name.in_(sorted(registry.all_stages())),
        Job.status.in_(("queued", "running")),
        Tenant.status == "active",
        or_(
            and_(JobStage.status == "ready", or_(JobStage.not_before.is_(None), JobStage.not_before <= now)),
            and_(JobStage.status == "running", JobStage.lease_expires_at < now),
        ),
    )


def running_per_tenant(s, now: datetime) -> dict[uuid.UUID, int]:
    """Stages with a live lease, per tenant (all queues: a tier's cap counts every stage it runs)."""
    return dict(s.execute(select(JobStage.tenant_id, func.count()).where(
        JobStage.status == "running", JobStage.lease_expires_at >= now).group_by(JobStage.tenant_id)).all())


def rank_tenants(platform: Platform, s, tenant_ids, busy: dict[uuid.UUID, int],
                 served: dict[uuid.UUID, datetime] | None = None) -> list[uuid.UUID]:
    """``tenant_ids`` in the order they get the next slot; tenants at their tier's cap are left out.

    Shared by the embedded claim and the Celery dispatcher, so both transports schedule alike.
    ``served`` overrides ``last_scheduled_at`` with what the caller handed out since it read it.
    """
    if not tenant_ids:
        return []
    rows = s.execute(select(Tenant.id, Tenant.tier, Tenant.last_scheduled_at).where(
        Tenant.id.in_(list(tenant_ids)))).all()
    paused = billing_state.suspended_among(s, platform.settings, tenant_ids)  # unpaid: stages wait (issue 15)
    order = []
    for tenant_id, tier_name, last in rows:
        tier = platform.settings.tier(tier_name)
        n = busy.get(tenant_id, 0)
        if n >= tier.concurrent_stages or tenant_id in paused:
            continue
        last = (served or {}).get(tenant_id, last)
        order.append(((n / tier.weight, -tier.rank, last or _EPOCH), tenant_id))
    return [t for _, t in sorted(order, key=lambda x: x[0])]


def _tenant_order(platform: Platform, s, now: datetime, queues: tuple[str, ...]) -> list[uuid.UUID]:
    waiting = s.scalars(select(JobStage.tenant_id).join(Job, Job.id == JobStage.job_id).join(
        Tenant, Tenant.id == JobStage.tenant_id).where(_claimable(now, queues)).distinct()).all()
    return rank_tenants(platform, s, waiting, running_per_tenant(s, now))


def claim_next(platform: Platform, worker_id: str, queues: tuple[str, ...] = ("cpu",)) -> Claim | None:
    """Lease the next stage for ``worker_id`` or return None when nothing is claimable."""
    with platform.db.system(reason=SystemReason.SCHEDULING) as s:
        now = utcnow()
        for tenant_id in _tenant_order(platform, s, now, queues):
            row = s.execute(
                select(JobStage, Job.video_id).join(Job, Job.id == JobStage.job_id).join(
                    Tenant, Tenant.id == JobStage.tenant_id).where(
                    owned_by(JobStage, tenant_id), _claimable(now, queues)).order_by(
                    Job.created_at, JobStage.position).limit(1)).first()
            if row is None:
                continue
            claim = _take(platform, s, worker_id, row[0], row[1], now)
            if claim is not None:
                return claim
            # a lost race or an abandoned stage is not "nothing claimable": drain() would stop early
    return None


def claim_stage(platform: Platform, worker_id: str, job_id: uuid.UUID, name: str, attempt: int) -> Claim | None:
    """Lease one named stage for a broker message, or None when the message is stale or a duplicate.

    Stale: the stage finished, its job ended, another worker holds a live lease, or the stage was
    claimed again since the message was published (its attempt count moved on).
    """
    with platform.db.system(reason=SystemReason.SCHEDULING) as s:
        now = utcnow()
        row = s.execute(select(JobStage, Job.video_id).join(Job, Job.id == JobStage.job_id).join(
            Tenant, Tenant.id == JobStage.tenant_id).where(
            # the tenant comes from the job row, never from the message
            JobStage.job_id == job_id, JobStage.name == name, same_tenant(JobStage, Job),
            _claimable(now))).first()
        if row is None or row[0].attempt != attempt:
            return None
        return _take(platform, s, worker_id, row[0], row[1], now)


def _take(platform: Platform, s, worker_id: str, stage: JobStage, video_id: uuid.UUID,
          now: datetime) -> Claim | None:
    """The fenced claim both transports share: bump the lease token, or lose the race and get None."""
    if stage.status == "running" and stage.attempt >= stage.max_attempts:
        _fail_abandoned(s, stage, now)
        return None
    won = s.execute(update(JobStage).where(
        JobStage.id == stage.id, JobStage.lease_token == stage.lease_token,
        JobStage.status == stage.status,
        # a heartbeat that renewed the lease since we looked wins over our takeover
        or_(JobStage.status == "ready", JobStage.lease_expires_at < now)).values(
        status="running", lease_owner=worker_id, lease_token=stage.lease_token + 1,
        lease_expires_at=now + timedelta(seconds=platform.settings.lease_s), attempt=stage.attempt + 1,
        started_at=now, not_before=None, progress=0.0).execution_options(synchronize_session=False)).rowcount
    if not won:
        return None
    outbox.drop(s, stage.id)
    s.execute(update(Tenant).where(Tenant.id == stage.tenant_id).values(last_scheduled_at=now))
    s.execute(update(Job).where(Job.id == stage.job_id, Job.status == "queued").values(
        status="running", started_at=now))
    s.execute(update(Video).where(Video.id == video_id, Video.status == "queued").values(
        status="processing"))
    return Claim(stage.id, stage.job_id, stage.tenant_id, video_id, stage.name, stage.version,
                 stage.lease_token + 1, stage.attempt + 1, stage.max_attempts)


def _fail_abandoned(s, stage: JobStage, now: datetime) -> None:
    """A stage whose workers died on every attempt (a poison input): fail it instead of looping."""
    from clipdex.jobs.outcome import fail_job

    done = s.execute(update(JobStage).where(
        JobStage.id == stage.id, JobStage.lease_token == stage.lease_token).values(
        status="failed", finished_at=now, lease_owner=None, error_code="job.worker_lost",
        error_message="The worker processing this stage stopped responding on every attempt.")).rowcount
    if done:
        fail_job(s, stage.job_id, "job.worker_lost",
                 f"Stage {stage.name} was abandoned by its worker {stage.attempt} times.")


def queue_depth(platform: Platform) -> dict[tuple[str, str], int]:
    """Ready stages per (tenant id, queue), for metrics: CPU and GPU pools scale on their own backlog."""
    with platform.db.system(reason=SystemReason.SCHEDULING) as s:
        rows = s.execute(select(JobStage.tenant_id, JobStage.queue, func.count()).where(
            JobStage.status == "ready").group_by(JobStage.tenant_id, JobStage.queue)).all()
    return {(str(t), q): n for t, q, n in rows}
