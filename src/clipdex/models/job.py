"""Processing jobs and their stages. The database is the truth; queues only carry ids."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.models.base import Base, TenantOwned

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
# waiting: dependencies unfinished; ready: claimable; running: leased to a worker
STAGE_STATUSES = ("waiting", "ready", "running", "succeeded", "failed", "cancelled", "skipped")


class Job(TenantOwned, Base):
    __tablename__ = "jobs"

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="process")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(500), default=None)


class JobStage(TenantOwned, Base):
    __tablename__ = "job_stages"
    __table_args__ = (
        UniqueConstraint("job_id", "name", name="uq_job_stages_job_name"),
        Index("ix_job_stages_status_not_before", "status", "not_before"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0)
    depends_on: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(16), default="cpu")
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(120), default=None)
    lease_token: Mapped[int] = mapped_column(default=0)  # fencing token, bumped on every claim
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    progress: Mapped[float] = mapped_column(default=0.0)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_s: Mapped[float | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(500), default=None)
    output: Mapped[dict] = mapped_column(JSON, default=dict)


class OutboxEntry(TenantOwned, Base):
    """A stage that needs a broker message: written in the transaction that makes it claimable.

    The Celery dispatcher publishes committed entries only (an enqueued stage always has its job) and
    every claimable stage has one (a committed job is always enqueued). ``published_at`` marks the
    message in flight: the entry is removed when a worker claims the stage, so in-flight entries
    count against fairness caps and are published again if their message is lost.
    """

    __tablename__ = "job_outbox"
    __table_args__ = (
        UniqueConstraint("stage_id", "attempt", name="uq_job_outbox_stage_id_attempt"),
        Index("ix_job_outbox_published_at_available_at", "published_at", "available_at"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("job_stages.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(16), default="cpu")
    attempt: Mapped[int] = mapped_column(default=0)  # the stage's attempt count the message is for
    available_at: Mapped[datetime | None] = mapped_column(default=None)  # retry backoff
    published_at: Mapped[datetime | None] = mapped_column(default=None)
