"""Running one claimed stage: heartbeat, the analyzer, and a commit fenced by the lease token."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import delete, select, update

from clipdex.db.types import utcnow
from clipdex.errors import ClipdexError, MediaRejected
from clipdex.analyzers import runtime
from clipdex.jobs import chaos, outbox
from clipdex.jobs.outcome import advance_job, fail_job
from clipdex.jobs.scheduler import Claim
from clipdex.models import Artifact, Job, JobStage, Tenant, Video
from clipdex.observability import STAGE_SECONDS
from clipdex.pipeline import registry
from clipdex.pipeline.artifacts import BlobOut, JsonArtifact, PendingArtifact, Source, save_bytes
from clipdex.pipeline.stage import Commit, LeaseLost, StageContext, StageResult, VideoView
from clipdex.platform import Platform

log = logging.getLogger("clipdex.jobs")


class _Lease:
    """Keeps the lease alive from a side thread and notices when it is lost or the job cancelled."""

    def __init__(self, platform: Platform, claim: Claim) -> None:
        self.platform, self.claim = platform, claim
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._progress: float | None = None
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{claim.stage_id}")

    def __enter__(self) -> "_Lease":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def set_progress(self, value: float) -> None:
        self._progress = value

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost()

    def _beat(self) -> None:
        interval = max(0.2, self.platform.settings.lease_s / 3)
        while not self._stop.wait(interval):
            try:
                self.beat_once()
            except Exception:  # a failed heartbeat is retried; the lease margin covers it
                log.warning("heartbeat failed", exc_info=True)

    def beat_once(self) -> None:
        c = self.claim
        values = {"lease_expires_at": utcnow() + timedelta(seconds=self.platform.settings.lease_s)}
        if self._progress is not None:
            values["progress"] = round(self._progress, 4)
        with self.platform.db.tenant(c.tenant_id) as s:
            ok = s.execute(update(JobStage).where(
                JobStage.id == c.stage_id, JobStage.lease_token == c.lease_token,
                JobStage.status == "running").values(**values).execution_options(synchronize_session=False)).rowcount
            job_status = s.scalar(select(Job.status).where(Job.id == c.job_id))
        if not ok or job_status not in ("queued", "running"):
            self.lost.set()


def _view(platform: Platform, claim: Claim, stage) -> tuple[VideoView, dict[str, dict], dict]:
    """The video, the outputs of this job's finished stages, and the stage's declared inputs, loaded."""
    with platform.db.tenant(claim.tenant_id, readonly=True) as s:
        v = s.get(Video, claim.video_id)
        tier = s.scalar(select(Tenant.tier).where(Tenant.id == claim.tenant_id))
        upstream = {st.name: st.output or {} for st in s.scalars(select(JobStage).where(
            JobStage.job_id == claim.job_id, JobStage.status.in_(("succeeded", "skipped"))))}
        view = VideoView(id=v.id, tenant_id=v.tenant_id, source=v.source, source_url=v.source_url,
                         blob_key=v.blob_key, filename=v.filename, language=v.language,
                         duration_s=v.duration_s, media=v.media or {}, tier=tier)
        src = Source(platform, s, claim.tenant_id, claim.video_id)
        loaded = {kind: kind.load(src) for kind in getattr(stage, "inputs", ())}
    return view, upstream, loaded


def execute(platform: Platform, claim: Claim) -> str:
    """Run ``claim`` to an outcome: succeeded, retry, failed, or lost (someone else owns it now)."""
    stage = registry.get(claim.name)
    started = time.monotonic()
    view, upstream, loaded = _view(platform, claim, stage)
    chaos.maybe_kill(claim.name, "after_claim", claim.attempt)
    with _Lease(platform, claim) as lease:
        ctx = StageContext(platform=platform, video=view, job_id=claim.job_id, stage_name=claim.name,
                           stage_version=claim.version, attempt=claim.attempt, upstream=upstream,
                           report_progress=lease.set_progress, check_alive=lease.check, loaded=loaded)
        if chaos.enabled(claim.name, "mid_work"):
            ctx.report_progress, ctx.check_alive = _mid_work_kill(claim, lease)
        try:
            result = StageResult.of(stage.run(ctx))
            _check_outputs(stage, result)
            lease.check()
            chaos.maybe_kill(claim.name, "after_artifact", claim.attempt)
            outcome = _finish_ok(platform, claim, ctx, result)
        except LeaseLost:
            outcome = "lost"
        except ClipdexError as e:  # MediaRejected and the rest of the catalogue say whether a retry can help
            outcome = _finish_failed(platform, claim, e.code, e.detail, permanent=not _retryable(e))
        except Exception as e:  # any other failure is retried, then reported (logged here)
            log.exception("stage %s failed", claim.name, extra={"job_id": claim.job_id, "stage": claim.name})
            outcome = _finish_failed(platform, claim, "job.stage_error",
                                     f"Stage {claim.name} failed ({type(e).__name__}).", permanent=False)
    STAGE_SECONDS.labels(claim.name, outcome).observe(time.monotonic() - started)
    runtime.trim()  # the stage's buffers go back to the system, not to this thread's malloc arena
    chaos.maybe_kill(claim.name, "after_commit", claim.attempt)
    return outcome


def _retryable(e: ClipdexError) -> bool:
    """The error's own flag (the catalogue's ``retryable``); a rejected file never gets better."""
    return not isinstance(e, MediaRejected) and bool(getattr(e, "retryable", False))


def _check_outputs(stage, result: StageResult) -> None:
    """A stage returns only the kinds it declared in ``outputs`` (its own, checked at discovery)."""
    declared = {k for k in getattr(stage, "outputs", ()) if isinstance(k, type)}
    for a in result.artifacts:
        if isinstance(a, JsonArtifact) and type(a) not in declared:
            raise TypeError(f"stage {stage.name} returned {type(a).__name__}, not among its outputs")


def _mid_work_kill(claim: Claim, lease: _Lease):
    """Progress and liveness hooks that kill the process at the stage's first call (chaos tests only)."""
    def progress(value: float) -> None:
        chaos.maybe_kill(claim.name, "mid_work", claim.attempt)
        lease.set_progress(value)

    def check() -> None:
        chaos.maybe_kill(claim.name, "mid_work", claim.attempt)
        lease.check()

    return progress, check


