"""A generated talk video with known on-screen text, for the ingest benchmark and the OCR tests.

1280x720 H.264 + AAC: a slowly moving gradient background, a slide panel whose text changes every
15-30 s, a speaker inset (a corpus face photo, drifting), one full-frame photo shot entered by a hard
cut and one entered and left by a dissolve, and espeak-ng speech with music and silence. The slide
schedule is returned, so a caller can score what OCR read against what was drawn.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CORPUS_FACES = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "images" / "faces"
SLIDES = [
    ("Quarterly results 2026", "Revenue grew 12 percent", "Churn fell below 3 percent"),
    ("Upload service", "Resumable uploads shipped", "Median latency 180 ms"),
    ("Search roadmap", "Hybrid ranking in beta", "Transcript snippets"),
    ("Hiring plan", "Four backend engineers", "Two designers in Berlin"),
    ("Budget review", "Cloud spend down 9 percent", "GPU pool doubled"),
    ("Customer stories", "Newsroom archive indexed", "Museum tours subtitled"),
    ("Security update", "Tenant isolation audit", "Quarterly key rotation"),
    ("Next steps", "Ship the console redesign", "Questions welcome"),
]
DURATIONS = (20, 15, 30, 25)


def schedule(seconds: float) -> list[dict]:
    """Slides with their [start, end) in seconds, text changing every 15-30 s."""
    out, t, i = [], 0.0, 0
    while t < seconds:
        d = min(DURATIONS[i % len(DURATIONS)], seconds - t)
        out.append({"start_s": t, "end_s": t + d, "lines": list(SLIDES[i % len(SLIDES)])})
        t, i = t + d, i + 1
    return out


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'").replace("%", "\\%")


def _slide_filters(slides: list[dict]) -> str:
    parts = []
    for s in slides:
        on = f"enable='between(t,{s['start_s']:.2f},{s['end_s'] - 0.001:.3f})'"
        for j, line in enumerate(s["lines"]):
            size, y = (52, 110) if j == 0 else (40, 230 + (j - 1) * 90)
            parts.append(f"drawtext=fontfile={FONT}:text='{_esc(line)}':fontsize={size}:fontcolor=0x202020:"
                         f"x=90:y={y}:{on}")
    return ",".join(parts)


def make_talk(out: Path, seconds: int, audio: Path | None = None) -> dict:
    """Write the video to ``out``; returns its ground truth (slides, photo shots)."""
    slides = schedule(seconds)
    face = CORPUS_FACES / "obama.jpg"
    group = CORPUS_FACES / "2008_001322.jpg"
    cut_at = round(seconds * 0.45, 2)
    dissolve_at = round(seconds * 0.8, 2)
    photo = {"hard_cut": [cut_at, cut_at + 4.0], "dissolve": [dissolve_at, dissolve_at + 5.0]}
    fc = ("[0:v]scale=1280:720:flags=bilinear,format=yuv420p,"
          f"drawbox=x=60:y=60:w=820:h=560:color=0xF4F4F0@1:t=fill,{_slide_filters(slides)}[bg];"
          "[1:v]scale=300:380,setsar=1[face];"
          "[bg][face]overlay=x='920+12*sin(t/3)':y='170+8*cos(t/4)':shortest=1[talk];"
          "[2:v]scale=1280:720,setsar=1,split[p1][p2];"
          f"[talk][p1]overlay=enable='between(t,{cut_at},{cut_at + 4.0})'[a];"
          f"[p2]format=yuva420p,fade=t=in:st={dissolve_at}:d=1:alpha=1,"
          f"fade=t=out:st={dissolve_at + 4.0}:d=1:alpha=1[pd];"
          f"[a][pd]overlay=enable='between(t,{dissolve_at},{dissolve_at + 5.0})',format=yuv420p[v]")
    args = ["ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"gradients=s=160x90:r=25:speed=0.004:c0=0x1d3557:c1=0x457b9d:d={seconds}",
            "-loop", "1", "-framerate", "25", "-i", str(face),
            "-loop", "1", "-framerate", "25", "-i", str(group)]
    if audio is not None:
        args += ["-i", str(audio)]
    args += ["-filter_complex", fc, "-map", "[v]"]
    if audio is not None:
        args += ["-map", "3:a", "-c:a", "aac", "-b:a", "96k"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "250",
             "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]
    subprocess.run(args, check=True)
    truth = {"seconds": seconds, "slides": slides, "photo_shots": photo}
    out.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1))
    return truth
