"""Creating, cancelling and retrying jobs; job snapshots for the API and event stream."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clipdex.billing import state as billing_state
from clipdex.db.types import utcnow
from clipdex.errors import JobNotCancellable, JobNotRetryable
from clipdex.jobs import outbox
from clipdex.models import Job, JobStage, Tenant, Video
from clipdex.pipeline import registry
from clipdex.pipeline.stage import VideoView
from clipdex.settings import Settings


def view_of(video: Video, tier: str) -> VideoView:
    return VideoView(id=video.id, tenant_id=video.tenant_id, source=video.source, source_url=video.source_url,
                     blob_key=video.blob_key, filename=video.filename, language=video.language,
                     duration_s=video.duration_s, media=video.media or {}, tier=tier)


def create_job(s: Session, settings: Settings, video: Video) -> Job:
    """A job with one row per planned stage; stages without dependencies start ready."""
    billing_state.ensure_processing_allowed(s, settings, video.tenant_id)  # suspended tenants: no processing
    tier = s.scalar(select(Tenant.tier).where(Tenant.id == video.tenant_id))
    job = Job(tenant_id=video.tenant_id, video_id=video.id)
    s.add(job)
    s.flush()
    for pos, (stage, deps) in enumerate(registry.plan(view_of(video, tier), settings.disabled_stages)):
        s.add(JobStage(tenant_id=video.tenant_id, job_id=job.id, name=stage.name, version=stage.version,
                       position=pos, depends_on=deps, queue=registry.queue_of(stage, settings),
                       status="waiting" if deps else "ready", max_attempts=settings.max_attempts))
    s.flush()
    outbox.enqueue_ready(s, s.scalars(select(JobStage).where(JobStage.job_id == job.id)).all())
    return job


def cancel_job(s: Session, job: Job) -> Job:
    if job.status not in ("queued", "running"):
        raise JobNotCancellable("Only queued or running jobs can be cancelled.")
    now = utcnow()
    job.status, job.finished_at = "cancelled", now
    s.execute(update(JobStage).where(JobStage.job_id == job.id, JobStage.status.in_(
        ("waiting", "ready", "running"))).values(status="cancelled", finished_at=now, lease_owner=None
                                                 ).execution_options(synchronize_session=False))
    video = s.get(Video, job.video_id)
    if video.status in ("queued", "processing"):
        video.status, video.error_code, video.error_message = "failed", "job.cancelled", "Processing was cancelled."
    return job


def retry_job(s: Session, job: Job) -> Job:
    if job.status not in ("failed", "cancelled"):
        raise JobNotRetryable("Only failed or cancelled jobs can be retried.")
    stages = s.scalars(select(JobStage).where(JobStage.job_id == job.id)).all()
    done = {st.name for st in stages if st.status in ("succeeded", "skipped")}
    for st in stages:
        if st.name not in done:
            st.status = "ready" if all(d in done for d in st.depends_on) else "waiting"
            st.attempt, st.not_before, st.error_code, st.error_message = 0, None, None, None
            st.finished_at, st.progress = None, 0.0
    outbox.enqueue_ready(s, stages)
    job.status, job.finished_at, job.error_code, job.error_message = "queued", None, None, None
    video = s.get(Video, job.video_id)
    video.status, video.error_code, video.error_message = "queued", None, None
    return job


def snapshot(s: Session, job: Job) -> dict:
    stages = s.scalars(select(JobStage).where(JobStage.job_id == job.id).order_by(JobStage.position)).all()
    return {
        "id": str(job.id), "video_id": str(job.video_id), "status": job.status,
        "error_code": job.error_code, "error_message": job.error_message,
        "created_at": job.created_at.isoformat(), "started_at": job.started_at and job.started_at.isoformat(),
        "finished_at": job.finished_at and job.finished_at.isoformat(),
        "progress": round(sum(st.progress if st.status == "running" else
                              (1.0 if st.status in ("succeeded", "skipped") else 0.0)
                              for st in stages) / max(1, len(stages)), 4),
        "stages": [{
            "name": st.name, "version": st.version, "status": st.status, "attempt": st.attempt,
            "progress": 1.0 if st.status in ("succeeded", "skipped") else st.progress,
            "started_at": st.started_at and st.started_at.isoformat(),
            "finished_at": st.finished_at and st.finished_at.isoformat(),
            "duration_s": st.duration_s, "error_code": st.error_code, "error_message": st.error_message,
        } for st in stages],
        # the compliance stage's verdict against the tenant's default policy, once it has run (issue 14)
        "compliance": next(({k: st.output.get(k) for k in ("verdict", "policy", "policy_version", "violations",
                                                           "warnings")}
                            for st in stages if st.name == "compliance" and (st.output or {}).get("verdict")), None),
    }


def latest_job(s: Session, video_id: uuid.UUID) -> Job | None:
    return s.scalar(select(Job).where(Job.video_id == video_id).order_by(Job.created_at.desc()).limit(1))
