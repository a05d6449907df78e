"""State transitions after a stage ends: dependents, job completion, video status, usage."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clipdex.billing.metering import record_usage
from clipdex.db.types import utcnow
from clipdex.jobs import outbox
from clipdex.models import Job, JobStage, Video

TERMINAL_OK = ("succeeded", "skipped")


def advance_job(s: Session, job_id: uuid.UUID) -> None:
    """Release stages whose dependencies are done; finish the job when every stage is."""
    # populate_existing: fenced bulk UPDATEs earlier in this transaction bypass the identity map
    stages = s.scalars(select(JobStage).where(JobStage.job_id == job_id).execution_options(
        populate_existing=True)).all()
    done = {st.name for st in stages if st.status in TERMINAL_OK}
    for st in stages:
        if st.status == "waiting" and all(d in done for d in st.depends_on):
            st.status = "ready"
            outbox.enqueue(s, st)
    if all(st.status in TERMINAL_OK for st in stages):
        job = s.get(Job, job_id)
        if job.status in ("queued", "running"):
            job.status, job.finished_at = "succeeded", utcnow()
            video = s.get(Video, job.video_id)
            video.status, video.error_code, video.error_message = "ready", None, None
            if video.duration_s:
                record_usage(s, video.tenant_id, "processing_minutes", video.duration_s / 60.0,
                             source_key=f"job:{job.id}:processing_minutes")


def fail_job(s: Session, job_id: uuid.UUID, code: str, message: str) -> None:
    now = utcnow()
    job = s.get(Job, job_id)
    if job is None or job.status not in ("queued", "running"):
        return
    job.status, job.finished_at, job.error_code, job.error_message = "failed", now, code, message[:500]
    # running siblings are cancelled too: their heartbeat notices and their fenced commit fails
    s.execute(update(JobStage).where(JobStage.job_id == job_id, JobStage.status.in_(
        ("waiting", "ready", "running"))).values(status="cancelled", finished_at=now, lease_owner=None
                                                 ).execution_options(synchronize_session=False))
    video = s.get(Video, job.video_id)
    if video is not None:
        video.status, video.error_code, video.error_message = "failed", code, message[:500]
