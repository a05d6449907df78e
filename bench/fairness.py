"""Tenant fairness and throughput with several worker processes: Celery vs the embedded worker.

Three tenants submit short real videos unevenly: ``heavy`` submits 20 at once, then, a second later,
``light1`` and ``light2`` submit one each. Two ``clipdex worker`` processes (one stage slot each)
process them, first with the embedded transport (threads polling PostgreSQL), then with the Celery
transport (outbox dispatcher + Redis queues). Same database engine, same stages (probe,
extract_audio, thumbnail, scenes; model stages off), same clips.

    .venv/bin/python -m bench.fairness [--heavy 20] [--light 1] [--clip-seconds 2] [--workers 2]

Definitions, per video: ``wait`` = submission (video row created) -> its first stage starts;
``turnaround`` = submission -> job finished. Per tenant: the mean of each. ``Jain`` = Jain's index
over the per-tenant mean waits, (sum x)^2 / (n * sum x^2): 1.0 when every tenant waits alike, 1/n
when one tenant takes all the waiting. Read it with care: the heavy tenant's mean wait is mostly
its own backlog (its 20th video waits for its first 19 under any scheduler), so a FIFO queue, where
the light tenants wait behind all 20, would score *higher* on it. ``Jain(1st wait)`` (over each
tenant's first video) shows what fair sharing promises: nobody waits long for a first slot.
Throughput = videos / (last job finished - first submission).
Needs PostgreSQL (CLIPDEX_BENCH_PG_URL, default the test server) and Redis (CLIPDEX_BENCH_REDIS_URL).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import REPO_ROOT, console, print_table, warn_if_busy, write_json

PG_ADMIN = os.environ.get("CLIPDEX_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("CLIPDEX_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
OFF = "transcribe,diarize,sound_events,visual,index,summary"  # model stages: not what this measures


def make_clips(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` distinct short clips (different tones, so no upload is a duplicate)."""
    clips = []
    for i in range(n):
        path = folder / f"clip{i:02d}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency={300 + 20 * i}:sample_rate=44100:duration={seconds}",
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                        str(path)], check=True, timeout=60)
        clips.append(path)
    return clips


def jain(values: list[float]) -> float:
    total, squares = sum(values), sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares else 1.0


class Deployment:
    """A fresh PostgreSQL database (+ a Redis database for Celery) and worker processes on it."""

    def __init__(self, root: Path, mode: str) -> None:
        import redis
        from sqlalchemy import create_engine, text

        from clipdex.db import migrate

        self.root, self.mode, self.procs = root, mode, []
        self.db_name = f"clipdex_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        self.url = PG_ADMIN.rsplit("/", 1)[0] + f"/{self.db_name}"
        migrate.upgrade(self.url)
        self.redis_db = _claim_redis_db()
        self.broker = f"{REDIS_BASE}/{self.redis_db}"
        redis.Redis.from_url(self.broker).flushdb()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDEX_")}
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
        self.env.update(CLIPDEX_ENV="dev", CLIPDEX_DATA_DIR=str(root / "data"), CLIPDEX_DATABASE_URL=self.url,
                        CLIPDEX_SECRET_KEY="bench-" * 8, CLIPDEX_QUEUE=mode, CLIPDEX_BROKER_URL=self.broker,
                        CLIPDEX_DISABLED_STAGES=OFF, CLIPDEX_LOG_LEVEL="WARNING", CLIPDEX_POLL_INTERVAL_S="0.2",
                        PYTHONPATH=pythonpath)

    def platform(self):
        from clipdex.pipeline import registry
        from clipdex.platform import Platform
        from clipdex.settings import Settings

        registry.discover()
        return Platform.from_settings(Settings(env="dev", data_dir=self.root / "data", database_url=self.url,
                                               secret_key="bench-" * 8, disabled_stages=OFF.split(","),
                                               worker_threads=0))

    def start_workers(self, n: int) -> None:
        for i in range(n):
            with open(self.root / f"worker{i}.log", "wb") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "clipdex.cli", "worker", "--queues", "cpu", "--concurrency", "1"],
                    env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT))
        if self.mode == "celery":  # every worker advertises its slot once its dispatcher runs
            import redis

            r = redis.Redis.from_url(self.broker)
            deadline = time.monotonic() + 60
            while len(list(r.scan_iter(match="clipdex:slots:cpu:*"))) < n:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    raise RuntimeError(f"celery workers did not start: {self.logs()}")
                time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join((self.root / f"worker{i}.log").read_text(errors="replace")[-2000:]
                         for i in range(len(self.procs)))

    def close(self) -> None:
        import redis
        from sqlalchemy import text

        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        redis.Redis.from_url(self.broker).flushdb()
        redis.Redis.from_url(f"{REDIS_BASE}/0").delete(f"clipdex-test-db:{self.redis_db}")
        with self.admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.db_name}'"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}"'))
        self.admin.dispose()


def _claim_redis_db() -> int:
    import redis

    zero = redis.Redis.from_url(f"{REDIS_BASE}/0")
    for db in range(15, 0, -1):  # the same claim keys as the tests, so neither flushes the other's db
        if zero.set(f"clipdex-test-db:{db}", f"bench-{os.getpid()}", nx=True, ex=3600):
            return db
    raise RuntimeError("no free Redis database")


def submit(platform, tenant_id: uuid.UUID, clip: Path) -> uuid.UUID:
    """What POST /api/v1/videos does after the bytes arrive: probe, store, queue the job."""
    from clipdex.auth.principal import Principal
    from clipdex.ingest.service import IngestMeta, accept, stage_copy

    principal = Principal(tenant_id=tenant_id, actor_type="user", actor_id=uuid.uuid4(), role="owner",
                          tenant_tier="pro")
    video = accept(platform, principal, stage_copy(platform.settings, clip),
                   IngestMeta(title=clip.stem, filename=clip.name))
    return video.id


