"""The transactional outbox: one entry per claimable stage, written in the transaction that makes it so.

Every place that turns a stage claimable (a new job, released dependents, a retry after backoff, a
retried job, a lease that expired) calls ``enqueue`` inside its own transaction, so the entry commits
or rolls back with the stage. Claiming a stage deletes its entry in the claim transaction. The
embedded worker never reads entries (it polls the stage rows); the Celery dispatcher publishes them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from clipdex.models import Job, JobStage, OutboxEntry


def enqueue(s: Session, stage: JobStage, available_at: datetime | None = None) -> None:
    """Record that ``stage`` (in its current attempt) needs a message; replaces an older entry."""
    s.flush()  # the stage row must exist before the entry that references it
    s.execute(delete(OutboxEntry).where(OutboxEntry.stage_id == stage.id).execution_options(
        synchronize_session=False))
    s.add(OutboxEntry(tenant_id=stage.tenant_id, job_id=stage.job_id, stage_id=stage.id, stage=stage.name,
                      queue=stage.queue, attempt=stage.attempt, available_at=available_at))


def enqueue_ready(s: Session, stages) -> None:
    for st in stages:
        if st.status == "ready":
            enqueue(s, st, st.not_before)


def drop(s: Session, stage_id: uuid.UUID) -> None:
    """The stage was claimed: its message (if one is in flight) is now stale."""
    s.execute(delete(OutboxEntry).where(OutboxEntry.stage_id == stage_id).execution_options(
        synchronize_session=False))


def purge_dead(s: Session) -> int:
    """Delete entries no message can act on: stage finished or re-claimed since, job no longer active."""
    dead = select(OutboxEntry.id).join(JobStage, JobStage.id == OutboxEntry.stage_id).join(
        Job, Job.id == JobStage.job_id).where(or_(
            JobStage.status.notin_(("ready", "running")), Job.status.notin_(("queued", "running")),
            JobStage.attempt != OutboxEntry.attempt, JobStage.tenant_id != OutboxEntry.tenant_id,
            JobStage.job_id != OutboxEntry.job_id))
    ids = s.scalars(dead).all()
    if ids:
        s.execute(delete(OutboxEntry).where(OutboxEntry.id.in_(ids)).execution_options(
            synchronize_session=False))
    return len(ids)


def enqueue_expired_leases(s: Session, now: datetime, queues: tuple[str, ...]) -> int:
    """Running stages whose worker stopped heartbeating get a fresh entry (their old message is stale)."""
    rows = s.scalars(select(JobStage).join(Job, Job.id == JobStage.job_id).outerjoin(
        OutboxEntry, OutboxEntry.stage_id == JobStage.id).where(and_(
            JobStage.status == "running", JobStage.lease_expires_at < now, JobStage.queue.in_(queues),
            Job.status.in_(("queued", "running")), OutboxEntry.id.is_(None)))).all()
    for st in rows:
        enqueue(s, st)
    return len(rows)
