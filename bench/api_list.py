"""GET /api/v1/videos under 16 concurrent clients, against GET /healthz of the same server.

One ``clipdex serve`` (uvicorn, SQLite, no embedded worker) in a fresh data folder; one tenant with
50 videos (one real upload, 49 copies of its row); closed-loop keep-alive clients for a fixed time
after a warm-up. The /healthz baseline (no auth, no database) is the cost of the HTTP stack and
FastAPI alone, so ``list/healthz`` shows what authentication, the database and serialisation cost.

    .venv/bin/python -m bench.api_list [--duration 10] [--warmup 2] [--clients 16]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from bench.common import BenchServer, bearer, print_table, running_server, warn_if_busy, write_json
from bench.loadgen import run_load

VIDEOS = 50


def _tiny_clip(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=60)
    return path


def seed_videos(server: BenchServer, token: str, count: int = VIDEOS) -> None:
    """Upload one real clip through the API, then copy its row ``count - 1`` times in the database."""
    from clipdex.models import Video
    from clipdex.platform import Platform
    from clipdex.settings import Settings

    with tempfile.TemporaryDirectory(prefix="clipdex-bench-clip-") as tmp:
        clip = _tiny_clip(Path(tmp) / "seed.mp4")
        with open(clip, "rb") as f:
            r = httpx.post(f"{server.base_url}/api/v1/videos", headers=bearer(token), timeout=60,
                           files={"file": ("seed.mp4", f, "video/mp4")}, data={"title": "seed", "tags": "bench"})
        r.raise_for_status()
        seed_id = uuid.UUID(r.json()["id"])
    settings = Settings(data_dir=server.data_dir, secret_key=server.env["CLIPDEX_SECRET_KEY"], worker_threads=0)
    platform = Platform.from_settings(settings)
    try:
        with platform.db.system() as s:
            seed = s.get(Video, seed_id)
            columns = [c.key for c in Video.__table__.columns if c.key not in ("id", "created_at", "updated_at")]
            for i in range(1, count):
                row = {c: getattr(seed, c) for c in columns}
                row.update(title=f"bench video {i:03d}", sha256=uuid.uuid4().hex * 2,
                           created_at=seed.created_at - timedelta(seconds=i))
                s.add(Video(**row))
    finally:
        platform.close()


def _check_list(server: BenchServer, headers: dict[str, str]) -> int:
    r = httpx.get(f"{server.base_url}/api/v1/videos", headers=headers, timeout=30)
    r.raise_for_status()
    return len(r.json()["items"])


def run(duration_s: float = 10.0, warmup_s: float = 2.0, clients: int = 16) -> dict:
    load = warn_if_busy()
    with running_server("list") as server:
        token = server.login()
        seed_videos(server, token)
        api_key = server.create_api_key(token, ["read"])
        items = {"jwt": _check_list(server, bearer(token)), "api_key": _check_list(server, bearer(api_key))}
        if set(items.values()) != {VIDEOS}:
            raise RuntimeError(f"expected {VIDEOS} videos in the first page, got {items}")
        scenarios = [("healthz", "/healthz", {}), ("list_jwt", "/api/v1/videos", bearer(token)),
                     ("list_api_key", "/api/v1/videos", bearer(api_key))]
        results = {}
        for name, path, headers in scenarios:
            res = run_load(server.port, path, headers, clients=clients, warmup_s=warmup_s, duration_s=duration_s,
                           cpu_probe=server.cpu_seconds)
            results[name] = {"path": path, **res.summary()}
    base = results["healthz"]["rps"] or 1.0
    for name in ("list_jwt", "list_api_key"):
        results[name]["rps_vs_healthz"] = round(results[name]["rps"] / base, 3)
    config = {"clients": clients, "duration_s": duration_s, "warmup_s": warmup_s, "videos": VIDEOS,
              "page_size": 50, "server": "clipdex serve --workers 0 (uvicorn, SQLite WAL)"}
    return {"loadavg_1m_at_start": load, "config": config, "results": results}


def print_result(data: dict) -> None:
    rows = []
    for name, r in data["results"].items():
        rows.append([name, r["requests"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"], r["errors"],
                     r.get("server_cpu_ms_per_req", ""), r.get("server_cpu_cores", ""),
                     r.get("rps_vs_healthz", "1.00 (baseline)")])
    cfg = data["config"]
    print_table(f"API list: {cfg['clients']} clients, {cfg['duration_s']:.0f} s after {cfg['warmup_s']:.0f} s warm-up",
                ["scenario", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
                 "server CPU ms/req", "server cores", "vs healthz"], rows)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each scenario")
    p.add_argument("--clients", type=int, default=16)
    args = p.parse_args(argv)
    data = run(args.duration, args.warmup, args.clients)
    print_result(data)
    print(f"wrote {write_json('api_list', data)}")
    return data


if __name__ == "__main__":
    main()
