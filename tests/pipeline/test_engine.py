"""The job engine under stress: killed workers, stale leases, racing claimers, fairness, retries, cancel.

Invariant 2 (idempotent, resumable pipeline) is checked on its effects: a job succeeds once, each
(video, stage, name) has one artifact row, the blobs under the video match those rows, and usage is
billed once, however often a stage was claimed, killed or delivered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from clipdex.auth.principal import Principal
from clipdex.db.types import utcnow
from clipdex.errors import MediaRejected
from clipdex.ingest.service import IngestMeta, StagedFile, accept, hash_file
from clipdex.jobs import runner, scheduler
from clipdex.jobs import service as jobs
from clipdex.jobs.worker import Worker
from clipdex.models import Artifact, Job, JobStage, Tenant, UsageRecord, Video
from clipdex.pipeline import registry
from clipdex.pipeline.stage import LeaseLost
from clipdex.storage import keys
from clipdex.tenancy import service as tenants
from tests.conftest import drain, new_tenant, upload
from tests.media import make_video
from tests.pipeline import slow_stage

REPO = Path(__file__).resolve().parents[2]
TERMINAL_JOB = ("succeeded", "failed", "cancelled")


# ---------------------------------------------------------------- helpers


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
    staged = platform.settings.staging_dir / f"test-{uuid.uuid4().hex}"
    shutil.copyfile(clip, staged)
    principal = Principal(tenant_id=tenant_id, actor_type="user", actor_id=uuid.uuid4(), role="owner",
                          tenant_tier="pro")
    video = accept(platform, principal, StagedFile(staged, staged.stat().st_size, hash_file(staged)),
                   IngestMeta(title="clip", filename=clip.name))
    with platform.db.system() as s:
        return video.id, s.scalar(select(Job.id).where(Job.video_id == video.id))


def stages_of(platform, job_id) -> dict[str, JobStage]:
    with platform.db.system() as s:
        return {st.name: st for st in s.scalars(select(JobStage).where(JobStage.job_id == job_id))}


def job_and_video(platform, job_id) -> tuple[Job, Video]:
    with platform.db.system() as s:
        job = s.get(Job, job_id)
        return job, s.get(Video, job.video_id)


def artifacts_of(platform, video_id) -> list[Artifact]:
    with platform.db.system() as s:
        return list(s.scalars(select(Artifact).where(Artifact.video_id == video_id).order_by(Artifact.stage,
                                                                                           Artifact.name)))


def expire_lease(platform, stage_id) -> None:
    """What a dead worker leaves behind: a running stage whose lease ran out."""
    with platform.db.system() as s:
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
    with platform.db.system() as s:
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
            with platform.db.system() as s:
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
    with platform.db.system() as s:
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


# ---------------------------------------------------------------- fairness, tiers, caps


def two_step_stages():
    return QuickStage("first", artifact=False), QuickStage("second", ("first",), artifact=False)


def claim_and_run(platform, tenant_of: dict) -> uuid.UUID | None:
    """Claim the next stage, run it to completion, and return the tenant it belonged to."""
    claim = scheduler.claim_next(platform, "w")
    if claim is None:
        return None
    assert runner.execute(platform, claim) == "succeeded"
    return tenant_of.get(claim.tenant_id, claim.tenant_id)


def test_newcomer_is_served_within_one_slot_of_a_backlog(platform):
    with registered(*two_step_stages(), only=True):
        a, b = make_tenant(platform, "pro", "A"), make_tenant(platform, "pro", "B")
        names = {a: "A", b: "B"}
        for _ in range(20):
            queue_job(platform, a)
        assert [claim_and_run(platform, names) for _ in range(5)] == ["A"] * 5
        queue_job(platform, b)
        order = [claim_and_run(platform, names) for _ in range(8)]  # A still has 27 stages after these
    assert order.count("B") == 2
    assert "B" in order[:2]  # not after A's backlog of 35 stages
    assert max(i for i, w in enumerate(order) if w == "B") <= 3  # B's whole job done within 4 slots
    assert all(order[i] != order[i + 1] for i in range(3))  # and interleaved with A, not back to back


def test_claims_round_robin_across_tenants_with_work(platform):
    with registered(*two_step_stages(), only=True):
        ids = [make_tenant(platform, "pro", n) for n in "XYZ"]
        names = dict(zip(ids, "XYZ"))
        for _ in range(3):
            for t in ids:
                queue_job(platform, t)
        order = []
        while (who := claim_and_run(platform, names)) is not None:
            order.append(who)
    assert len(order) == 18
    assert all(len(set(order[i:i + 3])) == 3 for i in range(0, 16)), "".join(order)


def test_fewer_running_stages_go_first_even_if_served_recently(platform):
    with registered(*two_step_stages(), only=True):
        a, b = make_tenant(platform, "pro", "A"), make_tenant(platform, "pro", "B")
        for _ in range(3):
            queue_job(platform, a)
            queue_job(platform, b)
        with platform.db.system() as s:
            s.execute(update(Tenant).where(Tenant.id == a).values(last_scheduled_at=utcnow() - timedelta(hours=1)))
            s.execute(update(Tenant).where(Tenant.id == b).values(last_scheduled_at=utcnow()))
        held = [scheduler.claim_next(platform, "w"), scheduler.claim_next(platform, "w")]
        assert [c.tenant_id for c in held] == [a, b]  # A: served longest ago; then B: fewer running
        third = scheduler.claim_next(platform, "w")
        # both now run one stage: A is next again only because B has been served more recently
        assert third.tenant_id == a
        fourth = scheduler.claim_next(platform, "w")
        assert fourth.tenant_id == b  # A runs two, B one


def test_enterprise_first_when_backlog_and_running_are_equal(platform):
    with registered(*two_step_stages(), only=True):
        pro, ent = make_tenant(platform, "pro", "P"), make_tenant(platform, "enterprise", "E")
        for _ in range(3):
            queue_job(platform, pro)
            queue_job(platform, ent)
        with platform.db.system() as s:  # the enterprise tenant was served more recently: rank still wins
            s.execute(update(Tenant).where(Tenant.id == pro).values(last_scheduled_at=utcnow() - timedelta(hours=1)))
            s.execute(update(Tenant).where(Tenant.id == ent).values(last_scheduled_at=utcnow()))
        assert scheduler.claim_next(platform, "w").tenant_id == ent


def test_free_tier_runs_one_stage_at_a_time(platform):
    assert platform.settings.tier("free").concurrent_stages == 1
    with registered(*two_step_stages(), only=True):
        free = make_tenant(platform, "free", "F")
        for _ in range(3):
            queue_job(platform, free)
        held = scheduler.claim_next(platform, "w")
        assert held.tenant_id == free
        assert scheduler.claim_next(platform, "w") is None  # at its cap, with two more ready stages

        with platform.db.system() as s:  # two outstanding, as a race between two claimers can leave it
            extra = s.scalars(select(JobStage.id).where(JobStage.tenant_id == free, JobStage.status == "ready")).first()
            s.execute(update(JobStage).where(JobStage.id == extra).values(
                status="running", lease_owner="other", lease_token=JobStage.lease_token + 1,
                lease_expires_at=utcnow() + timedelta(seconds=60)))
        assert scheduler.claim_next(platform, "w") is None

        other = make_tenant(platform, "pro", "P")
        queue_job(platform, other)
        assert scheduler.claim_next(platform, "w").tenant_id == other  # skipped, not blocking others
        assert scheduler.claim_next(platform, "w") is None
        with platform.db.system() as s:  # the extra one finishes (its worker gives it back)
            s.execute(update(JobStage).where(JobStage.id == extra).values(status="ready", lease_owner=None))

        assert runner.execute(platform, held) == "succeeded"
        assert scheduler.claim_next(platform, "w").tenant_id == free  # a slot is free again
        with platform.db.system() as s:
            running = s.scalar(select(func.count()).select_from(JobStage).where(
                JobStage.tenant_id == free, JobStage.status == "running"))
        assert running == 1


# ---------------------------------------------------------------- retries and failures


def test_transient_failure_is_retried_after_backoff(platform):
    platform.settings.retry_base_s = 1.0
    flaky = QuickStage("flaky", fail=lambda attempt: RuntimeError("timeout talking to model") if attempt == 1
                       else None)
    with registered(flaky, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        worker = Worker(platform, name="w")
        before = utcnow()
        assert worker.run_once() == "retry"
        after = utcnow()
        st = stages_of(platform, job_id)["flaky"]
        assert (st.status, st.attempt, st.error_code, st.lease_owner) == ("ready", 1, "job.stage_error", None)
        assert before + timedelta(seconds=1.0) <= st.not_before <= after + timedelta(seconds=1.0)
        assert scheduler.claim_next(platform, "w") is None  # backing off
        time.sleep(max(0.0, (st.not_before - utcnow()).total_seconds()) + 0.05)
        assert worker.run_once() == "succeeded"
        st = stages_of(platform, job_id)["flaky"]
        assert (st.status, st.attempt, st.error_code, st.error_message) == ("succeeded", 2, None, None)
        assert [a for _, a in flaky.runs] == [1, 2]
        assert_effects_once(platform, video_id, job_id)


def test_persistent_failure_fails_after_max_attempts_with_backoff_doubling(platform):
    platform.settings.retry_base_s = 0.2
    broken = QuickStage("broken", fail=lambda attempt: RuntimeError("/secret/path/model.bin is corrupt"))
    after = QuickStage("after", ("broken",))
    with registered(broken, after, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        worker = Worker(platform, name="w")
        outcomes, backoffs = [], []
        deadline = time.monotonic() + 20
        while job_and_video(platform, job_id)[0].status not in TERMINAL_JOB and time.monotonic() < deadline:
            before = utcnow()
            outcome = worker.run_once()
            if outcome is None:
                time.sleep(0.02)
                continue
            outcomes.append(outcome)
            if outcome == "retry":  # the retry was scheduled at some moment between before and after
                not_before = stages_of(platform, job_id)["broken"].not_before
                backoffs.append(((not_before - utcnow()).total_seconds(), (not_before - before).total_seconds()))
        assert outcomes == ["retry", "retry", "failed"]
        for (low, high), expected in zip(backoffs, (0.2, 0.4)):  # the base, then twice the base
            assert low <= expected <= high, backoffs
        st = stages_of(platform, job_id)
        assert (st["broken"].status, st["broken"].attempt) == ("failed", platform.settings.max_attempts)
        assert st["after"].status == "cancelled" and after.runs == []
        job, video = job_and_video(platform, job_id)
        assert (job.status, job.error_code) == ("failed", "job.stage_error")
        assert (video.status, video.error_code) == ("failed", "job.stage_error")
        assert video.error_message == "Stage broken failed (RuntimeError)."
        assert "/secret" not in job.error_message and "Traceback" not in job.error_message
        assert scheduler.claim_next(platform, "w") is None


def test_rejected_media_fails_fast_with_its_code(platform):
    rejecting = QuickStage("rejecting", fail=lambda attempt: MediaRejected(
        "The file has no decodable stream.", code="media.no_streams"))
    after = QuickStage("after", ("rejecting",))
    with registered(rejecting, after, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        assert Worker(platform, name="w").run_once() == "failed"
        st = stages_of(platform, job_id)
        assert (st["rejecting"].status, st["rejecting"].attempt, st["rejecting"].error_code) == (
            "failed", 1, "media.no_streams")
        assert st["after"].status == "cancelled"
        job, video = job_and_video(platform, job_id)
        assert (job.status, job.error_code) == ("failed", "media.no_streams")
        assert (video.status, video.error_code, video.error_message) == (
            "failed", "media.no_streams", "The file has no decodable stream.")
        assert len(rejecting.runs) == 1 and scheduler.claim_next(platform, "w") is None


def test_stage_abandoned_on_every_attempt_fails_instead_of_looping(platform):
    poison = QuickStage("poison")
    with registered(poison, only=True):
        doomed = make_tenant(platform, "enterprise", "D")  # ranked first, so its stage is looked at first
        video_id, job_id = queue_job(platform, doomed)
        for attempt in range(1, platform.settings.max_attempts + 1):
            claim = scheduler.claim_next(platform, f"dead-{attempt}")
            assert (claim.job_id, claim.attempt) == (job_id, attempt)
            expire_lease(platform, claim.stage_id)  # its worker died
        healthy = make_tenant(platform, "pro", "H")
        _, other_job = queue_job(platform, healthy)

        # failing the poison stage does not stop the worker from finding the other tenant's work
        assert Worker(platform, name="w").drain() == 1
        st = stages_of(platform, job_id)["poison"]
        assert (st.status, st.attempt, st.error_code, st.lease_owner) == (
            "failed", platform.settings.max_attempts, "job.worker_lost", None)
        job, video = job_and_video(platform, job_id)
        assert (job.status, job.error_code, video.status, video.error_code) == (
            "failed", "job.worker_lost", "failed", "job.worker_lost")
        assert job_and_video(platform, other_job)[0].status == "succeeded"
        assert poison.runs == [(other_job, 1)]  # the poison stage itself never ran to an end here
        assert scheduler.claim_next(platform, "w") is None


# ---------------------------------------------------------------- cancel and retry through the API


def test_cancel_and_retry_endpoints(client, platform, tmp_path):
    ctx = new_tenant(platform, client, "Cancel")
    video_id = upload(client, ctx, make_video(tmp_path / "c.mp4", seconds=1)).json()["id"]
    job_id = client.get(f"/api/v1/jobs?video_id={video_id}", headers=ctx.headers).json()["items"][0]["id"]

    r = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=ctx.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and {s["status"] for s in r.json()["stages"]} == {"cancelled"}
    video = client.get(f"/api/v1/videos/{video_id}", headers=ctx.headers).json()
    assert (video["status"], video["error_code"]) == ("failed", "job.cancelled")
    assert scheduler.claim_next(platform, "w") is None and drain(platform) == 0

    r = client.post(f"/api/v1/jobs/{job_id}/retry", headers=ctx.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued"
    assert drain(platform) == 3
    video = client.get(f"/api/v1/videos/{video_id}", headers=ctx.headers).json()
    assert (video["status"], video["error_code"], video["job"]["status"]) == ("ready", None, "succeeded")
    assert [s["attempt"] for s in video["job"]["stages"]] == [1, 1, 1]

    r = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=ctx.headers)
    assert r.status_code == 409 and r.json()["code"] == "job.not_cancellable"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(f"/api/v1/jobs/{job_id}/retry", headers=ctx.headers)
    assert r.status_code == 409 and r.json()["code"] == "job.not_retryable"
    assert_effects_once(platform, uuid.UUID(video_id), uuid.UUID(job_id))
