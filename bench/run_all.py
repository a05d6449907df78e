"""Run every benchmark, print its table, and write bench/results/<name>.json (``make bench``).

    .venv/bin/python -m bench.run_all [--quick]

``--quick`` shortens each run (3 s per list scenario, one upload trial) for a smoke test; the
numbers it gives are noisier.
"""

from __future__ import annotations

import argparse
import time

from bench import api_list, fairness, upload
from bench.common import console, write_json


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter runs for a smoke test")
    args = p.parse_args(argv)
    benches = [
        ("api_list", lambda: api_list.run(duration_s=3 if args.quick else 10, warmup_s=1 if args.quick else 2),
         api_list.print_result),
        ("upload", lambda: upload.run(seconds=8, repeat=1 if args.quick else 3), upload.print_result),
        ("fairness", lambda: fairness.run(heavy=6 if args.quick else 20), fairness.print_result),
    ]
    started = time.perf_counter()
    for name, run, show in benches:
        t0 = time.perf_counter()
        data = run()
        show(data)
        path = write_json(name, {**data, "bench_wall_s": round(time.perf_counter() - t0, 1)})
        console.print(f"[dim]{name}: {time.perf_counter() - t0:.0f} s, wrote {path}[/dim]")
    console.print(f"all benchmarks: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
