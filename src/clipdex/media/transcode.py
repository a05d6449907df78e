"""FFmpeg operations the core stages need: audio extraction and still frames."""

from __future__ import annotations

from pathlib import Path

from clipdex.errors import MediaRejected
from clipdex.media.runner import Limits, run_tool
from clipdex.settings import Settings


def _ffmpeg(settings: Settings, args: list[str], timeout_s: float | None = None) -> None:
    cmd = [settings.ffmpeg_bin, "-nostdin", "-hide_banner", "-v", "error", "-xerror",
           "-protocol_whitelist", "file", *args]
    res = run_tool(cmd, Limits(timeout_s=timeout_s or settings.ffmpeg_timeout_s,
                               memory_bytes=settings.media_memory_bytes))
    # The mov demuxer reports a cut-short file as "partial file" yet exits 0, even with -xerror.
    if res.returncode != 0 or "partial file" in res.stderr:
        raise MediaRejected("The media could not be decoded (corrupt or truncated data).", code="media.corrupt")


def extract_audio(settings: Settings, src: Path, dst: Path, *, sample_rate: int = 16000) -> None:
    """Decode the first audio stream to mono PCM WAV at ``sample_rate``."""
    _ffmpeg(settings, ["-i", f"file:{src}", "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
                       "-c:a", "pcm_s16le", "-f", "wav", "-y", f"file:{dst}"])


def still_frame(settings: Settings, src: Path, dst: Path, *, at_s: float, width: int) -> None:
    """One JPEG frame at ``at_s`` seconds, scaled to ``width`` (even height, aspect kept)."""
    _ffmpeg(settings, ["-ss", f"{max(0.0, at_s):.3f}", "-i", f"file:{src}", "-map", "0:v:0", "-frames:v", "1",
                       "-vf", f"scale={width}:-2", "-q:v", "3", "-f", "image2", "-y", f"file:{dst}"],
            timeout_s=min(settings.ffmpeg_timeout_s, 300))
