"""ffprobe untrusted files into a MediaInfo, classify failures, and check tier limits."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clipdex.errors import (
    DurationExceeded,
    ExternalReference,
    InvalidDimensions,
    InvalidFrameRate,
    MediaEmpty,
    MediaRejected,
    MediaTruncated,
    MediaUnrecognized,
    NoDuration,
    NoUsableStream,
    ProbeTimeout,
    ResolutionExceeded,
    StillImage,
    TooManyStreams,
    UnsupportedCodec,
)
from clipdex.media import sandbox
from clipdex.media.formats import input_args, is_allowed, looks_like_playlist, refusal_for
from clipdex.media.mp4 import MP4_BOXES as _MP4_BOXES, boxes_overrun, mp4_external_references
from clipdex.media.runner import Limits, ToolTimeout, run_tool
from clipdex.settings import Settings, Tier

USABLE = ("video", "audio")
# Still images pass ffprobe as one-frame "video"; clipdex indexes moving pictures and sound.
IMAGE_CODECS = {"png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpeg2000", "pam", "ppm", "pgm", "svg"}
UNKNOWN_CODECS = {"unknown", "none", ""}  # ffprobe found the stream but has no decoder for it
MAX_FPS = 1000  # a declared rate above this is a bomb (a frame every microsecond), not a camera
IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "tiff_pipe", "gif", "svg_pipe"}


@dataclass
class StreamInfo:
    index: int
    kind: str
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    channels: int | None = None
    sample_rate: int | None = None
    duration_s: float | None = None


@dataclass
class MediaInfo:
    format_name: str
    duration_s: float
    size_bytes: int
    bit_rate: int | None
    streams: list[StreamInfo] = field(default_factory=list)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    def summary(self) -> dict:
        return asdict(self)


def _rate(value: str | None) -> float | None:
    try:
        num, _, den = (value or "").partition("/")
        return round(float(num) / float(den or 1), 3) if float(den or 1) else None
    except ValueError:
        return None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# Leading bytes of container formats: when ffprobe fails on a file that starts like media, the
# file is damaged or cut short; otherwise it is not media at all (a renamed document, say).
_MAGIC = (b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS", b"fLaC", b"ID3", b"FLV", b"\x00\x00\x01\xba",
          b"\x00\x00\x01\xb3", b"YUV4MPEG2", b"\x30\x26\xb2\x75", b"\xff\xfb", b"\xff\xf3")


def looks_like_media(head: bytes) -> bool:
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return True
    if head[:1] == b"\x47" and len(head) > 188 and head[188:189] == b"\x47":  # MPEG-TS sync bytes
        return True
    return any(head.startswith(m) for m in _MAGIC)


def _classify(stderr: str, size: int, head: bytes = b"") -> MediaRejected:
    low = stderr.lower()
    if size == 0:
        return MediaEmpty("The file is empty.")
    if "stream_count" in low or "max_streams" in low or "could not alloc stream" in low:
        return TooManyStreams("The file declares more streams than can be read.")
    if "picture size" in low and "invalid" in low:
        return InvalidDimensions("The video declares impossible dimensions.")
    if looks_like_media(head):
        return MediaTruncated("The file is truncated or damaged.")
    return MediaUnrecognized("The file is not a recognised audio or video format.")


def _ffprobe(path: Path, settings: Settings, extra: list[str], fmt: str | None = None):
    limits = Limits(timeout_s=settings.ffprobe_timeout_s, memory_bytes=min(settings.media_memory_bytes, 1024**3),
                    cpu_s=60)
    with sandbox.prepare(settings, path) as inp:
        args = [settings.ffprobe_bin, "-hide_banner", "-probesize", "50M", "-analyzeduration", "20M", *extra,
                *input_args(inp.path, fmt)]
        try:
            return run_tool(args, limits, inp.sandbox, inp.workdir)
        except ToolTimeout:
            raise ProbeTimeout("Probing the file took too long.") from None


_PROBED = re.compile(r"Format (\S+) probed with size=")


def _refuse_off_list(path: Path, settings: Settings, head: bytes) -> MediaRejected:
    """The specific refusal for a file FFmpeg would open with a demuxer that is not allowed.

    FFmpeg checks the allow-list right after format detection and before the demuxer reads its
    header, so asking it (at debug level) which demuxer it detected opens nothing else."""
    res = _ffprobe(path, settings, ["-v", "debug", "-probesize", "1M"])
    m = _PROBED.search(res.stderr) if res.returncode != 0 else None
    return refusal_for(m.group(1) if m else None, head, looks_like_media(head))


def probe_file(path: Path, settings: Settings) -> MediaInfo:
    """ffprobe ``path`` in the media sandbox: allowed demuxers, the file protocol, its own input only."""
    size = path.stat().st_size
    if size == 0:
        raise _classify("", 0)
    with open(path, "rb") as f:
        head = f.read(4096)
    if looks_like_playlist(head):
        raise refusal_for(None, head, False)
    res = _ffprobe(path, settings, ["-v", "error", "-show_format", "-show_streams", "-of", "json"])
    try:
        data = json.loads(res.stdout or b"{}")
    except json.JSONDecodeError:
        data = {}
    fmt = data.get("format")
    if res.returncode != 0 and "not on whitelist" in res.stderr:
        raise _refuse_off_list(path, settings, head)
    if res.returncode != 0 or not fmt:
        raise _classify(res.stderr, size, head)
    if not is_allowed(fmt.get("format_name", "")):  # defence in depth: the whitelist let it through
        raise refusal_for(fmt.get("format_name"), head, looks_like_media(head))
    if head[4:8] in _MP4_BOXES and mp4_external_references(path, size):
        raise ExternalReference("The file references media outside itself (a reference movie).")
    streams = [_stream(s) for s in data.get("streams", [])]
    info = MediaInfo(format_name=fmt.get("format_name", ""), duration_s=_float(fmt.get("duration")) or 0.0,
                     size_bytes=size, bit_rate=int(_float(fmt.get("bit_rate")) or 0) or None, streams=streams)
    if not info.duration_s:
        info.duration_s = max((s.duration_s or 0.0) for s in streams) if streams else 0.0
    if any(m in res.stderr.lower() for m in ("truncat", "partial file", "moov atom not found")):
        raise _classify(res.stderr, size, head)
    # Only MP4/MOV stream bit rates are measured from the sample table; MPEG-1/2 program streams
    # declare the VBV maximum (104857200 b/s for "variable"), which says nothing about the file size.
    declared = sum(int(_float(s.get("bit_rate")) or 0) for s in data.get("streams", [])) if head[4:8] == b"ftyp" else 0
    if declared and info.duration_s and declared * info.duration_s / 8 > 1.25 * size + 65536:
        raise MediaTruncated("The file is shorter than its streams declare (truncated).")
    if head[4:8] == b"ftyp" and boxes_overrun(path, size):
        raise MediaTruncated("The file is shorter than its container declares (truncated).")
    return info


def _stream(s: dict) -> StreamInfo:
    kind = s.get("codec_type", "data")
    return StreamInfo(
        index=int(s.get("index", 0)), kind=kind, codec=s.get("codec_name", "unknown"),
        width=s.get("width"), height=s.get("height"),
        fps=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate")) if kind == "video" else None,
        channels=s.get("channels"), sample_rate=int(s["sample_rate"]) if s.get("sample_rate") else None,
        duration_s=_float(s.get("duration")),
    )


def check_media(info: MediaInfo, tier: Tier) -> None:
    """Refuse media clipdex cannot use or this tier may not process, each with its own code."""
    if len(info.streams) > tier.max_streams:
        raise TooManyStreams(f"The file has {len(info.streams)} streams; the limit is {tier.max_streams}.")
    usable = [s for s in info.streams if s.kind in USABLE]
    if not usable:
        raise NoUsableStream("The file has no audio or video stream.")
    v = info.video
    if v and (info.format_name in IMAGE_FORMATS or (v.codec in IMAGE_CODECS and not info.audio
                                                     and (info.duration_s or 0) < 0.5)):
        raise StillImage("Still images are not videos.")
    if v and (not v.width or not v.height or v.width <= 0 or v.height <= 0):
        raise InvalidDimensions("The video stream has no valid dimensions.")
    if v and (v.width > tier.max_width or v.height > tier.max_height):
        raise ResolutionExceeded(
            f"Resolution {v.width}x{v.height} exceeds this tier's {tier.max_width}x{tier.max_height}.")
    if v and v.fps and v.fps > MAX_FPS:
        raise InvalidFrameRate(f"The video declares {v.fps:.0f} frames per second; the limit is {MAX_FPS}.")
    for s in (v, info.audio):  # the stages decode the first video and the first audio stream
        if s and s.codec in UNKNOWN_CODECS:
            raise UnsupportedCodec(f"The {s.kind} stream's codec is not supported.")
    if not info.duration_s or info.duration_s <= 0:
        raise NoDuration("The media has no measurable duration.")
    if info.duration_s > tier.max_duration_s:
        raise DurationExceeded(
            f"Duration {info.duration_s:.0f}s exceeds this tier's {tier.max_duration_s:.0f}s.")
