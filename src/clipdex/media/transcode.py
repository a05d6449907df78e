"""FFmpeg operations the core stages need: audio extraction and still frames.

Every call pins the demuxer the probe found (``fmt``) and runs in the media sandbox: the tool
reads only its input and writes only into the output's folder.
"""

from __future__ import annotations

from pathlib import Path

from clipdex.errors import MediaCorrupt, MediaRejected
from clipdex.media import sandbox
from clipdex.media.formats import input_args
from clipdex.media.runner import Limits, run_tool
from clipdex.settings import Settings


def _ffmpeg(settings: Settings, src: Path, fmt: str, before: list[str], after: list[str], dst: Path,
            timeout_s: float | None = None) -> None:
    limits = Limits(timeout_s=timeout_s or settings.ffmpeg_timeout_s, memory_bytes=settings.media_memory_bytes)
    with sandbox.prepare(settings, src, write_dirs=(dst.parent,)) as inp:
        cmd = [settings.ffmpeg_bin, "-nostdin", "-hide_banner", "-v", "error", "-xerror", *before,
               *input_args(inp.path, fmt), *after, "-y", f"file:{dst}"]
        res = run_tool(cmd, limits, inp.sandbox, inp.workdir)
    # The mov demuxer reports a cut-short file as "partial file" yet exits 0, even with -xerror.
    if res.returncode != 0 or "partial file" in res.stderr:
        raise MediaCorrupt("The media could not be decoded (corrupt or truncated data).")
    # A damaged file can "succeed" with nothing decoded (a seek past the data that is there): no output.
    if not dst.exists() or dst.stat().st_size == 0:
        raise MediaCorrupt("The media could not be decoded (no data at that point).")


def extract_audio(settings: Settings, src: Path, dst: Path, *, fmt: str, sample_rate: int = 16000) -> None:
    """Decode the first audio stream to mono PCM WAV at ``sample_rate``; ``fmt`` is the probed demuxer."""
    _ffmpeg(settings, src, fmt, [], ["-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
                                     "-c:a", "pcm_s16le", "-f", "wav"], dst)


def still_frame(settings: Settings, src: Path, dst: Path, *, fmt: str, at_s: float, width: int) -> None:
    """One JPEG frame at ``at_s`` seconds, scaled to ``width`` (even height, aspect kept).

    Where nothing decodes at ``at_s`` (a sparse or cut-short stream), the first frame is taken."""
    for t in dict.fromkeys((max(0.0, at_s), 0.0)):
        try:
            _ffmpeg(settings, src, fmt, ["-ss", f"{t:.3f}"],
                    ["-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "3", "-f", "image2"],
                    dst, timeout_s=min(settings.ffmpeg_timeout_s, 300))
            return
        except MediaRejected as e:
            if t == 0.0 or "no data at that point" not in (e.detail or ""):
                raise
