"""The pipeline through Celery workers in separate processes, on PostgreSQL, Redis and (for the real
pipeline) S3 on a moto server over HTTP: same claim/run/commit path as the embedded worker."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import func, select

from clipdex.jobs import celery_app
from clipdex.jobs.dispatcher import Message
from clipdex.models import JobStage, OutboxEntry
from clipdex.tenancy.system import SystemReason
from tests.pipeline.engine_support import (assert_effects_once, ingest_clip, make_tenant, queue_job, registered,
                                           stages_of)
from tests.scaleout.celery_support import (STAGES, expected_marker, job_status, snapshot, wait_until)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _outbox_rows(platform) -> int:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return s.scalar(select(func.count()).select_from(OutboxEntry))


def test_jobs_of_several_tenants_finish_once_through_two_worker_processes(celery_platform):
    platform, fleet = celery_platform
    with registered(*STAGES, only=True):
        jobs = [queue_job(platform, make_tenant(platform, name=f"T{i}")) for i in range(3)]
        jobs.append(queue_job(platform, make_tenant(platform, tier="free", name="Free")))
    assert _outbox_rows(platform) == 4  # committed with each job: one entry per ready stage
    workers = [fleet.start(), fleet.start(concurrency=2)]
    wait_until(lambda: all(job_status(platform, j) == "succeeded" for _, j in jobs), 60, "every job", fleet)
    for video_id, job_id in jobs:
        arts = assert_effects_once(platform, video_id, job_id)
        assert [a.stage for a in arts] == ["sc_first", "sc_second", "sc_third"]
        for a in arts:
            with platform.blobs.open(a.blob_key) as f:
                assert f.read().decode() == expected_marker(video_id, a.stage)
        assert {st.attempt for st in stages_of(platform, job_id).values()} == {1}
    assert _outbox_rows(platform) == 0  # every entry was claimed
    for w in workers:  # a warm shutdown: both exit cleanly
        w.send_signal(signal.SIGTERM)
    assert [w.wait(timeout=30) for w in workers] == [0, 0], fleet.logs()


def test_stale_and_replayed_messages_change_nothing(celery_platform):
    platform, fleet = celery_platform
    with registered(*STAGES, only=True):
        video_id, job_id = queue_job(platform, make_tenant(platform))
    worker = fleet.start(concurrency=2)
    wait_until(lambda: job_status(platform, job_id) == "succeeded", 60, "the job", fleet)
    before = snapshot(platform, job_id)
    # every stage message again, for every attempt it ever had, plus one for a job that does not exist
    publish = celery_app.publisher(celery_app.make_app(platform.settings))
    for name, *_ in before["stages"]:
        for attempt in (0, 1, 2):
            publish(Message(str(job_id), name, attempt, "cpu"))
    publish(Message("00000000-0000-0000-0000-000000000001", "sc_first", 0, "cpu"))
    wait_until(lambda: worker.log.read_text().count("stale message ignored") >= 10, 30, "the replays", fleet)
    assert snapshot(platform, job_id) == before
    assert_effects_once(platform, video_id, job_id)


@pytest.mark.parametrize("celery_platform", ["s3"], indirect=True)
def test_real_pipeline_through_celery_workers(celery_platform, tmp_path):
    """probe, extract_audio, thumbnail (and any other non-model stage) on real media, blobs on S3."""
    from tests.media import make_video

    platform, fleet = celery_platform
    tenant_id = make_tenant(platform)
    video_id, job_id = ingest_clip(platform, tenant_id, make_video(tmp_path / "v.mp4", seconds=2))
    fleet.start(concurrency=2)
    fleet.start()
    wait_until(lambda: job_status(platform, job_id) in ("succeeded", "failed"), 120, "the job", fleet)
    stages = stages_of(platform, job_id)
    assert {"probe", "extract_audio", "thumbnail"} <= set(stages)
    assert all(st.status in ("succeeded", "skipped") for st in stages.values()), {
        n: (st.status, st.error_code, st.error_message) for n, st in stages.items()}
    arts = assert_effects_once(platform, video_id, job_id)
    names = {(a.stage, a.name) for a in arts}
    assert ("extract_audio", "audio.wav") in names and any(s == "thumbnail" for s, _ in names)
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        owners = set(s.scalars(select(JobStage.lease_owner)))
    assert owners == {None}
