"""Loudness per ITU-R BS.1770-4 / EBU R128 with FFmpeg's ``ebur128`` filter, on the original audio track.

The stored 16 kHz mono extract is fine for speech models but wrong for loudness: true peak needs the
original sample rate (ebur128 oversamples it to 192 kHz) and all channels. So the original's first
audio stream is read once more, in the media sandbox with the probed demuxer pinned. The summary
(integrated, LRA, true peak) comes from the filter's log; the 100 ms momentary/short-term series
from its frame metadata, written to a file in the stage's scratch folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from clipdex.errors import MediaCorrupt
from clipdex.media import sandbox
from clipdex.media.formats import input_args
from clipdex.media.runner import Limits, run_tool

FLOOR = -70.0  # values below this (digital silence reads -120.7) are stored as the floor
_SAFE = re.compile(r"^[A-Za-z0-9_./-]+$")
_SUMMARY = {
    "integrated_lufs": re.compile(r"Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-?inf|nan) LUFS"),
    "lra_lu": re.compile(r"Loudness range:\s*\n\s*LRA:\s*(-?[\d.]+|nan) LU"),
    "sample_peak_dbfs": re.compile(r"Sample peak:\s*\n\s*Peak:\s*(-?[\d.]+|-?inf|nan) dBFS"),
    "true_peak_dbtp": re.compile(r"True peak:\s*\n\s*Peak:\s*(-?[\d.]+|-?inf|nan) dBFS"),
}


def _num(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    if v != v:  # nan
        return None
    return max(v, -200.0) if v != float("-inf") else -200.0


def parse_summary(stderr: str) -> dict:
    out = {}
    for key, rx in _SUMMARY.items():
        found = rx.findall(stderr)
        out[key] = _num(found[-1]) if found else None
    return out


def parse_series(text: str) -> dict:
    """The 100 ms series from ``ametadata=mode=print`` output: times, momentary and short-term."""
    t, m, s = [], [], []
    cur_t = None
    for line in text.splitlines():
        if line.startswith("frame:"):
            mt = re.search(r"pts_time:(-?[\d.]+)", line)
            cur_t = float(mt.group(1)) if mt else None
        elif line.startswith("lavfi.r128.M=") and cur_t is not None:
            t.append(round(cur_t, 2))
            m.append(round(max(FLOOR, _num(line.split("=", 1)[1]) or FLOOR), 1))
        elif line.startswith("lavfi.r128.S=") and cur_t is not None and len(s) < len(m):
            s.append(round(max(FLOOR, _num(line.split("=", 1)[1]) or FLOOR), 1))
    n = min(len(t), len(m), len(s))
    return {"step_s": 0.1, "t": t[:n], "momentary": m[:n], "short_term": s[:n]}


def measure(settings, src: Path, fmt: str, scratch: Path) -> dict:
    """Integrated loudness, LRA, sample and true peak, and the 100 ms M/S series of the first audio stream."""
    scratch = Path(scratch).resolve()
    out = scratch / "ebur128.txt"
    if not _SAFE.match(str(out)):  # the path goes inside a filter graph: no escaping games
        raise RuntimeError("scratch path unsuitable for a filter argument")
    limits = Limits(timeout_s=settings.ffmpeg_timeout_s, memory_bytes=settings.media_memory_bytes)
    with sandbox.prepare(settings, src, write_dirs=(scratch,)) as inp:
        args = [settings.ffmpeg_bin, "-nostdin", "-hide_banner", "-nostats", "-v", "info",
                *input_args(inp.path, fmt), "-map", "0:a:0", "-vn", "-sn", "-dn",
                "-af", f"ebur128=peak=true+sample:metadata=1:framelog=verbose,ametadata=mode=print:file={out}",
                "-f", "null", "-"]
        res = run_tool(args, limits, inp.sandbox, inp.workdir)
    summary = parse_summary(res.stderr)
    if res.returncode != 0 or summary["integrated_lufs"] is None:
        raise MediaCorrupt("The audio track could not be measured (corrupt or truncated data).")
    series = parse_series(out.read_text(errors="replace") if out.exists() else "")
    return {"method": "ffmpeg-ebur128", "standard": "ITU-R BS.1770-4", **summary, "series": series}
