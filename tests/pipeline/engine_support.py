"""Helpers shared by the job-engine tests (test_engine.py and test_scheduling.py)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from clipdex.auth.principal import Principal
from clipdex.db.types import utcnow
from clipdex.ingest.service import IngestMeta, accept, stage_copy
from clipdex.jobs import service as jobs
from clipdex.models import Artifact, Job, JobStage, UsageRecord, Video
from clipdex.pipeline import registry
from clipdex.storage import keys
from clipdex.tenancy import service as tenants
from clipdex.tenancy.system import SystemReason

REPO = Path(__file__).resolve().parents[2]
TERMINAL_JOB = ("succeeded", "failed", "cancelled")


class QuickStage:
    """An in-process test stage: may fail by attempt, sleeps while checking its lease, writes one artifact."""

    version, queue, produces = "1", "cpu", ("out.txt",)

    def __init__(self, name: str, requires: tuple[str, ...] = (), *, fail=None, sleep_s: float = 0.0,
                 artifact: bool = True) -> None:
        self.name, self.requires = name, tuple(requires)
        self.fail, self.sleep_s, self.artifact = fail, sleep_s, artifact
        self.runs: list[tuple[uuid.UUID, int]] = []
        self._lock = threading.Lock()

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        with self._lock:
            self.runs.append((ctx.job_id, ctx.attempt))
        err = self.fail(ctx.attempt) if self.fail else None
        if err is not None:
            raise err
        deadline = time.monotonic() + self.sleep_s
        while time.monotonic() < deadline:
            ctx.check_alive()
            time.sleep(0.01)
        if self.artifact:
            with ctx.scratch_dir() as tmp:
                path = Path(tmp) / "out.txt"
                path.write_text(f"{ctx.video.id}:{self.name}:{self.version}")
                ctx.write_artifact("out.txt", path, "text/plain")
        return {"stage": self.name}


@contextlib.contextmanager
def registered(*stages, only: bool = False):
    """Register test stages for one test (``only``: plan nothing else); the registry is restored after."""
    saved = dict(registry._STAGES)
    if only:
        registry._STAGES.clear()
    for st in stages:
        registry.register(st)
    try:
        yield
    finally:
        registry._STAGES.clear()
        registry._STAGES.update(saved)


def make_tenant(platform, tier: str = "pro", name: str = "T") -> uuid.UUID:
    return tenants.create_tenant(platform, name, tier, slug=f"{name.lower()}-{uuid.uuid4().hex[:8]}").id


def queue_job(platform, tenant_id: uuid.UUID, duration_s: float = 60.0) -> tuple[uuid.UUID, uuid.UUID]:
    """A video row and its planned job, without media (for stages that need none)."""
    with platform.db.tenant(tenant_id) as s:
        video = Video(tenant_id=tenant_id, title="t", filename="t.mp4", duration_s=duration_s)
        s.add(video)
        s.flush()
        job = jobs.create_job(s, platform.settings, video)
        return video.id, job.id


def ingest_clip(platform, tenant_id: uuid.UUID, clip: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """A real upload through the ingest service: stored original, probed, job planned."""
    principal = Principal(tenant_id=tenant_id, actor_type="user", actor_id=uuid.uuid4(), role="owner",
                          tenant_tier="pro")
    video = accept(platform, principal, stage_copy(platform.settings, clip),
                   IngestMeta(title="clip", filename=clip.name))
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return video.id, s.scalar(select(Job.id).where(Job.video_id == video.id))


def stages_of(platform, job_id) -> dict[str, JobStage]:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return {st.name: st for st in s.scalars(select(JobStage).where(JobStage.job_id == job_id))}


def job_and_video(platform, job_id) -> tuple[Job, Video]:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        job = s.get(Job, job_id)
        return job, s.get(Video, job.video_id)


def artifacts_of(platform, video_id) -> list[Artifact]:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return list(s.scalars(select(Artifact).where(Artifact.video_id == video_id).order_by(Artifact.stage,
                                                                                           Artifact.name)))


def expire_lease(platform, stage_id) -> None:
    """What a dead worker leaves behind: a running stage whose lease ran out."""
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(update(JobStage).where(JobStage.id == stage_id).values(
            lease_expires_at=utcnow() - timedelta(seconds=1)))


def wait_for(predicate, timeout: float, what: str, on_fail=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{on_fail()}")


def blob_digest(platform, key: str) -> str:
    with platform.blobs.open(key) as f:
        return hashlib.sha256(f.read()).hexdigest()


def assert_effects_once(platform, video_id, job_id) -> list[Artifact]:
    """Invariant 2 on its effects: one successful job, one row per artifact, blobs == rows, billed once."""
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        video = s.get(Video, video_id)
        job_ids = s.scalars(select(Job.id).where(Job.video_id == video_id)).all()
        job = s.get(Job, job_id)
        usage = s.scalars(select(UsageRecord).where(UsageRecord.tenant_id == video.tenant_id,
                                                    UsageRecord.metric == "processing_minutes")).all()
    arts = artifacts_of(platform, video_id)
    assert job_ids == [job_id] and job.status == "succeeded" and job.finished_at is not None
    assert video.status == "ready" and video.error_code is None
    names = Counter((a.stage, a.name) for a in arts)
    assert all(n == 1 for n in names.values()), names
    stored = set(platform.blobs.list_prefix(keys.video_prefix(video.tenant_id, video_id)))
    expected = {a.blob_key for a in arts} | ({video.blob_key} if video.blob_key else set())
    assert stored == expected, f"orphans {stored - expected}, missing {expected - stored}"
    for a in arts:
        assert platform.blobs.size(a.blob_key) == a.size_bytes
    assert [u.source_key for u in usage] == [f"job:{job_id}:processing_minutes"]
    assert usage[0].quantity == pytest.approx(video.duration_s / 60.0)
    return arts


