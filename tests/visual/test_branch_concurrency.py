"""The audio branch and the visual branch of one job run at the same time on a two-thread worker pool
(stage rows' start and end times overlap), within the tenant's cap of running stages."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
from sqlalchemy import select

from clipdex.demo import _owner_principal
from clipdex.ingest.service import IngestMeta, accept, stage_copy
from clipdex.jobs.worker import WorkerPool
from clipdex.models import Job, JobStage, Video
from clipdex.tenancy import service as tenants
from tests.conftest import migrated_sqlite_settings, open_platform
from tests.media import FFMPEG


@pytest.mark.slow
def test_audio_and_visual_branches_of_one_job_overlap(tmp_path):
    video = tmp_path / "clip.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=8",
                    "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000:duration=8", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(video)], check=True)
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=["diarize", "index", "compliance"], worker_threads=2)
    with open_platform(settings) as p:
        slug = f"par-{uuid.uuid4().hex[:6]}"
        tenants.create_tenant_with_owner(p, "Par", "pro", slug=slug, actor="test",
                                         owner_email=f"owner@{slug}.example.com", owner_password="pw 0123456789abc")
        principal = _owner_principal(p, slug)
        v = accept(p, principal, stage_copy(settings, video), IngestMeta(title="clip", filename=video.name))
        pool = WorkerPool(p, 2).start()
        try:
            deadline, status = time.monotonic() + 300, "queued"
            while time.monotonic() < deadline and status not in ("ready", "failed"):
                time.sleep(0.2)
                with p.db.tenant(principal.tenant_id) as s:
                    status = s.get(Video, v.id).status
        finally:
            pool.shutdown()
        with p.db.tenant(principal.tenant_id) as s:
            job = s.scalar(select(Job).where(Job.video_id == v.id))
            rows = {r.name: (r.started_at, r.finished_at, r.status)
                    for r in s.scalars(select(JobStage).where(JobStage.job_id == job.id))}
    assert status == "ready", rows
    audio = [rows[n] for n in ("extract_audio", "transcribe", "sound_events")
             if n in rows and rows[n][2] == "succeeded"]
    vis_start, vis_end, _ = rows["visual"]
    assert audio and vis_start and vis_end
    overlap = max(min(vis_end, end) - max(vis_start, start) for start, end, _ in audio).total_seconds()
    assert overlap > 0, (rows, overlap)
