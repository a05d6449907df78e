"""Hostile media through the real upload API and the real worker: class x outcome, max time, crashes.

Generates >= 200 hostile files in 17 classes (``bench/hostile_gen.py``), starts the app on a real
socket (uvicorn in a thread, SQLite, local blobs, the model stages off as in the tests) and, as an
attacker tenant, uploads every file with multipart POST /api/v1/videos; each accepted upload is then
processed by the real worker (``Worker.drain``: probe, extract_audio, thumbnail in the sandbox). Meanwhile
a thread polls ``/healthz`` every 100 ms, a loopback TCP listener (named in playlists and URLs in
the files) counts connections, and a bystander tenant uploads a normal video that must finish.

Every file must end either processed (video ``ready``) or refused (upload 4xx) / failed (job) with
one of the specific codes its case expects; never a 5xx, never ``job.stage_error``.

    .venv/bin/python -m bench.hostile [--sample N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.hostile_gen import Case, generate

GENERIC = {"media.rejected", "job.stage_error", "request.invalid", "internal.error"}


class Listener:
    """A loopback TCP listener that counts every connection made to it (none may come)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(addr)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=2)
        self.sock.close()


class HealthProbe:
    """Polls /healthz every ``every_s``; records failures and the worst latency."""

    def __init__(self, base: str, every_s: float = 0.1) -> None:
        self.base, self.every_s = base, every_s
        self.ok = self.failed = 0
        self.worst_s = 0.0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as c:
            while not self._stop.is_set():
                t = time.monotonic()
                try:
                    r = c.get("/healthz")
                    good = r.status_code == 200
                except httpx.HTTPError as e:
                    good = False
                    self.errors.append(type(e).__name__)
                self.worst_s = max(self.worst_s, time.monotonic() - t)
                self.ok += good
                self.failed += not good
                self._stop.wait(self.every_s)

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=15)


@dataclass
class Result:
    cls: str
    name: str
    outcome: str  # processed | refused | failed | error
    code: str | None
    http_status: int
    upload_s: float
    worker_s: float
    expected: list[str]
    ok: bool
    problems: list[str] = field(default_factory=list)


def _judge(case: Case, outcome: str, code: str | None, status: int, body: str) -> tuple[bool, list[str]]:
    problems = []
    if status >= 500:
        problems.append(f"server error {status}")
    if code in GENERIC:
        problems.append(f"generic code {code}")
    got = "processed" if outcome == "processed" else code
    if got not in case.expect:
        problems.append(f"got {got}, expected one of {sorted(case.expect)}")
    for leak in ("Traceback", "/tmp/", "/work/", "staging", "blobs/tenants"):
        if leak in body:
            problems.append(f"{leak!r} in the response body")
    return not problems, problems


def upload_one(http: httpx.Client, headers: dict, case: Case) -> httpx.Response:
    with open(case.path, "rb") as f:
        return http.post("/api/v1/videos", headers=headers,
                         files={"file": (case.upload_name, f, "application/octet-stream")})


def run_cases(platform, http: httpx.Client, ctx, cases: list[Case], on_progress=None) -> list[Result]:
    """Upload each case as tenant ``ctx``, let the real worker process what was accepted, judge it."""
    from tests.conftest import drain, login

    results = []
    renewed = time.monotonic()
    for i, case in enumerate(cases):
        if time.monotonic() - renewed > 600:  # access tokens live 15 minutes; the full run takes longer
            ctx.token = login(http, ctx.email, tenant=ctx.slug)["access_token"]
            renewed = time.monotonic()
        headers = ctx.headers
        t = time.monotonic()
        r = upload_one(http, headers, case)
        up_s = time.monotonic() - t
        worker_s = 0.0
        body = r.text
        if r.status_code == 201:
            vid = r.json()["id"]
            t = time.monotonic()
            drain(platform)
            worker_s = time.monotonic() - t
            v = http.get(f"/api/v1/videos/{vid}", headers=headers)
            body += v.text
            video = v.json()
            if video.get("status") == "ready":
                outcome, code = "processed", None
            elif video.get("status") == "failed":
                outcome, code = "failed", video.get("error_code") or (video.get("error") or {}).get("code")
            else:
                outcome, code = "error", f"status:{video.get('status')}"
            status = v.status_code
            http.delete(f"/api/v1/videos/{vid}", headers=headers)  # keep the quota and duplicates out of it
        else:
            try:
                code = r.json().get("code")
            except ValueError:
                code = None
            outcome, status = ("refused" if r.status_code < 500 else "error"), r.status_code
        ok, problems = _judge(case, outcome, code, status, body)
        results.append(Result(case.cls, case.path.name, outcome, code, status, round(up_s, 3), round(worker_s, 3),
                              sorted(case.expect), ok, problems))
        if on_progress:
            on_progress(i, results[-1])
    return results


def sample_cases(cases: list[Case], per_class: int) -> list[Case]:
    """The first ``per_class`` cases of each class, spread over the class (first and last)."""
    by: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by[c.cls].append(c)
    out = []
    for group in by.values():
        picks = [group[0]] if per_class == 1 else [group[0], group[-1]][:per_class]
        out += [c for k, c in enumerate(picks) if all(c is not d for d in picks[:k])]
    return out


