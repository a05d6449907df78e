"""Cost of the compliance stage next to the whole pipeline, and the flash detector's throughput.

    .venv/bin/python -m bench.compliance [--seconds 600] [--skip-pipeline]

1. One video (bench/stages.py's 640x360 pattern with speech) runs through every default stage in
   this process, after a short warm-up clip has loaded the models; reports each stage's wall time
   and the compliance stage's share of the sum (goal: under 5 %), with its own split (loudness on
   the original audio, the picture pass, nudity sampling).
2. On the same file: one bare decode at the compliance width (frames per second), the same decode
   feeding the flash detector, the detector alone on frames already in memory, and the whole
   picture pass without nudity sampling.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import console, print_table, warn_if_busy, write_json
from bench.stages import make_video, process


def _compliance_output(root: Path) -> dict:
    """The compliance stage's own output (its split of the time) from a finished bench run's database."""
    from sqlalchemy import create_engine, text

    eng = create_engine(f"sqlite:///{root / 'clipdex.db'}")
    with eng.connect() as c:
        row = c.execute(text("SELECT output FROM job_stages WHERE name = 'compliance'")).first()
    eng.dispose()
    import json

    return json.loads(row[0]) if row and row[0] else {}


def pipeline(video: Path, warm: Path, root: Path) -> dict:
    process(warm, root / "warm-up")  # loads every model once; not measured
    run = process(video, root / "measured")
    total = sum(d for d, _ in run["stages"].values())
    comp = run["stages"].get("compliance", (0.0, "missing"))[0]
    out = _compliance_output(root / "measured") if (root / "measured" / "clipdex.db").exists() else {}
    return {"stages": run["stages"], "sum_s": total, "wall_s": run["wall_s"], "compliance_s": comp,
            "compliance_share": comp / total if total else None, "compliance_split_s": out.get("timings_s"),
            "verdict": out.get("verdict")}


def flash_throughput(video: Path, width: int) -> dict:
    import cv2

    from clipdex.compliance.flashes import GRID, FlashDetector
    from clipdex.compliance.picture import PictureOptions, PicturePass
    from clipdex.media.frames import probe_spec, read_frames
    from clipdex.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="clipdex-bench-flash-"))
    st = Settings(data_dir=root, env="test", secret_key="b" * 40)
    st.staging_dir.mkdir(parents=True, exist_ok=True)
    spec = probe_spec(st, video, width)
    out = {}
    t0 = time.perf_counter()
    n = sum(1 for _ in read_frames(st, video, spec, fmt="mov"))
    out["bare decode"] = (n, time.perf_counter() - t0)
    det, smalls = FlashDetector(), []
    t0 = time.perf_counter()
    for f in read_frames(st, video, spec, fmt="mov"):
        small = cv2.resize(f.image, GRID, interpolation=cv2.INTER_AREA)
        det.feed(f.t, small)
        if len(smalls) < 3000:
            smalls.append((f.t, small))
    out["decode + flash detector"] = (n, time.perf_counter() - t0)
    det2 = FlashDetector()
    t0 = time.perf_counter()
    for t, small in smalls:
        det2.feed(t, small)
    out["flash detector alone (in memory)"] = (len(smalls), time.perf_counter() - t0)
    pp = PicturePass(spec.fps, PictureOptions(nudity=False))
    t0 = time.perf_counter()
    for f in read_frames(st, video, spec, fmt="mov"):
        pp.feed(f.t, f.image)
    out["decode + picture pass (no nudity)"] = (n, time.perf_counter() - t0)
    shutil.rmtree(root, ignore_errors=True)
    return {k: {"frames": fr, "seconds": s, "fps": fr / s if s else None} for k, (fr, s) in out.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600, help="length of the measured video")
    ap.add_argument("--width", type=int, default=320, help="compliance decode width")
    ap.add_argument("--skip-pipeline", action="store_true", help="only the flash detector's throughput")
    args = ap.parse_args(argv)
    load = warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="clipdex-bench-compliance-"))
    try:
        video = make_video(root / "bench.mp4", args.seconds)
        flash = flash_throughput(video, args.width)
        result = {"video_seconds": args.seconds, "loadavg_1m_at_start": load, "flash": flash}
        if not args.skip_pipeline:
            warm = make_video(root / "warm.mp4", 10)
            result["pipeline"] = pipeline(video, warm, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_table(f"Picture pass throughput, {args.seconds} s 640x360 video decoded at {args.width} px",
                ["what", "frames", "seconds", "frames/s"],
                [[k, v["frames"], v["seconds"], v["fps"]] for k, v in flash.items()])
    if "pipeline" in result:
        p = result["pipeline"]
        rows = [[name, d, status, d / p["sum_s"] if p["sum_s"] else 0.0] for name, (d, status) in p["stages"].items()]
        rows.append(["(sum of stages)", p["sum_s"], "", 1.0])
        console.print(f"compliance stage split (s): {p['compliance_split_s']}; verdict {p['verdict']}")
        print_table(f"Stage wall time, {args.seconds} s video, warm models; compliance share "
                    f"{100 * (p['compliance_share'] or 0):.1f} % (goal < 5 %)",
                    ["stage", "seconds", "status", "share"], rows)
    path = write_json("compliance", result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
