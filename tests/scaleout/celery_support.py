"""What the Celery tests share: cheap test stages, a Redis database per run, real worker processes.

The stages are registered in worker processes through the real extension point
(``CLIPDEX_EXTRA_STAGES=tests.scaleout.celery_support:FIRST,...``). Each writes one artifact with
deterministic bytes (``{video_id}:{stage}:{version}``) under its deterministic key, so a re-run
overwrites rather than duplicates; the middle one takes ``CLIPDEX_TEST_SC_SECONDS`` (env of the
worker process) and checks its lease and reports progress every step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from clipdex.tenancy.system import SystemReason
from tests.pipeline.engine_support import wait_for

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REDIS_BASE = os.environ.get("CLIPDEX_TEST_REDIS_URL", "redis://127.0.0.1:6379")
SECONDS_ENV = "CLIPDEX_TEST_SC_SECONDS"
STAGE_SPECS = ",".join(f"tests.scaleout.celery_support:{n}" for n in ("FIRST", "SECOND", "THIRD"))


class MarkerStage:
    version, queue = "1", "cpu"
    produces = ("marker.txt",)

    def __init__(self, name: str, requires: tuple[str, ...] = (), slow: bool = False) -> None:
        self.name, self.requires, self.slow = name, requires, slow

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        seconds = float(os.environ.get(SECONDS_ENV, "0.3")) if self.slow else 0.0
        steps = max(1, round(seconds / 0.05))
        for i in range(steps):
            ctx.check_alive()
            time.sleep(seconds / steps)
            ctx.progress((i + 1) / steps)
        with ctx.scratch_dir() as tmp:
            path = Path(tmp) / "marker.txt"
            path.write_text(expected_marker(ctx.video.id, self.name))
            ctx.write_artifact("marker.txt", path, "text/plain")
        ctx.check_alive()
        return {"stage": self.name}


def expected_marker(video_id, stage: str) -> str:
    return f"{video_id}:{stage}:1"


FIRST = MarkerStage("sc_first")
SECOND = MarkerStage("sc_second", ("sc_first",), slow=True)
THIRD = MarkerStage("sc_third", ("sc_second",))
STAGES = (FIRST, SECOND, THIRD)


def redis_or_skip(db: int):
    """A client on a Redis database of our own; fails under CI when Redis is missing, else skips."""
    import redis

    client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
    try:
        client.ping()
    except Exception as e:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_BASE} is required under CI and is not reachable: {e}")
        pytest.skip(f"Redis not reachable: {e}")
    return client


def free_redis_db(prefix: str = "clipdex-test-db") -> int:
    """A database number (1..15) no other running test session holds, claimed with a key in db 0."""
    import redis

    zero = redis.Redis.from_url(f"{REDIS_BASE}/0")
    start = os.getpid() % 15
    for i in range(15):
        db = 1 + (start + i) % 15
        if zero.set(f"{prefix}:{db}", os.getpid(), nx=True, ex=3600):
            return db
    pytest.fail("no free Redis database for this test run")


def release_redis_db(db: int, prefix: str = "clipdex-test-db") -> None:
    import redis

    redis.Redis.from_url(f"{REDIS_BASE}/0").delete(f"{prefix}:{db}")


class Fleet:
    """``clipdex worker`` processes on the Celery transport; every one still alive is killed at the end."""

    def __init__(self, settings, broker_url: str, log_dir: Path, **env) -> None:
        self.settings, self.broker_url, self.log_dir, self.env = settings, broker_url, log_dir, env
        self.procs: list[subprocess.Popen] = []

    def start(self, concurrency: int = 1, queues: str = "cpu", **env) -> subprocess.Popen:
        s = self.settings
        child = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDEX_")}
        child.update(
            CLIPDEX_ENV="test", CLIPDEX_DATA_DIR=str(s.data_dir), CLIPDEX_DATABASE_URL=s.resolved_database_url,
            CLIPDEX_STORAGE_URL=s.resolved_storage_url, CLIPDEX_SECRET_KEY=s.secret_key,
            CLIPDEX_QUEUE="celery", CLIPDEX_BROKER_URL=self.broker_url, CLIPDEX_LEASE_S=str(s.lease_s),
            CLIPDEX_POLL_INTERVAL_S="0.1", CLIPDEX_RETRY_BASE_S="0.1", CLIPDEX_EXTRA_STAGES=STAGE_SPECS,
            CLIPDEX_DISABLED_STAGES=",".join(s.disabled_stages),
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH")) if p))
        for key in ("s3_endpoint_url", "s3_region", "s3_access_key_id", "s3_secret_access_key", "index_uri"):
            if getattr(s, key, None):
                child[f"CLIPDEX_{key.upper()}"] = str(getattr(s, key))
        child.update(self.env)
        child.update(env)
        log = self.log_dir / f"worker{len(self.procs) + 1}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "clipdex.cli", "worker", "--queues", queues,
                                     "--concurrency", str(concurrency)], env=child, cwd=REPO, stdout=out,
                                    stderr=subprocess.STDOUT)
        proc.log = log
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name} (pid {p.pid}, rc {p.poll()})\n{p.log.read_text(errors='replace')[-5000:]}"
                         for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(timeout=10)


def wait_until(predicate, timeout: float, what: str, fleet: Fleet | None = None) -> None:
    """``wait_for`` that shows the workers' logs when it times out."""
    wait_for(predicate, timeout, what, on_fail=fleet.logs if fleet else lambda: "")