def _lock_job(s, job_id) -> None:
    """Serialise the commits of one job's stages (a row lock on PostgreSQL; SQLite writes one at a time).

    Without it, two stages finishing at once each see the other still running, and neither releases
    their dependents nor finishes the job. Taken before the stage row, the order cancel_job uses.
    """
    s.execute(select(Job.id).where(Job.id == job_id).with_for_update())


def _fence(s, claim: Claim, **values) -> bool:
    return bool(s.execute(update(JobStage).where(
        JobStage.id == claim.stage_id, JobStage.lease_token == claim.lease_token,
        JobStage.status == "running").values(lease_owner=None, **values).execution_options(
        synchronize_session=False)).rowcount)


def _finish_ok(platform: Platform, claim: Claim, ctx: StageContext, result: StageResult | dict) -> str:
    """The one place a stage's effects land: blobs of its returned artifacts, their rows, the rows its
    writers make and the video's columns, all after the lease fence and in the fence's transaction."""
    now = utcnow()
    result = StageResult.of(result)
    output = dict(result.output)
    status = "skipped" if output.get("skipped") else "succeeded"
    with platform.db.tenant(claim.tenant_id) as s:
        _lock_job(s, claim.job_id)
        st = s.get(JobStage, claim.stage_id)
        if st is None:  # deleted with its video, or not this tenant's row: nothing to commit
            return "lost"
        duration = (now - st.started_at).total_seconds() if st.started_at else None
        if not _fence(s, claim, status=status, progress=1.0, finished_at=now, duration_s=duration,
                      output=output, error_code=None, error_message=None):
            s.rollback()
            return "lost"
        pending = list(ctx.artifacts)

        def save(a) -> None:
            pending[:] = [p for p in pending if p.name != a.name]
            pending.append(_save(platform, claim, a))

        for a in result.artifacts:
            save(a)
        commit = Commit(session=s, tenant_id=claim.tenant_id, video_id=claim.video_id, output=output, save=save)
        for write in result.rows:
            write(commit)
        if output != result.output:  # a writer added to it
            s.execute(update(JobStage).where(JobStage.id == claim.stage_id).values(output=output)
                      .execution_options(synchronize_session=False))
        for a in pending:
            s.execute(delete(Artifact).where(Artifact.video_id == claim.video_id, Artifact.stage == claim.name,
                                             Artifact.name == a.name))
            s.add(Artifact(tenant_id=claim.tenant_id, video_id=claim.video_id, stage=claim.name,
                           version=claim.version, name=a.name, blob_key=a.blob_key,
                           content_type=a.content_type, size_bytes=a.size_bytes, meta=a.meta))
        if result.video:
            video = s.get(Video, claim.video_id)
            for k, v in result.video.items():
                setattr(video, k, v)
        s.flush()
        advance_job(s, claim.job_id)
    return status


def _save(platform: Platform, claim: Claim, a: JsonArtifact | BlobOut) -> PendingArtifact:
    if isinstance(a, JsonArtifact):
        return a.save(platform, claim.tenant_id, claim.video_id, claim.version)
    return save_bytes(platform, claim.tenant_id, claim.video_id, claim.name, claim.version, a.name, a.data,
                      a.content_type, a.meta)


def _finish_failed(platform: Platform, claim: Claim, code: str, message: str, *, permanent: bool) -> str:
    now = utcnow()
    retry = not permanent and claim.attempt < claim.max_attempts
    with platform.db.tenant(claim.tenant_id) as s:
        _lock_job(s, claim.job_id)
        if retry:
            delay = platform.settings.retry_base_s * (2 ** (claim.attempt - 1))
            not_before = now + timedelta(seconds=delay)
            ok = _fence(s, claim, status="ready", not_before=not_before, error_code=code, error_message=message[:500])
            if ok:
                outbox.enqueue(s, s.get(JobStage, claim.stage_id, populate_existing=True), not_before)
        else:
            ok = _fence(s, claim, status="failed", finished_at=now, error_code=code, error_message=message[:500])
            if ok:
                fail_job(s, claim.job_id, code, message)
        if not ok:
            s.rollback()
            return "lost"
    return "retry" if retry else "failed"
