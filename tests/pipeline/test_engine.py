"""The job engine under stress: killed workers, stale leases, double delivery, racing claimers.

Invariant 2 (idempotent, resumable pipeline) is checked on its effects: a job succeeds once, each
(video, stage, name) has one artifact row, the blobs under the video match those rows, and usage is
billed once, however often a stage was claimed, killed or delivered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clipdex.db.types import utcnow
from clipdex.jobs import runner, scheduler
from clipdex.jobs import service as jobs
from clipdex.jobs.worker import Worker
from clipdex.models import Job, JobStage, UsageRecord
from clipdex.pipeline.stage import LeaseLost
from clipdex.storage import keys
from clipdex.tenancy.system import SystemReason

from tests.media import make_video
from tests.pipeline import slow_stage
from tests.pipeline.engine_support import (
    QuickStage, registered, make_tenant, queue_job, ingest_clip, stages_of,
    job_and_video, artifacts_of, expire_lease, wait_for, blob_digest, assert_effects_once,
    REPO, TERMINAL_JOB,
)


# ---------------------------------------------------------------- killed worker processes


@pytest.fixture
def worker_procs():
    """Worker processes this test started; any still alive at the end are killed by their pid."""
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


def start_worker(platform, procs: list, log: Path, **env) -> subprocess.Popen:
    """A real ``clipdex worker`` process on the test's database and blob folder."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDEX_")}
    child.update(
        CLIPDEX_ENV="test", CLIPDEX_DATA_DIR=str(platform.settings.data_dir),
        CLIPDEX_DATABASE_URL=platform.settings.resolved_database_url,
        CLIPDEX_SECRET_KEY=platform.settings.secret_key, CLIPDEX_LEASE_S="2", CLIPDEX_POLL_INTERVAL_S="0.1",
        CLIPDEX_RETRY_BASE_S="0.1", CLIPDEX_EXTRA_STAGES="tests.pipeline.slow_stage:STAGE",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH")) if p),
        **env)
    out = open(log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "clipdex.cli", "worker", "--concurrency", "1"], env=child,
                            cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    procs.append(proc)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("write", ["last", "first"], ids=["killed_before_write", "killed_after_write"])
def test_sigkilled_worker_costs_one_stage_and_effects_happen_once(platform, tmp_path, worker_procs, write):
    with registered(slow_stage.STAGE):  # so create_job plans it, as the worker processes will
        tenant_id = make_tenant(platform)
        video_id, job_id = ingest_clip(platform, tenant_id, make_video(tmp_path / "k.mp4", seconds=1, audio=False))
    marker_key = keys.artifact(tenant_id, video_id, "slow_marker", "1", slow_stage.ARTIFACT)
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]

    def show_logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in logs if p.exists())

    first = start_worker(platform, worker_procs, logs[0], CLIPDEX_TEST_SLOW_SECONDS="60",
                         CLIPDEX_TEST_SLOW_WRITE=write)

    def slow_running_in_first() -> bool:
        assert first.poll() is None, f"worker exited early\n{show_logs()}"
        st = stages_of(platform, job_id)["slow_marker"]
        return st.status == "running" and f":{first.pid}:" in (st.lease_owner or "")

    wait_for(slow_running_in_first, 30, "the slow stage to run in the first worker", show_logs)
    if write == "first":  # killed after the blob is stored, before the commit
        wait_for(lambda: platform.blobs.exists(marker_key), 10, "the artifact blob", show_logs)
    assert slow_running_in_first() and platform.blobs.exists(marker_key) == (write == "first")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed = stages_of(platform, job_id)["slow_marker"]
    assert killed.status == "running" and killed.attempt == 1  # nothing committed by the dead worker
    assert [a.name for a in artifacts_of(platform, video_id) if a.stage == "slow_marker"] == []

    second = start_worker(platform, worker_procs, logs[1], CLIPDEX_TEST_SLOW_SECONDS="0.3",
                          CLIPDEX_TEST_SLOW_WRITE=write)
    wait_for(lambda: job_and_video(platform, job_id)[0].status in TERMINAL_JOB, 60, "the job to finish", show_logs)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0, show_logs()

    stages = stages_of(platform, job_id)
    assert {n: st.status for n, st in stages.items()} == {
        "probe": "succeeded", "extract_audio": "skipped", "slow_marker": "succeeded", "thumbnail": "succeeded"}
    assert stages["slow_marker"].attempt == 2 and stages["slow_marker"].lease_owner is None
    assert all(st.attempt == 1 for n, st in stages.items() if n != "slow_marker")
    arts = assert_effects_once(platform, video_id, job_id)
    marker = next(a for a in arts if a.stage == "slow_marker")
    assert marker.blob_key == marker_key
    with platform.blobs.open(marker_key) as f:
        assert json.load(f)["video_id"] == str(video_id)


