"""Media made by the tests with FFmpeg's lavfi sources: nothing is downloaded."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def make_video(path: Path, *, seconds: float = 3, size: str = "320x240", audio: bool = True,
               faststart: bool = False, rate: int = 25, tone_hz: int = 440, pattern: str = "testsrc2") -> Path:
    args = [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=44100:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    if faststart:
        args += ["-movflags", "+faststart"]
    subprocess.run(args + [str(path)], check=True)
    return path


def make_audio(path: Path, *, seconds: float = 2) -> Path:
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}",
                    str(path)], check=True)
    return path


def truncated_copy(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def absurd_dimensions(path: Path) -> Path:
    """A Y4M header declaring 100000x100000 pixels (ffprobe refuses such a picture size)."""
    path.write_bytes(b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n")
    return path


def oversized_dimensions(path: Path, width: int = 30000, height: int = 16) -> Path:
    """A valid Y4M frame wider than any tier allows."""
    header = f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode()
    path.write_bytes(header + bytes(width * height * 3 // 2))
    return path
