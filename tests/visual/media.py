"""Visual test media with known ground truth, made with FFmpeg lavfi (25 fps, 320x240).

Layout (frame numbers 0-based, a boundary is the first frame of the new shot):
  0-29    testsrc2 (moving pattern)
  30-59   smptebars, frame 45 one white flash frame (not a cut)
  60-109  dark blue card with "CLIPDEX 2026" drawn in white (on-screen text)
  110-149 rgbtestsrc, fading out over its last 10 frames
  150-159 black
  160-199 mandelbrot-like testsrc, fading in over its first 10 frames
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.media import FFMPEG

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SIZE, RATE = "320x240", 25
CUTS = [30, 60, 110]
FADE_OUT = (140, 150)  # frames of the fade to black
FADE_IN = (160, 170)
FLASH = 45
TEXT = "CLIPDEX 2026"
FRAMES = 200


def make_shots_video(path: Path) -> Path:
    src = [
        f"testsrc2=size={SIZE}:rate={RATE}:duration=1.2",
        f"smptebars=size={SIZE}:rate={RATE}:duration=1.2",
        f"color=c=0x102040:size={SIZE}:rate={RATE}:duration=2",
        f"rgbtestsrc=size={SIZE}:rate={RATE}:duration=1.6",
        f"color=c=black:size={SIZE}:rate={RATE}:duration=0.4",
        f"testsrc=size={SIZE}:rate={RATE}:duration=1.6",
    ]
    args = [FFMPEG, "-v", "error", "-y"]
    for s in src:
        args += ["-f", "lavfi", "-i", s]
    fc = (
        "[1:v]drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n,15)'[b];"
        f"[2:v]drawtext=fontfile={FONT}:text='{TEXT}':fontsize=30:fontcolor=white:x=(w-tw)/2:y=(h-th)/2[c];"
        "[3:v]fade=t=out:st=1.2:d=0.4[d];"
        "[5:v]fade=t=in:st=0:d=0.4[f];"
        "[0:v][b][c][d][4:v][f]concat=n=6:v=1:a=0,format=yuv420p[v]"
    )
    args += ["-filter_complex", fc, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
             str(path)]
    subprocess.run(args, check=True)
    return path


def make_face_video(path: Path, image: Path, seconds: float = 2.0) -> Path:
    """A still photo as a clip, then a cut to a pattern (the face leaves with the cut)."""
    subprocess.run([FFMPEG, "-v", "error", "-y", "-loop", "1", "-t", str(seconds), "-i", str(image),
                    "-f", "lavfi", "-i", f"testsrc2=size=640x480:rate={RATE}:duration=1",
                    "-filter_complex", f"[0:v]scale=640:480,fps={RATE},format=yuv420p[a];"
                                       "[1:v]format=yuv420p[b];[a][b]concat=n=2:v=1:a=0[v]",
                    "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)
    return path


VFR_CUT_S = 2.0  # 10 fps pattern for 2 s, then 30 fps bars for 1.5 s (frame 20 starts at 2.0 s)


def make_vfr_video(path: Path) -> Path:
    """A variable-frame-rate clip: frame number / average rate puts the cut at ~1.07 s, not 2.0 s."""
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2",
                    "-f", "lavfi", "-i", "smptebars=size=320x240:rate=30:duration=1.5", "-filter_complex",
                    "[0:v]settb=1/1000,format=yuv420p[a];[1:v]settb=1/1000,format=yuv420p[b];"
                    "[a][b]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-fps_mode", "passthrough", "-c:v", "libx264",
                    "-preset", "ultrafast", "-video_track_timescale", "1000", str(path)], check=True)
    return path
