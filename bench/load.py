"""Load with workers killed: PostgreSQL, Redis/Celery, two API processes, worker SIGKILLs every 30 s.

A scratch PostgreSQL database (dropped after), a Redis database of its own (claimed like the tests
claim theirs), one blob folder and one index folder shared by every process, two ``clipdex serve
--workers 0`` processes on two ports and ``--worker-procs`` ``clipdex worker`` processes
(``CLIPDEX_QUEUE=celery``). Two tenants; ``--clients`` httpx clients (half per tenant, requests
round-robin over the two ports) loop for ``--seconds``: upload a small spoken clip (espeak-ng over
a lavfi picture; every upload made unique by a trailing MP4 ``free`` box; at most one upload per
client per ``--upload-every`` seconds, so that two cores can drain the backlog), search, ask. A killer
SIGKILLs one worker process every ``--kill-every`` seconds and starts a new one. Then every job
must end (bounded wait) and the database, blob folder and index are checked: no accepted upload
lost, every job terminal, effects once per video (``bench/load_check.py``: the definition of
``tests.pipeline.engine_support.assert_effects_once``, per video, plus unique index rows).

    .venv/bin/python -m bench.load [--clients 50] [--seconds 300] [--out bench/results/load.json]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from bench.common import PASSWORD, REPO_ROOT, free_port, meta, percentile, print_table, warn_if_busy
from bench.load_check import log_counts, pending_jobs, verify

PG_ADMIN = os.environ.get("CLIPDEX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# light pipeline: probe, extract_audio, thumbnail, transcribe (tiny.en), summarize, index
DISABLED = ("diarize", "sound_events", "visual", "scenes", "compliance")
SENTENCES = (
    "The quarterly budget review moves to Thursday afternoon.",
    "Our launch in March needs the marketing announcement ready.",
    "The warehouse robots finished the inventory count early.",
    "Customer support tickets dropped after the new release.",
    "The design team presented three logo options for the festival.",
    "Security training for every engineer starts next Monday.",
)
QUESTIONS = ("When is the budget review?", "What does the launch need?", "Who finished the inventory count?",
             "What happened to support tickets?", "How many logo options were presented?",
             "When does security training start?")


@contextlib.contextmanager
def scratch_database():
    from sqlalchemy import create_engine, text

    name = f"clipdex_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextlib.contextmanager
def redis_database():
    import redis

    from tests.scaleout.celery_support import REDIS_BASE, free_redis_db, release_redis_db

    db = free_redis_db()
    client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
    client.flushdb()
    try:
        yield f"{REDIS_BASE}/{db}"
    finally:
        client.flushdb()
        release_redis_db(db)


class Stack:
    """The processes: migrate, two tenants, two API servers, worker processes (restartable)."""

    def __init__(self, root: Path, db_url: str, broker: str, lease_s: float) -> None:
        self.root, self.db_url, self.broker = root, db_url, broker
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDEX_")}
        self.env.update(
            CLIPDEX_ENV="dev", CLIPDEX_DATABASE_URL=db_url, CLIPDEX_STORAGE_URL=f"file://{root / 'blobs'}",
            CLIPDEX_INDEX_URI=str(root / "index"), CLIPDEX_SECRET_KEY=secrets.token_urlsafe(48),
            CLIPDEX_QUEUE="celery", CLIPDEX_BROKER_URL=broker, CLIPDEX_LEASE_S=str(lease_s),
            CLIPDEX_DISABLED_STAGES=",".join(DISABLED), CLIPDEX_WORKER_THREADS="0", CLIPDEX_ASR_THREADS="1",
            CLIPDEX_LOG_LEVEL="INFO", CLIPDEX_DATA_DIR=str(root / "cli"),
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), str(REPO_ROOT / "src"),
                                                   os.environ.get("PYTHONPATH")) if p))
        self.apis: list[tuple[int, subprocess.Popen]] = []
        self.workers: list[subprocess.Popen] = []
        self.n_started = 0

    def cli(self, *args: str) -> str:
        res = subprocess.run([sys.executable, "-m", "clipdex.cli", *args], env=self.env, cwd=self.root,
                             capture_output=True, text=True, timeout=180)
        if res.returncode != 0:
            raise RuntimeError(f"clipdex {args[0]} failed: {res.stdout[-1500:]} {res.stderr[-1500:]}")
        return res.stdout

    def _spawn(self, name: str, args: list[str], **env) -> subprocess.Popen:
        child = {**self.env, "CLIPDEX_DATA_DIR": str(self.root / name), **env}
        log = open(self.root / f"{name}.log", "ab")  # the child keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-m", "clipdex.cli", *args], env=child, cwd=self.root,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        proc.log = self.root / f"{name}.log"
        return proc

    def start_api(self) -> int:
        port = free_port()
        proc = self._spawn(f"api{len(self.apis) + 1}", ["serve", "--host", "127.0.0.1", "--port", str(port),
                                                         "--workers", "0"],
                           CLIPDEX_PUBLIC_URL=f"http://127.0.0.1:{port}", CLIPDEX_LOG_LEVEL="WARNING")
        self.apis.append((port, proc))
        return port

    def start_worker(self, concurrency: int) -> subprocess.Popen:
        self.n_started += 1
        proc = self._spawn(f"worker{self.n_started}", ["worker", "--queues", "cpu", "--concurrency",
                                                        str(concurrency)])
        self.workers.append(proc)
        return proc

    def wait_healthy(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        for port, proc in self.apis:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"API on {port} exited: {proc.log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"API on {port} not healthy: {proc.log.read_text()[-2000:]}")
                time.sleep(0.3)

    def stop(self) -> None:
        for proc in [p for _, p in self.apis] + self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [p for _, p in self.apis] + self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def make_clips(folder: Path, seconds: float) -> list[bytes]:
    """One MP4 per sentence: espeak-ng speech over a small testsrc2 picture, at least ``seconds`` long."""
    clips = []
    for i, sentence in enumerate(SENTENCES):
        wav, mp4 = folder / f"s{i}.wav", folder / f"s{i}.mp4"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), sentence], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
                        "-i", str(wav), "-af", f"apad=whole_dur={seconds}", "-t", str(seconds),
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                        "-movflags", "+faststart", str(mp4)], check=True, timeout=60)
        clips.append(mp4.read_bytes())
    return clips


def unique(clip: bytes) -> bytes:
    """The clip with a trailing top-level ``free`` box carrying a random id: same media, new SHA-256."""
    payload = uuid.uuid4().bytes
    return clip + struct.pack(">I4s", 8 + len(payload), b"free") + payload


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[str, object, float, float]] = []  # (kind, status, latency_s, t)
        self.accepted: dict[str, str] = {}  # video id -> tenant slug
        self.errors: list[str] = []  # the first 50, as seen by the client
        self.answered: Counter = Counter()  # searches with a moment, answers with a citation

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(text)

    def hit(self, kind: str, found: bool) -> None:
        with self.lock:
            self.answered[f"{kind}_{'found' if found else 'empty'}"] += 1

    def add(self, kind: str, status, latency: float) -> None:
        with self.lock:
            self.samples.append((kind, status, latency, time.monotonic()))


def client_loop(idx: int, ports: list[int], tenant: dict, clips: list[bytes], rec: Recorder, stop_at: float,
                upload_every_s: float) -> None:
    rng = random.Random(idx)
    rr = itertools.cycle(ports[idx % len(ports):] + ports[:idx % len(ports)])
    last_upload = -1e9
    with httpx.Client(timeout=httpx.Timeout(120.0)) as http:
        token = None
        while token is None and time.monotonic() < stop_at:
            try:
                r = http.post(f"http://127.0.0.1:{next(rr)}/api/v1/auth/login", json={
                    "email": tenant["email"], "password": PASSWORD, "tenant": tenant["slug"]})
                rec.add("login", r.status_code, r.elapsed.total_seconds())
                token = r.json()["access_token"] if r.status_code == 200 else None
            except httpx.HTTPError as e:
                rec.add("login", f"exc:{type(e).__name__}", 0.0)
            if token is None:
                time.sleep(1)
        headers = {"Authorization": f"Bearer {token}"}

        def call(kind, method, path, **kw):
            t0 = time.perf_counter()
            try:
                r = http.request(method, f"http://127.0.0.1:{next(rr)}{path}", headers=headers, **kw)
            except httpx.HTTPError as e:
                rec.add(kind, f"exc:{type(e).__name__}", time.perf_counter() - t0)
                rec.error(f"{kind} {method} {type(e).__name__}: {e}")
                return None
            rec.add(kind, r.status_code, time.perf_counter() - t0)
            if r.status_code >= 400:
                rec.error(f"{kind} {r.status_code}: {r.text[:200]}")
            return r

        while time.monotonic() < stop_at:
            k = rng.randrange(len(SENTENCES))
            if time.monotonic() - last_upload >= upload_every_s:
                last_upload = time.monotonic()
                r = call("upload", "POST", "/api/v1/videos", data={"title": f"load {idx} {k}"},
                         files={"file": (f"clip{k}.mp4", unique(clips[k]), "video/mp4")})
                if r is not None and r.status_code == 201:
                    with rec.lock:
                        rec.accepted[r.json()["id"]] = tenant["slug"]
            if time.monotonic() >= stop_at:
                break
            word = rng.choice([w.strip(".").lower() for w in SENTENCES[k].split() if len(w) > 4])
            r = call("search", "GET", "/api/v1/search", params={"q": word})
            rec.hit("search", r is not None and r.status_code == 200 and bool(r.json()["items"]))
            if time.monotonic() >= stop_at:
                break
            r = call("ask", "POST", "/api/v1/ask", json={"question": QUESTIONS[k]})
            rec.hit("ask", r is not None and r.status_code == 200 and bool(r.json()["citations"]))


class HealthPoller(threading.Thread):
    def __init__(self, ports: list[int], every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.ports, self.every_s = ports, every_s
        self.results: dict[int, list[tuple[bool, float]]] = defaultdict(list)
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as http:
            while not self.stop.is_set():
                for port in self.ports:
                    t0 = time.perf_counter()
                    try:
                        ok = http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.results[port].append((ok, time.perf_counter() - t0))
                self.stop.wait(self.every_s)


class Killer(threading.Thread):
    """SIGKILLs the oldest live worker every ``every_s`` and starts a replacement at once."""

    def __init__(self, stack: Stack, platform, every_s: float, concurrency: int) -> None:
        super().__init__(daemon=True)
        self.stack, self.platform, self.every_s, self.concurrency = stack, platform, every_s, concurrency
        self.events: list[dict] = []
        self.stop = threading.Event()

    def running_in(self, pid: int) -> list[str]:
        from sqlalchemy import select

        from clipdex.models import JobStage
        from clipdex.tenancy.system import SystemReason, system_session

        with system_session(self.platform, SystemReason.OPERATOR, readonly=True) as s:
            return list(s.scalars(select(JobStage.name).where(JobStage.status == "running",
                                                              JobStage.lease_owner.like(f"%:{pid}:%"))))

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.wait(self.every_s):
            live = [p for p in self.stack.workers if p.poll() is None]
            if not live:
                continue
            victim = live[0]
            stages = self.running_in(victim.pid)
            victim.kill()
            victim.wait(timeout=10)
            new = self.stack.start_worker(self.concurrency)
            self.events.append({"t_s": round(time.monotonic() - t0, 1), "killed_pid": victim.pid,
                                "running_stages": stages, "new_pid": new.pid})


def lat_stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"n": len(v), "p50_ms": round(percentile(v, 50) * 1000, 1), "p95_ms": round(percentile(v, 95) * 1000, 1),
            "p99_ms": round(percentile(v, 99) * 1000, 1), "max_ms": round((v[-1] if v else 0) * 1000, 1)}


def summarize(rec: Recorder, health: HealthPoller, seconds: float) -> dict:
    by_kind, statuses = defaultdict(list), defaultdict(Counter)
    for kind, status, lat, _ in rec.samples:
        statuses[kind][str(status)] += 1
        if status in (200, 201):
            by_kind[kind].append(lat)
    lat = {k: {**lat_stats(v), "per_s": round(len(v) / seconds, 2)} for k, v in by_kind.items()}
    hz = {}
    for port, res in health.results.items():
        ok = sum(1 for g, _ in res if g)
        hz[str(port)] = {"polls": len(res), "ok": ok, "availability": round(ok / len(res), 4) if res else None,
                         "worst_ms": round(max((t for _, t in res), default=0) * 1000, 1)}
    return {"latency_ok": lat, "status_counts": {k: dict(v) for k, v in statuses.items()}, "healthz": hz,
            "results_found": dict(rec.answered), "error_samples": list(rec.errors)}


def run(args) -> dict:
    load = warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="clipdex-load-"))
    try:
        with scratch_database() as db_url, redis_database() as broker:
            stack = Stack(root, db_url, broker, args.lease_s)
            try:
                return _run(args, stack, root, load)
            finally:
                stack.stop()
                if args.keep:
                    shutil.copytree(root, args.keep, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("blobs", "index"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(args, stack: Stack, root: Path, load: float) -> dict:
    from clipdex.platform import Platform
    from clipdex.settings import Settings

    stack.cli("migrate")
    tenants = []
    for name in ("alpha", "bravo"):
        slug = f"load-{name}-{uuid.uuid4().hex[:6]}"
        email = f"owner@{slug}.example.com"
        stack.cli("admin", "create-tenant", f"Load {name}", "--tier", "pro", "--owner", email,
                  "--password", PASSWORD, "--slug", slug)
        tenants.append({"slug": slug, "email": email})
    clips = make_clips(root, args.clip_seconds)
    ports = [stack.start_api(), stack.start_api()]
    for _ in range(args.worker_procs):
        stack.start_worker(args.concurrency)
    stack.wait_healthy()
    env = stack.env
    platform = Platform.from_settings(Settings(
        data_dir=root / "bench", database_url=env["CLIPDEX_DATABASE_URL"], storage_url=env["CLIPDEX_STORAGE_URL"],
        index_uri=env["CLIPDEX_INDEX_URI"], secret_key=env["CLIPDEX_SECRET_KEY"], queue="celery",
        broker_url=stack.broker, disabled_stages=list(DISABLED)))
    rec, health = Recorder(), HealthPoller(ports)
    killer = Killer(stack, platform, args.kill_every, args.concurrency)
    health.start()
    t0 = time.monotonic()
    stop_at = t0 + args.seconds
    clients = [threading.Thread(target=client_loop, daemon=True, args=(
        i, ports, tenants[i % 2], clips, rec, stop_at, args.upload_every)) for i in range(args.clients)]
    killer.start()
    for c in clients:
        c.start()
    for c in clients:
        c.join(timeout=max(1.0, stop_at + 180 - time.monotonic()))
    load_s = time.monotonic() - t0
    killer.stop.set()
    killer.join(timeout=60)
    hung = sum(c.is_alive() for c in clients)
    with rec.lock:
        accepted = dict(rec.accepted)
    t1 = time.monotonic()
    while pending_jobs(platform) and time.monotonic() - t1 < args.drain_s:
        time.sleep(2)
    drain_s = time.monotonic() - t1
    health.stop.set()
    health.join(timeout=10)
    result = {
        "config": {"clients": args.clients, "seconds": args.seconds, "kill_every_s": args.kill_every,
                   "worker_procs": args.worker_procs, "worker_concurrency": args.concurrency,
                   "lease_s": args.lease_s, "upload_every_s": args.upload_every, "clip_seconds": args.clip_seconds,
                   "disabled_stages": list(DISABLED), "api_processes": 2, "tenants": 2, "tier": "pro",
                   "database": "PostgreSQL (scratch db)", "broker": "Redis (own db)", "storage": "local folder"},
        "loadavg_1m_at_start": load, "load_phase_s": round(load_s, 1), "clients_still_running": hung,
        "drain_s": round(drain_s, 1), "pending_after_drain": pending_jobs(platform),
        **summarize(rec, health, load_s), "kills": killer.events,
        "apis_alive": [p.poll() is None for _, p in stack.apis], "log_counts": log_counts(stack.root),
        "integrity": verify(platform, accepted),
    }
    platform.close()
    return result


def print_result(data: dict) -> None:
    lat = data["latency_ok"]
    print_table(f"{data['config']['clients']} clients, {data['load_phase_s']} s, a worker SIGKILLed every "
                f"{data['config']['kill_every_s']} s ({len(data['kills'])} kills): latency of successful requests",
                ["request", "ok", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms", "all statuses"],
                [[k, v["n"], v["per_s"], v["p50_ms"], v["p95_ms"], v["p99_ms"], v["max_ms"],
                  json.dumps(data["status_counts"].get(k, {}))] for k, v in lat.items()]
                + [[k, 0, 0, "", "", "", "", json.dumps(v)] for k, v in data["status_counts"].items() if k not in lat])
    print_table("/healthz through the load phase", ["port", "polls", "ok", "availability", "worst ms"],
                [[p, h["polls"], h["ok"], h["availability"], h["worst_ms"]] for p, h in data["healthz"].items()])
    i = data["integrity"]
    rows = [["uploads accepted (201)", i["accepted_uploads"]], ["videos in the database", i["videos_in_db"]],
            ["accepted uploads missing from the database", len(i["lost_uploads"])],
            ["jobs by status", json.dumps(i["jobs_by_status"])],
            ["failed jobs by code", json.dumps(i["failed_by_code"])],
            ["jobs not finished after drain", data["pending_after_drain"]], ["drain s", data["drain_s"]],
            ["stages retried (attempt > 1)", json.dumps(i["stage_retries"])],
            ["effect problems (dup rows, orphans, missing blobs, billing)", i["effect_problem_count"]],
            ["orphan blobs by kind", json.dumps(i["orphan_blobs"])],
            ["index rows / duplicated / videos with wrong count", f"{i['index_rows']} / {i['index_duplicate_rows']} / "
                                                                  f"{len(i['index_rows_mismatch_videos'])}"],
            ["kills that hit a running stage", sum(1 for k in data["kills"] if k["running_stages"])],
            ["searches with a moment / answers with a citation / empty",
             "{search_found} / {ask_found} / {search_empty}, {ask_empty}".format_map(
                 defaultdict(int, data["results_found"]))],
            ["API processes alive at the end", f"{sum(data['apis_alive'])} of {len(data['apis_alive'])}"],
            ["log counts", json.dumps(data["log_counts"])]]
    print_table("Integrity after the run", ["check", "value"], rows)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--kill-every", type=float, default=30.0, help="seconds between worker SIGKILLs")
    p.add_argument("--worker-procs", type=int, default=2, help="clipdex worker processes (Celery)")
    p.add_argument("--concurrency", type=int, default=1, help="stages at once per worker process")
    p.add_argument("--lease-s", type=float, default=15.0, help="CLIPDEX_LEASE_S of every process")
    p.add_argument("--upload-every", type=float, default=90.0, help="a client uploads at most once per this many s")
    p.add_argument("--clip-seconds", type=float, default=4.0)
    p.add_argument("--drain-s", type=float, default=600.0, help="longest wait for the jobs after the load phase")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "load.json")
    p.add_argument("--keep", type=Path, help="copy the process logs here")
    args = p.parse_args(argv)
    data = {"bench": "load", "meta": None, **run(args)}
    data["meta"] = meta()
    print_result(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return data


if __name__ == "__main__":
    main()