# ---------------------------------------------------------------- fencing


def test_stale_claim_cannot_commit_and_heartbeat_notices(platform):
    stage = QuickStage("marker")
    with registered(stage, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        first = scheduler.claim_next(platform, "w1")
        lease = runner._Lease(platform, first)
        lease.beat_once()  # a live owner extends its lease
        assert not lease.lost.is_set()
        assert stages_of(platform, job_id)["marker"].lease_expires_at > utcnow() + timedelta(seconds=3)

        expire_lease(platform, first.stage_id)  # the first worker stalls past its lease
        second = scheduler.claim_next(platform, "w2")
        assert (second.stage_id, second.lease_token, second.attempt) == (
            first.stage_id, first.lease_token + 1, 2)
        lease.beat_once()
        assert lease.lost.is_set()
        with pytest.raises(LeaseLost):
            lease.check()

        assert runner.execute(platform, first) == "lost"  # ran to the end, but its commit is fenced off
        st = stages_of(platform, job_id)["marker"]
        assert (st.status, st.lease_owner, st.lease_token, st.attempt) == ("running", "w2", second.lease_token, 2)
        assert artifacts_of(platform, video_id) == []
        assert job_and_video(platform, job_id)[0].status == "running"

        assert runner.execute(platform, second) == "succeeded"
        rows = [(a.id, a.blob_key, a.size_bytes) for a in artifacts_of(platform, video_id)]
        assert len(rows) == 1
        assert runner.execute(platform, first) == "lost"  # still stale after the owner finished
        assert [(a.id, a.blob_key, a.size_bytes) for a in artifacts_of(platform, video_id)] == rows
        assert_effects_once(platform, video_id, job_id)


def test_stale_failure_neither_reschedules_nor_fails_the_stage(platform):
    stage = QuickStage("flaky", fail=lambda attempt: RuntimeError("boom") if attempt == 1 else None)
    with registered(stage, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        first = scheduler.claim_next(platform, "w1")
        expire_lease(platform, first.stage_id)
        second = scheduler.claim_next(platform, "w2")
        assert runner.execute(platform, first) == "lost"  # its failure is not the stage's any more
        st = stages_of(platform, job_id)["flaky"]
        assert (st.status, st.lease_owner, st.error_code, st.not_before) == ("running", "w2", None, None)
        assert runner.execute(platform, second) == "succeeded"
        assert_effects_once(platform, video_id, job_id)


def test_cancelled_job_stops_the_running_stage(platform):
    platform.settings.lease_s = 0.6  # heartbeat every 0.2 s
    stage = QuickStage("long", sleep_s=30)
    with registered(stage, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        claim = scheduler.claim_next(platform, "w1")
        result: dict = {}
        thread = threading.Thread(target=lambda: result.update(outcome=runner.execute(platform, claim)))
        started = time.monotonic()
        thread.start()
        wait_for(lambda: stage.runs, 10, "the stage to start")
        with platform.db.tenant(tenant_id) as s:
            jobs.cancel_job(s, s.get(Job, job_id))
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert result["outcome"] == "lost" and time.monotonic() - started < 10
        assert stages_of(platform, job_id)["long"].status == "cancelled"
        job, video = job_and_video(platform, job_id)
        assert job.status == "cancelled" and video.error_code == "job.cancelled"
        assert artifacts_of(platform, video_id) == []
        assert scheduler.claim_next(platform, "w2") is None


def test_every_stage_delivered_twice_has_its_effects_once(platform, tmp_path):
    tenant_id = make_tenant(platform)
    video_id, job_id = ingest_clip(platform, tenant_id, make_video(tmp_path / "twice.mp4", seconds=1))
    delivered = []
    while (claim := scheduler.claim_next(platform, "w1")) is not None:
        assert runner.execute(platform, claim) in ("succeeded", "skipped")
        before = [(a.id, a.blob_key, a.size_bytes, blob_digest(platform, a.blob_key))
                  for a in artifacts_of(platform, video_id)]
        row = stages_of(platform, job_id)[claim.name]
        assert runner.execute(platform, claim) == "lost"  # the redelivered message
        after = [(a.id, a.blob_key, a.size_bytes, blob_digest(platform, a.blob_key))
                 for a in artifacts_of(platform, video_id)]
        assert after == before, claim.name
        again = stages_of(platform, job_id)[claim.name]
        assert (again.status, again.attempt, again.lease_token, again.finished_at) == (
            row.status, row.attempt, row.lease_token, row.finished_at)
        delivered.append(claim.name)
    assert sorted(delivered) == ["extract_audio", "probe", "thumbnail"]
    arts = assert_effects_once(platform, video_id, job_id)
    assert {a.name for a in arts} == {"probe.json", "audio.wav", "poster.jpg", "thumb.jpg"}


# ---------------------------------------------------------------- concurrency


def test_concurrent_workers_run_each_stage_exactly_once(platform, monkeypatch):
    root, left, right = (QuickStage("root", sleep_s=0.005), QuickStage("left", ("root",), sleep_s=0.005),
                         QuickStage("right", ("root",), sleep_s=0.005))
    claims: list = []
    outcomes: list = []
    errors: list = []
    lock = threading.Lock()
    real_claim = scheduler.claim_next

    def recording_claim(platform_, worker_id, *args, **kwargs):
        c = real_claim(platform_, worker_id, *args, **kwargs)
        if c is not None:
            with lock:
                claims.append((c.stage_id, worker_id))
        return c

    monkeypatch.setattr(scheduler, "claim_next", recording_claim)
    with registered(root, left, right, only=True):
        tenant_ids = [make_tenant(platform, "enterprise", f"C{i}") for i in range(3)]
        job_ids = [queue_job(platform, tenant_ids[i % 3])[1] for i in range(12)]

        def unfinished() -> int:
            with platform.db.system(reason=SystemReason.OPERATOR) as s:
                return s.scalar(select(func.count()).select_from(Job).where(Job.status.notin_(TERMINAL_JOB)))

        start = threading.Barrier(4)
        deadline = time.monotonic() + 40

        def loop(i: int) -> None:
            worker = Worker(platform, name=f"w{i}")
            try:
                start.wait()
                while time.monotonic() < deadline:
                    outcome = worker.run_once()
                    if outcome is not None:
                        with lock:
                            outcomes.append(outcome)
                    elif unfinished() == 0:
                        return
                    else:
                        time.sleep(0.005)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=loop, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    assert errors == []
    per_stage = Counter(stage_id for stage_id, _ in claims)
    assert len(per_stage) == 36 and set(per_stage.values()) == {1}
    assert outcomes == ["succeeded"] * 36
    assert len({w for _, w in claims}) >= 2  # the workers really raced
    for st in (root, left, right):
        assert sorted(j for j, _ in st.runs) == sorted(job_ids) and {a for _, a in st.runs} == {1}
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        assert set(s.scalars(select(Job.status).where(Job.id.in_(job_ids)))) == {"succeeded"}
        assert set(s.scalars(select(JobStage.status))) == {"succeeded"}
        assert s.scalar(select(func.count()).select_from(UsageRecord)) == 12


def test_parallel_stages_finishing_together_both_count(platform, monkeypatch):
    """Two stages of one job commit at once: the second must see the first, or the job never finishes."""
    root, left, right = QuickStage("root"), QuickStage("left", ("root",)), QuickStage("right", ("root",))
    final = QuickStage("final", ("left", "right"))
    in_window = threading.Event()
    real_advance = runner.advance_job

    def slow_advance(s, job_id):
        real_advance(s, job_id)
        if not in_window.is_set():  # hold the first commit open while the other stage finishes
            in_window.set()
            time.sleep(0.7)

    with registered(root, left, right, final, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        assert Worker(platform, name="w0").run_once() == "succeeded"
        first, second = scheduler.claim_next(platform, "w1"), scheduler.claim_next(platform, "w2")
        assert {first.name, second.name} == {"left", "right"}
        monkeypatch.setattr(runner, "advance_job", slow_advance)
        outcomes: dict = {}
        t1 = threading.Thread(target=lambda: outcomes.update(first=runner.execute(platform, first)))
        t1.start()
        assert in_window.wait(10)
        t2 = threading.Thread(target=lambda: outcomes.update(second=runner.execute(platform, second)))
        t2.start()
        t1.join(15)
        t2.join(15)
        assert outcomes == {"first": "succeeded", "second": "succeeded"}
        assert stages_of(platform, job_id)["final"].status == "ready"
        assert Worker(platform, name="w3").drain() == 1
        assert_effects_once(platform, video_id, job_id)


