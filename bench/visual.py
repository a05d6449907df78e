"""Visual benchmarks: one decode pass vs each analyzer decoding on its own; our shot detector vs the
``scenedetect`` CLI (detect-adaptive) on the corpus, wall time and F1 side by side; frames per
second of the whole visual stage on a 10-minute 720p video.

    python -m bench.visual [--corpus ../shared/corpus] [--minutes 10] [--pass-seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS_DIR, REPO_ROOT, console
from clipdex.analyzers.visual import VisualOptions, VisualPass
from clipdex.evaluation.scoring import match_boundaries, prf
from clipdex.evaluation.visual import detect_shots
from clipdex.media.frames import probe_spec, read_frames
from clipdex.settings import Settings

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def make_video(path: Path, seconds: int, size: str = "1280x720", rate: int = 25) -> Path:
    """Six 5-second patterns (a cut every 5 s) with a caption, H.264 720p, looped by stream copy."""
    part, pats = 5, ["testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "testsrc", "cellauto"]
    base = path.with_name(path.stem + "-base.mp4")
    args = ["ffmpeg", "-v", "error", "-y"]
    for src in pats:
        extra = ":rule=110" if src == "cellauto" else ""
        args += ["-f", "lavfi", "-i", f"{src}=size={size}:rate={rate}{extra}"]
    fc = "".join(f"[{i}:v]trim=duration={part},setpts=PTS-STARTPTS,format=yuv420p[s{i}];" for i in range(len(pats)))
    fc += "".join(f"[s{i}]" for i in range(len(pats))) + f"concat=n={len(pats)}:v=1:a=0"
    fc += f",drawtext=fontfile={FONT}:text='clipdex benchmark %{{n}}':fontsize=36:fontcolor=white:x=40:y=40[v]"
    subprocess.run(args + ["-filter_complex", fc, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
                           "-crf", "28", "-g", "50", str(base)], check=True)
    loops = max(0, -(-seconds // (part * len(pats))) - 1)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(base), "-t", str(seconds),
                    "-c", "copy", str(path)], check=True)
    return path


def run_pass(settings: Settings, path: Path, opts: VisualOptions) -> tuple[float, int, dict]:
    spec = probe_spec(settings, path, opts.max_width)
    t0 = time.perf_counter()
    vp = VisualPass(spec, opts, 0.0)
    for f in read_frames(settings, path, spec):
        vp.feed(f.index, f.t, f.image)
    vp.finish()
    return time.perf_counter() - t0, vp.n, {k: round(v, 2) for k, v in vp.timings.items()}


def decode_only(settings: Settings, path: Path, width: int) -> float:
    spec = probe_spec(settings, path, width)
    t0 = time.perf_counter()
    for _ in read_frames(settings, path, spec):
        pass
    return time.perf_counter() - t0


def bench_one_pass(settings: Settings, path: Path) -> dict:
    off = dict(faces=False, ocr=False, tags=False)
    alone = {
        "shots+keyframes+cues": VisualOptions(**off),
        "faces": VisualOptions(**{**off, "faces": True}),
        "ocr": VisualOptions(**{**off, "ocr": True}),
        "tags": VisualOptions(**{**off, "tags": True}),
    }
    run_pass(settings, path, VisualOptions())  # warm: models load once per process (runtime cache)
    one, frames, timings = run_pass(settings, path, VisualOptions())
    separate = {name: round(run_pass(settings, path, o)[0], 2) for name, o in alone.items()}
    return {"frames": frames, "decode_only_s": round(decode_only(settings, path, 640), 2),
            "one_pass_s": round(one, 2), "one_pass_analyzer_s": timings, "separate_passes_s": separate,
            "separate_total_s": round(sum(separate.values()), 2)}


def scenedetect_cli(path: Path) -> list[int]:
    exe = shutil.which("scenedetect") or str(Path(sys.executable).with_name("scenedetect"))
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([exe, "-i", str(path), "-o", out, "-q", "detect-adaptive", "list-scenes"], check=True,
                       capture_output=True)
        rows = list(csv.reader(next(Path(out).glob("*.csv")).open()))
    starts = [int(r[1]) - 1 for r in rows[2:] if r and r[0].isdigit()]  # CLI frames are 1-based
    return [s for s in starts if s > 0]


def bench_shots(settings: Settings, corpus: Path) -> dict:
    entries = [e for e in json.loads((corpus / "MANIFEST.json").read_text())["entries"]
               if e["kind"] in ("shot_boundary", "av_speech")]
    out = {}
    detectors = (("clipdex", lambda p: detect_shots(settings, p)[0]), ("scenedetect detect-adaptive", scenedetect_cli))
    for name, fn in detectors:
        tp = n_pred = n_gt = 0
        t0 = time.perf_counter()
        for e in entries:
            gt = e.get("ground_truth") or {}
            r = match_boundaries(fn(corpus / e["file"]), gt.get("hard_cuts") or [],
                                 gt.get("gradual_transitions") or [])
            tp += r["tp_cuts"] + r["tp_gradual"]
            n_pred += r["n_pred"]
            n_gt += r["n_cuts"] + r["n_gradual"]
        out[name] = {"wall_s": round(time.perf_counter() - t0, 2), **prf(tp, n_pred, n_gt), "files": len(entries)}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=REPO_ROOT.parent / "shared" / "corpus")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--pass-seconds", type=int, default=60)
    args = ap.parse_args(argv)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="clipdex-bench-")))
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        short = make_video(Path(tmp) / "short.mp4", args.pass_seconds)
        result["one_pass_vs_separate"] = bench_one_pass(settings, short)
        console.print(result["one_pass_vs_separate"])
        if (args.corpus / "MANIFEST.json").is_file():
            result["shots_vs_scenedetect"] = bench_shots(settings, args.corpus)
            console.print(result["shots_vs_scenedetect"])
        long = make_video(Path(tmp) / "long.mp4", int(args.minutes * 60))
        secs, frames, timings = run_pass(settings, long, VisualOptions())
        result["whole_stage_720p"] = {"minutes": args.minutes, "frames": frames, "wall_s": round(secs, 1),
                                      "fps": round(frames / secs, 1),
                                      "realtime_factor": round(secs / (args.minutes * 60), 3),
                                      "analyzer_s": timings}
        console.print(result["whole_stage_720p"])
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "visual.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
