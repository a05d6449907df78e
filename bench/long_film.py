"""A long film through the whole pipeline: one cold job, its memory sampled every second.

    .venv/bin/python -m bench.long_film --file talk.mp4 [--repeat 12]

``--file`` is repeated ``--repeat`` times without re-encoding (FFmpeg's concat demuxer), so a
10-minute ``bench.ingest --keep`` video becomes a 2-hour film in seconds. One cold job (first of the
process: models load) runs through an embedded two-thread worker pool in this process, as
``bench.ingest`` runs it; a thread reads this process's resident set (``/proc/self/status``) every
second. Prints the wall time, job / duration, CPU seconds, peak RSS and when it happened, the RSS
every 5 % of the run and every stage's seconds [start-end]. Issue 16's goal: a worker processing a
2-hour film stays under 3 GiB.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.common import print_table, warn_if_busy, write_json
from bench.ingest import Pipeline


def repeat(src: Path, n: int, out: Path) -> Path:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{src.resolve()}'\n" for _ in range(n)))
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(out)], check=True)
    return out


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.series: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self.stop.is_set():
            self.series.append((round(time.perf_counter() - t0, 1), round(_rss_mib(), 1)))
            self.stop.wait(1.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=12)
    args = ap.parse_args()
    load = warn_if_busy()
    with tempfile.TemporaryDirectory(prefix="clipdex-long-") as tmp:
        root = Path(tmp)
        film = repeat(args.file, args.repeat, root / "film.mp4") if args.repeat > 1 else args.file
        duration = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                                         "csv=p=0", str(film)], capture_output=True, text=True,
                                        check=True).stdout.strip())
        sampler = Sampler()
        sampler.start()
        pipe = Pipeline(root, "cpu")
        try:
            job = pipe.run_job(film, timeout_s=max(3600.0, duration * 2))
        finally:
            pipe.close()
            sampler.stop.set()
            sampler.join()
    series = sampler.series
    peak_t, peak = max(series, key=lambda x: x[1])
    step = max(1, len(series) // 20)
    out = {"file": str(args.file), "repeat": args.repeat, "video_s": round(duration, 1), "loadavg_1m_at_start": load,
           "status": job["status"], "wall_s": job["wall_s"], "cpu_s": job["cpu_s"],
           "job_over_duration": round(job["wall_s"] / duration, 3), "peak_rss_mib": peak, "peak_at_s": peak_t,
           "rss_mib_every_5pct": series[::step], "stages": {k: [v["seconds"], v["start"], v["end"]]
                                                           for k, v in job["stages"].items()}}
    rows = [[k, f"{s:.1f} [{a}-{b}]"] for k, (s, a, b) in out["stages"].items()]
    rows += [["(whole job, wall)", out["wall_s"]], ["(CPU seconds)", out["cpu_s"]],
             ["job / duration", out["job_over_duration"]], ["peak RSS, MiB", f"{peak} at {peak_t} s"]]
    print_table(f"Long film, {out['video_s']} s ({args.repeat} x {args.file.name}), one cold job, "
                f"load {load} at start", ["", "value"], rows)
    print("RSS MiB every 5 %:", out["rss_mib_every_5pct"])
    print(f"wrote {write_json('long_film', out)}")


if __name__ == "__main__":
    main()
