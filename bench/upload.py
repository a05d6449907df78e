"""Upload throughput: a plain file copy against multipart and tus uploads through a real server.

One generated media file of a few hundred MB (raw 720p video + PCM audio in Matroska: real media
that ffprobe accepts, made in seconds without encoding) is (a) copied with ``shutil.copyfile`` into
the server's data folder, (b) POSTed to /api/v1/videos as multipart, streamed from disk by httpx,
and (c) sent with tus in 8 MiB PATCH chunks. (b) and (c) are timed end to end: the response comes
after the server has hashed, probed and stored the file and queued its job. Each trial deletes its
video so the next is not a duplicate. While an upload runs, a second connection polls /healthz:
its worst latency shows whether the upload stalls the server's event loop.

    .venv/bin/python -m bench.upload [--seconds 8] [--repeat 3] [--chunk-mib 8]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx

from bench.common import BenchServer, bearer, percentile, print_table, running_server, warn_if_busy, write_json

MB = 1_000_000  # throughput is reported in MB/s (10^6 bytes)


def make_media(path: Path, seconds: int) -> Path:
    """Uncompressed 1280x720 yuv420p at 25 fps (~35 MB/s of video) plus 48 kHz PCM, in Matroska."""
    subprocess.run(["ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=size=1280x720:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    "-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", str(path)],
                   check=True, timeout=120)
    return path


class HealthPoller:
    """Polls /healthz over one keep-alive connection every ``interval_s`` and keeps the latencies."""

    def __init__(self, port: int, interval_s: float = 0.02) -> None:
        self.port, self.interval_s = port, interval_s
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                self.latencies.append(time.perf_counter() - t0)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._stop.wait(self.interval_s)
        conn.close()

    def __enter__(self) -> "HealthPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=35)


def _timed(fn) -> tuple[float, object]:
    os.sync()  # dirty pages of the previous trial must not be flushed on this trial's clock
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)


def _copy_hash(src: Path, dst: Path) -> str:
    """What any hashing receiver has to do at least: read, SHA-256, write, in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(src, "rb") as f, open(dst, "wb") as out:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest()


def _multipart(client: httpx.Client, server: BenchServer, token: str, path: Path) -> str:
    with open(path, "rb") as f:
        r = client.post(f"{server.base_url}/api/v1/videos", headers=bearer(token),
                        files={"file": (path.name, f, "video/x-matroska")}, data={"title": "bench upload"})
    if r.status_code != 201:
        raise RuntimeError(f"multipart upload failed: {r.status_code} {r.text[:500]}")
    return r.json()["id"]


def _tus(client: httpx.Client, server: BenchServer, token: str, path: Path, chunk: int) -> str:
    size = path.stat().st_size
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("filename", path.name), ("title", "bench tus upload")))
    tus = {**bearer(token), "Tus-Resumable": "1.0.0"}
    r = client.post(f"{server.base_url}/api/v1/uploads", headers={**tus, "Upload-Length": str(size),
                                                                  "Upload-Metadata": meta})
    if r.status_code != 201:
        raise RuntimeError(f"tus create failed: {r.status_code} {r.text[:500]}")
    url = f"{server.base_url}{r.headers['Location']}"
    offset, video_id = 0, None
    with open(path, "rb") as f:
        while offset < size:
            data = f.read(chunk)
            r = client.patch(url, content=data, headers={**tus, "Upload-Offset": str(offset),
                                                          "Content-Type": "application/offset+octet-stream"})
            if r.status_code != 204:
                raise RuntimeError(f"tus PATCH at {offset} failed: {r.status_code} {r.text[:500]}")
            offset = int(r.headers["Upload-Offset"])
            video_id = r.headers.get("Clipdex-Video-Id", video_id)
    if not video_id:
        raise RuntimeError("the last tus PATCH did not return Clipdex-Video-Id")
    return video_id


def _delete(client: httpx.Client, server: BenchServer, token: str, video_id: str) -> None:
    r = client.delete(f"{server.base_url}/api/v1/videos/{video_id}", headers=bearer(token))
    if r.status_code != 204:
        raise RuntimeError(f"delete failed: {r.status_code} {r.text[:300]}")


def _probe_s(path: Path) -> float:
    """ffprobe with the server's arguments: the part of an upload's time that is not moving bytes."""
    t0 = time.perf_counter()
    subprocess.run(["ffprobe", "-v", "error", "-hide_banner", "-probesize", "50M", "-analyzeduration", "20M",
                    "-show_format", "-show_streams", "-of", "json", f"file:{path}"],
                   check=True, capture_output=True, timeout=60)
    return time.perf_counter() - t0