def job_status(platform, job_id) -> str:
    from clipdex.models import Job

    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return s.scalar(select(Job.status).where(Job.id == job_id))


def snapshot(platform, job_id) -> dict:
    """Everything a job's processing wrote, as comparable values (the effects a replay must not change)."""
    from clipdex.models import Artifact, Job, JobStage, UsageRecord, Video

    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        job = s.get(Job, job_id)
        video = s.get(Video, job.video_id)
        stages = s.scalars(select(JobStage).where(JobStage.job_id == job_id).order_by(JobStage.position)).all()
        arts = s.scalars(select(Artifact).where(Artifact.video_id == video.id).order_by(Artifact.stage)).all()
        usage = s.scalars(select(UsageRecord).where(UsageRecord.tenant_id == job.tenant_id)).all()
        return {
            "job": (job.status, job.finished_at),
            "video": (video.status, video.error_code),
            "stages": [(st.name, st.status, st.attempt, st.lease_token, st.finished_at, st.output) for st in stages],
            "artifacts": [(a.id, a.stage, a.name, a.blob_key, a.size_bytes) for a in arts],
            "usage": sorted((u.source_key, u.quantity) for u in usage),
            "blobs": sorted(platform.blobs.list_prefix(f"tenants/{job.tenant_id}/videos/{video.id}/")),
        }


@pytest.fixture(scope="session")
def broker_url():
    """A Redis database of this test session's own, flushed before and after."""
    db = None
    try:
        client = redis_or_skip(0)
        db = free_redis_db()
        client = redis_or_skip(db)
        client.flushdb()
        yield f"{REDIS_BASE}/{db}"
        client.flushdb()
    finally:
        if db is not None:
            release_redis_db(db)


@pytest.fixture
def celery_platform(pg_database, broker_url, tmp_path, request):
    """A PostgreSQL platform (fresh rows, flushed broker) and a fleet of Celery worker processes.

    Storage is the local folder unless the test asks for S3 with ``@pytest.mark.parametrize("storage", ["s3"])``.
    """
    import redis

    from clipdex.platform import Platform
    from tests.conftest import make_settings, truncate_all

    truncate_all(pg_database)
    redis.Redis.from_url(broker_url).flushdb()
    overrides = {}
    if getattr(request, "param", None) == "s3":
        overrides = request.getfixturevalue("s3_overrides")
    settings = make_settings(tmp_path, database_url=pg_database, lease_s=2.0, broker_url=broker_url, **overrides)
    platform = Platform.from_settings(settings)
    fleet = Fleet(settings, broker_url, tmp_path)
    yield platform, fleet
    fleet.stop()
    platform.close()


def unacked(broker_url: str) -> int:
    """Messages delivered to a consumer and not acknowledged (kombu's Redis ``unacked`` hash)."""
    import redis

    return redis.Redis.from_url(broker_url).hlen("unacked")


def restore_unacked(settings) -> None:
    """What the broker does once the visibility timeout has passed: put unacknowledged messages back."""
    from clipdex.jobs import celery_app

    app = celery_app.make_app(settings.model_copy(update={"broker_visibility_timeout_s": 0}))
    with app.connection_for_write() as conn:
        conn.default_channel.qos.restore_visible(num=1000)