def run_mode(mode: str, clips: list[Path], heavy: int, light: int, workers: int) -> dict:
    from clipdex.tenancy import service as tenants

    root = Path(tempfile.mkdtemp(prefix=f"clipdex-bench-fair-{mode}-"))
    dep = Deployment(root, mode)
    platform = None
    try:
        platform = dep.platform()
        names = ["heavy", "light1", "light2"]
        ids = {n: tenants.create_tenant(platform, n, "pro", slug=f"{n}-{uuid.uuid4().hex[:6]}").id
               for n in names + ["warmup"]}
        dep.start_workers(workers)
        # one video per worker first, unmeasured: imports, connections and caches are warm in both modes
        _wait_done(platform, dep, [submit(platform, ids["warmup"], clip) for clip in clips[:workers]])
        owner: dict[uuid.UUID, str] = {}
        pool = iter(clips)
        for _ in range(heavy):
            owner[submit(platform, ids["heavy"], next(pool))] = "heavy"
        time.sleep(1.0)  # the heavy backlog is already being worked on when the others arrive
        for n in ("light1", "light2"):
            for _ in range(light):
                owner[submit(platform, ids[n], next(pool))] = n
        rows = _wait_done(platform, dep, list(owner))
        return _summarise(mode, rows, owner, names, workers)
    finally:
        if platform is not None:
            platform.close()
        dep.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_done(platform, dep: Deployment, video_ids: list[uuid.UUID], timeout_s: float = 900) -> list:
    from sqlalchemy import func, select

    from clipdex.models import Job, JobStage, Video

    deadline = time.monotonic() + timeout_s
    while True:
        with platform.db.system() as s:
            rows = s.execute(select(Video.id, Video.created_at, Job.status, Job.finished_at,
                                    func.min(JobStage.started_at)).join(Job, Job.video_id == Video.id).join(
                JobStage, JobStage.job_id == Job.id).where(Video.id.in_(video_ids)).group_by(
                Video.id, Video.created_at, Job.status, Job.finished_at)).all()
        if all(r[2] in ("succeeded", "failed", "cancelled") for r in rows) and len(rows) == len(video_ids):
            return rows
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs did not finish in {timeout_s}s: {dep.logs()}")
        time.sleep(0.25)


def _summarise(mode: str, rows, owner: dict, names: list[str], workers: int) -> dict:
    failed = [r for r in rows if r[2] != "succeeded"]
    first = min(r[1] for r in rows)
    last = max(r[3] for r in rows)
    per = {}
    for n in names:
        mine = [r for r in rows if owner[r[0]] == n]
        waits = [(r[4] - r[1]).total_seconds() for r in mine]
        turns = [(r[3] - r[1]).total_seconds() for r in mine]
        first_video = min(mine, key=lambda r: r[1])
        per[n] = {"videos": len(mine), "mean_wait_s": round(statistics.mean(waits), 3),
                  "max_wait_s": round(max(waits), 3), "mean_turnaround_s": round(statistics.mean(turns), 3),
                  "first_wait_s": round((first_video[4] - first_video[1]).total_seconds(), 3)}
    span = (last - first).total_seconds()
    return {"mode": mode, "workers": workers, "videos": len(rows), "failed": len(failed), "wall_s": round(span, 2),
            "videos_per_min": round(len(rows) / span * 60, 2), "tenants": per,
            "jain_mean_wait": round(jain([per[n]["mean_wait_s"] for n in names]), 3),
            "jain_mean_turnaround": round(jain([per[n]["mean_turnaround_s"] for n in names]), 3),
            "jain_first_wait": round(jain([per[n]["first_wait_s"] for n in names]), 3)}


def run(heavy: int = 20, light: int = 1, clip_seconds: float = 2.0, workers: int = 2) -> dict:
    load = warn_if_busy()
    with tempfile.TemporaryDirectory(prefix="clipdex-bench-clips-") as tmp:
        clips = make_clips(Path(tmp), heavy + 2 * light, clip_seconds)
        results = [run_mode(mode, clips, heavy, light, workers) for mode in ("embedded", "celery")]
    return {"heavy": heavy, "light": light, "clip_seconds": clip_seconds, "workers": workers,
            "loadavg_1m_at_start": load, "results": results}


def print_result(data: dict) -> None:
    rows = []
    for r in data["results"]:
        t = r["tenants"]
        rows.append([r["mode"], r["videos"], r["failed"], r["wall_s"], r["videos_per_min"],
                     t["heavy"]["mean_wait_s"], t["light1"]["mean_wait_s"], t["light2"]["mean_wait_s"],
                     t["heavy"]["mean_turnaround_s"], t["light1"]["mean_turnaround_s"],
                     t["light2"]["mean_turnaround_s"], r["jain_mean_wait"], r["jain_first_wait"]])
    print_table(f"fairness: {data['heavy']}x heavy + {data['light']}x light1/light2, "
                f"{data['workers']} worker processes",
                ["mode", "videos", "failed", "wall s", "videos/min", "wait heavy", "wait light1", "wait light2",
                 "turn heavy", "turn light1", "turn light2", "Jain(wait)", "Jain(1st wait)"], rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--heavy", type=int, default=20)
    p.add_argument("--light", type=int, default=1)
    p.add_argument("--clip-seconds", type=float, default=2.0)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    data = run(args.heavy, args.light, args.clip_seconds, args.workers)
    print_result(data)
    console.print(f"wrote {write_json('fairness', data)}")


if __name__ == "__main__":
    main()
