"""Compliance test media with known violations, made with FFmpeg lavfi and espeak-ng (a few seconds each).

Loudness: a 1 kHz sine in one channel reads 3.01 dB below its peak level (BS.1770's calibration),
so a peak amplitude of 10 ** ((L + 3.01) / 20) gives L LUFS.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.media import FFMPEG

SIZE, RATE = "160x90", 25


def amplitude(lufs: float) -> float:
    return 10 ** ((lufs + 3.01) / 20)


def _run(args: list[str]) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True)


def tone_video(path: Path, lufs: float, seconds: float = 3.0) -> Path:
    """A moving test picture with a 1 kHz tone at ``lufs`` (48 kHz mono AAC)."""
    _run(["-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={RATE}:duration={seconds}",
          "-f", "lavfi", "-i", f"aevalsrc={amplitude(lufs):.6f}*sin(2*PI*1000*t):s=48000:d={seconds}",
          "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k",
          "-shortest", str(path)])
    return path


def flash_video(path: Path, hz: float, seconds: float = 4.0, start_s: float = 1.0, flash_s: float = 2.0) -> Path:
    """Full-screen white/black flashing at ``hz`` from ``start_s`` for ``flash_s`` (else black)."""
    period = int(round(RATE / hz))
    on = period // 2
    a, b = int(start_s * RATE), int((start_s + flash_s) * RATE) - 1
    lum = f"if(between(N\\,{a}\\,{b})*lt(mod(N-{a}\\,{period})\\,{on})\\,255\\,0)"
    _run(["-f", "lavfi", "-i", f"color=c=black:size={SIZE}:rate={RATE}:duration={seconds},format=gray,"
                               f"geq=lum='{lum}',format=yuv420p",
          "-f", "lavfi", "-i", f"aevalsrc={amplitude(-23):.6f}*sin(2*PI*1000*t):s=48000:d={seconds}",
          "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)])
    return path


# qc.mp4: picture 0-1 pattern, 1-4 black, 4-5 pattern, 5-8 frozen bars, 8-10 pattern;
# sound: tone 0-3, silence 3-9, tone 9-10
BLACK = (1.0, 4.0)
FROZEN = (5.0, 8.0)
SILENT = (3.0, 9.0)


def qc_video(path: Path) -> Path:
    parts = [f"testsrc2=size={SIZE}:rate={RATE}:duration=1", f"color=c=black:size={SIZE}:rate={RATE}:duration=3",
             f"testsrc2=size={SIZE}:rate={RATE}:duration=1", f"smptebars=size={SIZE}:rate={RATE}:duration=3",
             f"testsrc2=size={SIZE}:rate={RATE}:duration=2"]
    args = []
    for p in parts:
        args += ["-f", "lavfi", "-i", p]
    amp = amplitude(-23)
    args += ["-f", "lavfi", "-i",
             f"aevalsrc={amp:.6f}*sin(2*PI*1000*t)*(lt(t\\,{SILENT[0]})+gte(t\\,{SILENT[1]})):s=48000:d=10"]
    fc = "".join(f"[{i}:v]format=yuv420p[v{i}];" for i in range(5)) + "".join(f"[v{i}]" for i in range(5)) + \
        "concat=n=5:v=1:a=0[v]"
    _run(args + ["-filter_complex", fc, "-map", "[v]", "-map", "5:a", "-c:v", "libx264", "-preset", "ultrafast",
                 "-c:a", "aac", str(path)])
    return path


def speak(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(path), text], check=True)
    return path


def wav_seconds(path: Path) -> float:
    import soundfile

    return soundfile.info(str(path)).duration


def speech_video(path: Path, parts: list[str | float], lufs: float = -23.0, size: str = SIZE) -> dict[int, float]:
    """espeak-ng speaking ``parts`` (text, or a float: seconds of silence) over a moving test picture,
    gained to ``lufs`` (two passes). Returns when each text part starts, in seconds."""
    pieces, starts, t = [], {}, 0.0
    for i, part in enumerate(parts):
        p = path.with_name(f"{path.stem}-{i}.wav")
        if isinstance(part, str):
            speak(p, part)
        else:
            _run(["-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", str(part), "-c:a", "pcm_s16le", str(p)])
        if isinstance(part, str):
            starts[i] = t
        t += wav_seconds(p)
        pieces.append(p)
    joined = path.with_name(f"{path.stem}-joined.wav")
    args = []
    for p in pieces:
        args += ["-i", str(p)]
    fc = "".join(f"[{i}:a]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=0:a=1[a]"
    _run(args + ["-filter_complex", fc, "-map", "[a]", "-ar", "48000", str(joined)])
    err = subprocess.run([FFMPEG, "-nostats", "-hide_banner", "-i", str(joined), "-af", "ebur128", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    measured = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])
    _run(["-i", str(joined), "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={RATE}", "-filter_complex",
          f"[0:a]volume={lufs - measured:.2f}dB[a]", "-map", "1:v", "-map", "[a]", "-c:v", "libx264",
          "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", "-shortest", str(path)])
    return starts