def _method_stats(size: int, times: list[float], health: list[float] | None = None) -> dict:
    out = {"trials_s": [round(t, 3) for t in times], "median_s": round(statistics.median(times), 3),
           "mb_per_s": round(size / statistics.median(times) / MB, 1),
           "best_mb_per_s": round(size / min(times) / MB, 1)}
    if health is not None:
        out["healthz_during"] = _latency_stats(health)
    return out


def _latency_stats(latencies: list[float]) -> dict:
    lat = sorted(latencies)
    return {"samples": len(lat), "p50_ms": round(percentile(lat, 50) * 1000, 2),
            "p99_ms": round(percentile(lat, 99) * 1000, 2), "max_ms": round((lat[-1] if lat else 0) * 1000, 2)}


def run(seconds: int = 8, repeat: int = 3, chunk_mib: int = 8) -> dict:
    load = warn_if_busy()
    with running_server("upload") as server:
        token = server.login()
        src = make_media(server.root / "bench-source.mkv", seconds)
        size = src.stat().st_size
        dst = server.data_dir / "copy-baseline.bin"
        copies, hashed = [], []
        _copy(src, dst)  # untimed: the first pass pays for the source's pages still being written back
        dst.unlink()
        for _ in range(max(repeat, 5)):  # cheap, and the noisiest: page-cache writeback varies a lot
            copies.append(_timed(lambda: _copy(src, dst))[0])
            dst.unlink()
            hashed.append(_timed(lambda: _copy_hash(src, dst))[0])
            dst.unlink()
        results = {"copy": _method_stats(size, copies), "copy_sha256": _method_stats(size, hashed)}
        with httpx.Client(timeout=httpx.Timeout(120.0)) as client:
            for name, send in (("multipart", lambda: _multipart(client, server, token, src)),
                               ("tus", lambda: _tus(client, server, token, src, chunk_mib << 20))):
                times, health, server_cpu, client_cpu = [], [], [], []
                for _ in range(repeat):
                    with HealthPoller(server.port) as poller:
                        cpu0, ccpu0 = server.cpu_seconds(), time.process_time()
                        elapsed, video_id = _timed(send)
                        server_cpu.append(server.cpu_seconds() - cpu0)
                        client_cpu.append(time.process_time() - ccpu0)
                    health += poller.latencies
                    times.append(elapsed)
                    _delete(client, server, token, video_id)
                results[name] = {**_method_stats(size, times, health),
                                 "server_cpu_s": round(statistics.median(server_cpu), 3),
                                 "client_cpu_s": round(statistics.median(client_cpu), 3)}
        idle = HealthPoller(server.port)
        with idle:
            time.sleep(1.0)
        probe = _probe_s(src)
    base, hashed_base = results["copy"]["mb_per_s"], results["copy_sha256"]["mb_per_s"]
    for r in results.values():
        r["vs_copy"] = round(r["mb_per_s"] / base, 3) if base else None
        r["vs_copy_sha256"] = round(r["mb_per_s"] / hashed_base, 3) if hashed_base else None
    config = {"file_bytes": size, "media": f"{seconds} s 1280x720 rawvideo + pcm_s16le in Matroska",
              "repeat": repeat, "copy_repeat": max(repeat, 5), "tus_chunk_bytes": chunk_mib << 20,
              "server": "clipdex serve --workers 0 (uvicorn, SQLite WAL, local blobs)"}
    return {"loadavg_1m_at_start": load, "config": config,
            "probe_s": round(probe, 3),
            "healthz_idle": _latency_stats(idle.latencies),
            "results": results}


def print_result(data: dict) -> None:
    cfg = data["config"]
    rows = []
    for name, r in data["results"].items():
        h = r.get("healthz_during", {})
        rows.append([name, r["median_s"], r["mb_per_s"], r["best_mb_per_s"], r["vs_copy"], r["vs_copy_sha256"],
                     r.get("server_cpu_s", ""), h.get("p50_ms", ""), h.get("max_ms", "")])
    idle = data["healthz_idle"]
    rows.append(["(idle server)", "", "", "", "", "", "", idle["p50_ms"], idle["max_ms"]])
    print_table(f"Upload of {cfg['file_bytes'] / MB:.0f} MB, median of {cfg['repeat']} trials, copies "
                f"{cfg['copy_repeat']} (ffprobe alone: "
                f"{data['probe_s'] * 1000:.0f} ms)",
                ["method", "median s", "MB/s", "best MB/s", "vs copy", "vs copy+sha256", "server CPU s",
                 "healthz p50 ms during", "healthz max ms during"],
                rows)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=8, help="length of the generated video (~35 MB per second)")
    p.add_argument("--repeat", type=int, default=3, help="trials per method")
    p.add_argument("--chunk-mib", type=int, default=8, help="tus PATCH size in MiB")
    args = p.parse_args(argv)
    data = run(args.seconds, args.repeat, args.chunk_mib)
    print_result(data)
    print(f"wrote {write_json('upload', data)}")
    return data


if __name__ == "__main__":
    main()
