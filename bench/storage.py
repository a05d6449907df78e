"""Blob store throughput: the local folder against S3 (moto's server in its own process, over HTTP).

Measures what the pipeline does with blobs: store an upload (``put_file``, multipart above the part
size), stream an artifact (``open_writer``), read a blob back (``open``), hand a file to FFmpeg
(``local_path``: a temp copy on S3), small artifacts (``put_bytes``), existence checks and a
video's deletion (``delete_prefix``). moto is a Python S3 emulator: its numbers are a floor for a
real S3/MinIO, useful for the *shape* of the costs (per-request overhead, copies), not their size.

    .venv/bin/python -m bench.storage [--mib 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import free_port, print_table, warn_if_busy, write_json
from clipdex.settings import Settings
from clipdex.storage import keys, open_store

MB = 1e6


def _moto(port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    import httpx

    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def _stores(root: Path, endpoint: str) -> dict:
    common = dict(data_dir=root / "data", env="test")
    s3 = dict(storage_url="s3://bench-bucket/bench", s3_endpoint_url=endpoint, s3_access_key_id="bench",
              s3_secret_access_key="bench-secret")
    local_settings = Settings(**common)
    s3_settings = Settings(**common, **s3)
    s3_store = open_store(s3_settings.storage_url, s3_settings)
    s3_store.client.create_bucket(Bucket="bench-bucket")
    return {"local": open_store(f"file://{root / 'blobs'}", local_settings), "s3 (moto)": s3_store}


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(store, src: Path, repeat: int) -> dict:
    size = src.stat().st_size
    tenant, video = uuid.uuid4(), uuid.uuid4()
    big = keys.original(tenant, video, "mp4")
    out = {"put_file_MBps": size / MB / _median_time(lambda: store.put_file(big, src), repeat)}

    def stream():
        with open(src, "rb") as f, store.open_writer(keys.artifact(tenant, video, "bench", "1", "s.bin")) as w:
            while block := f.read(1 << 20):
                w.write(block)

    out["open_writer_MBps"] = size / MB / _median_time(stream, repeat)

    def read():
        with store.open(big) as f:
            while f.read(1 << 20):
                pass

    out["read_MBps"] = size / MB / _median_time(read, repeat)

    def local_copy():
        with store.local_path(big) as p:
            assert p.stat().st_size == size

    # the local store hands FFmpeg the blob's own file: nothing to measure
    out["local_path_MBps"] = None if hasattr(store, "absolute") else size / MB / _median_time(local_copy, repeat)
    small = [keys.artifact(tenant, video, "small", "1", f"{i}.json") for i in range(100)]
    t0 = time.perf_counter()
    for k in small:
        store.put_bytes(k, b"{}" * 2048)
    out["put_4KiB_ms"] = (time.perf_counter() - t0) / len(small) * 1e3
    t0 = time.perf_counter()
    for k in small:
        store.exists(k)
    out["exists_ms"] = (time.perf_counter() - t0) / len(small) * 1e3
    t0 = time.perf_counter()
    n = store.delete_prefix(keys.video_prefix(tenant, video))
    out["delete_video_s"] = time.perf_counter() - t0
    out["delete_video_blobs"] = n
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=64, help="size of the test file")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    load = warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="clipdex-bench-storage-"))
    port = free_port()
    proc = _moto(port)
    try:
        src = root / "upload.bin"
        with open(src, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        results = {name: measure(store, src, args.repeat) for name, store in _stores(root, f"http://127.0.0.1:{port}").items()}
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    cols = ["put_file_MBps", "open_writer_MBps", "read_MBps", "local_path_MBps", "put_4KiB_ms", "exists_ms",
            "delete_video_s"]
    print_table(f"Blob stores, {args.mib} MiB file, median of {args.repeat}", ["store", *cols],
                [[name, *("no copy" if r[c] is None else round(r[c], 3) for c in cols)] for name, r in results.items()])
    path = write_json("storage", {"file_mib": args.mib, "repeat": args.repeat, "loadavg_1m_at_start": load,
                                  "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
