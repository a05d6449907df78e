"""Speech media with known text, made by the tests: espeak-ng voices, sox music, silence."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
SOX = shutil.which("sox") or "sox"

SENTENCE_A = "Welcome to the quarterly review meeting. Today we will discuss the budget for the new video platform."
SENTENCE_B = "The launch is planned for March, and the marketing team will prepare the announcement."


def speak(path: Path, text: str, voice: str = "en-us", speed: int = 150) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def music(path: Path, seconds: float = 8.0) -> Path:
    """A plucked chord progression with a bass line (sox synth): clearly music, no words."""
    half = seconds / 4
    chords = []
    for i, (a, b, c) in enumerate((("C4", "E4", "G4"), ("A3", "C4", "E4"), ("F3", "A3", "C4"), ("G3", "B3", "D4"))):
        p = path.with_name(f"{path.stem}-{i}.wav")
        subprocess.run([SOX, "-n", "-r", "16000", "-c", "1", str(p), "synth", str(half), "pluck", a, "pluck", b,
                        "pluck", c, "remix", "-", "vol", "0.7"], check=True)
        chords.append(str(p))
    subprocess.run([SOX, *chords, str(path)], check=True)
    return path


def silence(path: Path, seconds: float, noise: float = 0.0) -> Path:
    args = [SOX, "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "synth", str(seconds)]
    args += ["whitenoise", "vol", str(noise)] if noise else ["sine", "0", "vol", "0"]
    subprocess.run(args, check=True)
    return path


def concat(path: Path, parts: list[Path]) -> Path:
    """16 kHz mono WAV of the parts back to back."""
    norm = []
    for i, p in enumerate(parts):
        q = path.with_name(f"{path.stem}-part{i}.wav")
        subprocess.run([SOX, str(p), "-r", "16000", "-c", "1", "-b", "16", str(q)], check=True)
        norm.append(str(q))
    subprocess.run([SOX, *norm, str(path)], check=True)
    return path


def to_video(wav: Path, out: Path) -> Path:
    """An MP4 with a small test picture and ``wav`` as its sound."""
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-i", str(wav),
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    str(out)], check=True)
    return out