@contextlib.contextmanager
def hostile_platform(root: Path):
    """The app on a real socket with an attacker, a victim (one processed video) and a bystander."""
    from clipdex.app import create_app
    from clipdex.models import Video
    from tests.api.ingest_support import live_server
    from tests.conftest import drain, migrated_sqlite_settings, new_tenant, open_platform
    from tests.media import make_video

    settings = migrated_sqlite_settings(root)
    with open_platform(settings) as platform, live_server(create_app(platform=platform, embedded_workers=0)) as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as http:
            victim = new_tenant(platform, http, "Victim")
            src = make_video(root / "victim.mp4", seconds=2, size="160x120", tone_hz=880)
            with open(src, "rb") as f:
                r = http.post("/api/v1/videos", headers=victim.headers, files={"file": ("victim.mp4", f, "video/mp4")})
            assert r.status_code == 201, r.text
            drain(platform)
            import uuid
            with platform.db.tenant(victim.id) as s:
                key = s.get(Video, uuid.UUID(r.json()["id"])).blob_key
            original = settings.data_dir / "blobs" / key
            attacker = new_tenant(platform, http, "Attacker")
            bystander = new_tenant(platform, http, "Bystander")
            yield platform, http, base, attacker, bystander, original


def bystander_upload(http: httpx.Client, ctx, path: Path, out: dict) -> None:
    t = time.monotonic()
    with open(path, "rb") as f:
        r = http.post("/api/v1/videos", headers=ctx.headers, files={"file": (path.name, f, "video/mp4")})
    out["upload_status"], out["upload_s"] = r.status_code, time.monotonic() - t
    out["id"] = r.json().get("id") if r.status_code == 201 else None


def main(argv: list[str] | None = None) -> int:
    from bench.common import print_table, write_json
    from tests.media import make_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=0, help="only N files per class (0: all)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated files and data here")
    args = ap.parse_args(argv)
    import logging
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("clipdex").setLevel(logging.WARNING)
    root = args.keep or Path(tempfile.mkdtemp(prefix="clipdex-hostile-"))
    root.mkdir(parents=True, exist_ok=True)
    listener = Listener()
    started = time.monotonic()
    with hostile_platform(root) as (platform, http, base, attacker, bystander, original):
        t = time.monotonic()
        cases = generate(root / "files", listener_port=listener.port,
                         local_targets=(str(original), str(original.relative_to(platform.settings.data_dir))))
        gen_s = time.monotonic() - t
        if args.sample:
            cases = sample_cases(cases, args.sample)
        print(f"{len(cases)} files in {len({c.cls for c in cases})} classes (generated in {gen_s:.0f} s)",
              file=sys.stderr)
        health = HealthProbe(base)
        normal = make_video(root / "bystander.mp4", seconds=2, size="160x120", tone_hz=330)
        byst: dict = {}
        byst_thread = None

        def progress(i: int, res: Result) -> None:
            nonlocal byst_thread
            if i == len(cases) // 3:  # the other tenant uploads while hostile files are being processed
                byst_thread = threading.Thread(target=bystander_upload, args=(http, bystander, normal, byst))
                byst_thread.start()
            if not res.ok:
                print(f"  FAIL {res.cls}/{res.name}: {'; '.join(res.problems)}", file=sys.stderr)

        results = run_cases(platform, http, attacker, cases, on_progress=progress)
        if byst_thread:
            byst_thread.join(timeout=120)
        from tests.conftest import drain
        drain(platform)
        from tests.conftest import login
        bystander.token = login(http, bystander.email, tenant=bystander.slug)["access_token"]
        bv = http.get(f"/api/v1/videos/{byst.get('id')}", headers=bystander.headers).json() if byst.get("id") else {}
        health.close()
        listener.close()
    rows = []
    table: dict[str, dict] = defaultdict(lambda: {"n": 0, "outcomes": defaultdict(int), "max_upload_s": 0.0,
                                                  "max_worker_s": 0.0, "failures": 0})
    for res in results:
        row = table[res.cls]
        row["n"] += 1
        key = res.outcome if res.outcome == "processed" else f"{res.outcome} {res.code}"
        row["outcomes"][key] += 1
        row["max_upload_s"] = max(row["max_upload_s"], res.upload_s)
        row["max_worker_s"] = max(row["max_worker_s"], res.worker_s)
        row["failures"] += not res.ok
    for cls, row in table.items():
        rows.append([cls, row["n"], ", ".join(f"{k} x{v}" for k, v in sorted(row["outcomes"].items())),
                     row["max_upload_s"], row["max_worker_s"], row["failures"]])
    print_table("hostile media: class x outcome", ["class", "files", "outcomes", "max upload+probe s",
                                                   "max worker s", "unexpected"], rows)
    summary = {
        "files": len(results), "classes": len(table),
        "unexpected": sum(not r.ok for r in results),
        "server_errors": sum(r.http_status >= 500 for r in results),
        "generic_codes": sum(r.code in GENERIC for r in results),
        "outbound_connections": len(listener.connections),
        "healthz_ok": health.ok, "healthz_failed": health.failed, "healthz_worst_s": round(health.worst_s, 3),
        "bystander_upload_status": byst.get("upload_status"), "bystander_status": bv.get("status"),
        "max_probe_s": max(r.upload_s for r in results), "wall_s": round(time.monotonic() - started, 1),
    }
    for k, v in summary.items():
        print(f"{k:26} {v}")
    path = write_json("hostile", {"summary": summary, "classes": {k: {**v, "outcomes": dict(v["outcomes"])}
                                                                  for k, v in table.items()},
                                  "results": [r.__dict__ for r in results]})
    print(f"wrote {path}", file=sys.stderr)
    good = (summary["unexpected"] == 0 and summary["outbound_connections"] == 0 and summary["healthz_failed"] == 0
            and summary["bystander_status"] == "ready")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
