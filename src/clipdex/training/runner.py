"""The ``train`` queue: claiming training jobs fairly by tier, leases, heartbeat, resume, outcomes.

Ordering mirrors the pipeline scheduler: among tenants with a queued training, the one with the
fewest running trainings relative to its tier's weight goes first, then the higher tier rank, then
the oldest job. A tenant at its tier's ``max_concurrent`` trainings waits. The claim bumps a lease
token; every later write is fenced by it, so a worker that lost its lease commits nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, or_, select, update

from clipdex.billing.metering import record_usage
from clipdex.db.types import utcnow
from clipdex.errors import ClipdexError, TrainingNotCancellable
from clipdex.jobs import chaos
from clipdex.models import Tenant, TrainedModel, TrainingJob
from clipdex.pipeline.stage import LeaseLost
from clipdex.platform import Platform
from clipdex.tenancy.access import owned_by
from clipdex.tenancy.system import SystemReason, system_session
from clipdex.training import limits as lim

log = logging.getLogger("clipdex.training")
HISTORY_MAX = 500


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    model_id: uuid.UUID
    tenant_id: uuid.UUID
    lease_token: int
    attempt: int
    max_attempts: int


def _running(s, now) -> dict[uuid.UUID, int]:
    return dict(s.execute(select(TrainingJob.tenant_id, func.count()).where(
        TrainingJob.status == "running", TrainingJob.lease_expires_at >= now).group_by(TrainingJob.tenant_id)).all())


def _claimable(now):
    return or_(
        (TrainingJob.status == "queued") & (or_(TrainingJob.not_before.is_(None), TrainingJob.not_before <= now)),
        (TrainingJob.status == "running") & (TrainingJob.lease_expires_at < now))


def tenant_order(platform: Platform, s, now) -> list[uuid.UUID]:
    """Tenants with a claimable training, in the order they get the next slot (capped ones left out)."""
    waiting = s.execute(select(TrainingJob.tenant_id, Tenant.tier, func.min(TrainingJob.created_at)).join(
        Tenant, Tenant.id == TrainingJob.tenant_id).where(_claimable(now), Tenant.status == "active").group_by(
        TrainingJob.tenant_id, Tenant.tier)).all()
    busy = _running(s, now)
    order = []
    for tenant_id, tier_name, oldest in waiting:
        n = busy.get(tenant_id, 0)
        if n >= lim.limits_for(platform.settings, tier_name).max_concurrent:
            continue
        tier = platform.settings.tier(tier_name)
        order.append(((n / tier.weight, -tier.rank, oldest), tenant_id))
    return [t for _, t in sorted(order, key=lambda x: x[0])]


def claim_next(platform: Platform, worker_id: str) -> Claim | None:
    with system_session(platform, SystemReason.SCHEDULING) as s:
        now = utcnow()
        for tenant_id in tenant_order(platform, s, now):
            job = s.scalar(select(TrainingJob).where(owned_by(TrainingJob, tenant_id), _claimable(now)).order_by(
                TrainingJob.created_at).limit(1))
            if job is None:
                continue
            if job.status == "running" and job.attempt >= job.max_attempts:
                _finish(s, job.id, job.lease_token, "failed", "training.worker_lost",
                        "The worker training this model stopped responding on every attempt.", fenced=False)
                continue
            won = s.execute(update(TrainingJob).where(
                TrainingJob.id == job.id, TrainingJob.lease_token == job.lease_token).values(
                status="running", lease_owner=worker_id, lease_token=job.lease_token + 1, attempt=job.attempt + 1,
                lease_expires_at=now + timedelta(seconds=platform.settings.lease_s), not_before=None,
                started_at=job.started_at or now).execution_options(synchronize_session=False)).rowcount
            if not won:
                continue
            s.execute(update(TrainedModel).where(TrainedModel.id == job.model_id).values(status="running"))
            return Claim(job.id, job.model_id, tenant_id, job.lease_token + 1, job.attempt + 1, job.max_attempts)
    return None


def _finish(s, job_id, token, status, code=None, message=None, *, fenced=True) -> bool:
    q = update(TrainingJob).where(TrainingJob.id == job_id)
    if fenced:
        q = q.where(TrainingJob.lease_token == token, TrainingJob.status == "running")
    ok = bool(s.execute(q.values(status=status, finished_at=utcnow(), lease_owner=None, error_code=code,
                                 error_message=message and message[:500]).execution_options(
        synchronize_session=False)).rowcount)
    if ok:
        model_id = s.scalar(select(TrainingJob.model_id).where(TrainingJob.id == job_id))
        s.execute(update(TrainedModel).where(TrainedModel.id == model_id).values(status=status))
    return ok


class Lease:
    """Heartbeat from a side thread; progress is written with it; cancel or a lost lease stops the run."""

    def __init__(self, platform: Platform, claim: Claim) -> None:
        self.platform, self.claim = platform, claim
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"train-lease-{claim.job_id}")

    def __enter__(self) -> "Lease":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(max(0.2, self.platform.settings.lease_s / 3)):
            try:
                self.write({})
            except Exception:  # retried at the next beat; the lease margin covers it
                log.warning("training heartbeat failed", exc_info=True)

    def write(self, values: dict) -> None:
        c = self.claim
        with self._lock, self.platform.db.tenant(c.tenant_id) as s:
            ok = s.execute(update(TrainingJob).where(
                TrainingJob.id == c.job_id, TrainingJob.lease_token == c.lease_token,
                TrainingJob.status == "running").values(
                lease_expires_at=utcnow() + timedelta(seconds=self.platform.settings.lease_s), **values
            ).execution_options(synchronize_session=False)).rowcount
        if not ok:
            self.lost.set()

    def progress(self, point: dict) -> None:
        with self.platform.db.tenant(self.claim.tenant_id, readonly=True) as s:
            current = dict(s.scalar(select(TrainingJob.progress).where(TrainingJob.id == self.claim.job_id)) or {})
        history = (current.get("history") or [])
        history = [h for h in history if h["step"] < point["step"]] + [
            {"step": point["step"], "loss": point["loss"], "learning_rate": point["learning_rate"]}]
        self.write({"progress": {**current, **point, "phase": "training", "history": history[-HISTORY_MAX:]}})

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost()


def execute(platform: Platform, claim: Claim) -> str:
    """Run one claimed training to an outcome: succeeded, retry, failed, cancelled or lost."""
    from clipdex.training import pipeline

    started = time.monotonic()
    chaos.maybe_kill(pipeline.STAGE, "after_claim", claim.attempt)
    with Lease(platform, claim) as lease, tempfile.TemporaryDirectory(prefix="clipdex-train-") as tmp:
        try:
            result = pipeline.run(platform, claim, lease, Path(tmp))
            lease.check()
        except LeaseLost:
            return _lost_or_cancelled(platform, claim)
        except ClipdexError as e:
            return _failed(platform, claim, e.code, e.detail, permanent=not e.retryable)
        except Exception as e:  # retried, then reported
            log.exception("training failed", extra={"job_id": claim.job_id})
            return _failed(platform, claim, "training.error", f"Training failed ({type(e).__name__}).", permanent=False)
        with platform.db.tenant(claim.tenant_id) as s:
            if not _finish(s, claim.job_id, claim.lease_token, "succeeded"):
                s.rollback()
                return "lost"
            m = s.get(TrainedModel, claim.model_id)
            m.metrics, m.beats_base = result["metrics"], result["metrics"].get("beats_base")
            m.weights_prefix, m.size_bytes = result["weights_prefix"], result["size_bytes"]
            m.params = {**m.params, "resumed_from_step": result["resumed_from_step"]}
            record_usage(s, claim.tenant_id, "training_minutes", (time.monotonic() - started) / 60.0,
                         source_key=f"training:{claim.job_id}:{claim.attempt}")
    return "succeeded"


def _lost_or_cancelled(platform: Platform, claim: Claim) -> str:
    with platform.db.tenant(claim.tenant_id, readonly=True) as s:
        status = s.scalar(select(TrainingJob.status).where(TrainingJob.id == claim.job_id))
    return "cancelled" if status == "cancelled" else "lost"


def _failed(platform: Platform, claim: Claim, code: str, message: str, *, permanent: bool) -> str:
    retry = not permanent and claim.attempt < claim.max_attempts
    with platform.db.tenant(claim.tenant_id) as s:
        if retry:
            ok = s.execute(update(TrainingJob).where(
                TrainingJob.id == claim.job_id, TrainingJob.lease_token == claim.lease_token,
                TrainingJob.status == "running").values(
                status="queued", lease_owner=None, error_code=code, error_message=message[:500],
                not_before=utcnow() + timedelta(seconds=platform.settings.retry_base_s * 2 ** (claim.attempt - 1))
            ).execution_options(synchronize_session=False)).rowcount
            if ok:
                s.execute(update(TrainedModel).where(TrainedModel.id == claim.model_id).values(status="queued"))
        else:
            ok = _finish(s, claim.job_id, claim.lease_token, "failed", code, message)
    return ("retry" if retry else "failed") if ok else "lost"


def cancel(s, job: TrainingJob) -> None:
    """Cancel a queued or running training (a running one stops at its next logged step)."""
    if job.status not in ("queued", "running"):
        raise TrainingNotCancellable("Only queued or running trainings can be cancelled.")
    job.status, job.finished_at, job.lease_owner = "cancelled", utcnow(), None
    s.execute(update(TrainedModel).where(TrainedModel.id == job.model_id).values(status="cancelled"))


class TrainingWorker:
    """Claims and runs trainings until stopped (a ``train`` queue slot)."""

    def __init__(self, platform: Platform, name: str | None = None) -> None:
        self.platform = platform
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:train:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()

    def run_once(self) -> str | None:
        claim = claim_next(self.platform, self.id)
        return None if claim is None else execute(self.platform, claim)

    def drain(self, max_jobs: int = 100) -> int:
        n = 0
        while n < max_jobs and self.run_once() is not None:
            n += 1
        return n

    def run_forever(self) -> None:
        while not self.stop.is_set():
            try:
                did = self.run_once()
            except Exception:  # the loop survives database hiccups
                log.exception("training worker loop error")
                did = None
            if did is None:
                self.stop.wait(self.platform.settings.poll_interval_s)


def start_embedded(platform: Platform) -> TrainingWorker:
    """One training slot in a thread of the API process (the embedded deployment)."""
    worker = TrainingWorker(platform)
    threading.Thread(target=worker.run_forever, daemon=True, name=f"worker-{worker.id}").start()
    return worker
