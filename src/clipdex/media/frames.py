"""The one video decode: FFmpeg scales in the decoder and pipes raw BGR frames, one at a time.

Every visual analyzer reads frames from here; none opens the file itself. A reader thread keeps up
to ``PREFETCH_BYTES`` of decoded frames ahead of the consumer, so FFmpeg decodes on another core
while the analyzers work instead of waiting for each read (the pipe alone holds one frame: decoder
and analyzers would take turns). Memory is that bound whatever the length of the video, and the
FFmpeg process runs with the media runner's limits: own process group, address-space cap, no core
files, wall-clock timeout.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipdex.errors import MediaCorrupt, NoVideoStream
from clipdex.media import sandbox
from clipdex.media.formats import input_args
from clipdex.media.runner import Limits, ToolTimeout, spawn
from clipdex.settings import Settings


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based decode order
    t: float  # seconds from the start
    image: np.ndarray  # H x W x 3 uint8 BGR (OpenCV order), read-only


@dataclass(frozen=True)
class FrameSpec:
    width: int
    height: int
    fps: float


def analysis_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Even dimensions no wider than ``max_width``, aspect kept (never upscaled)."""
    w = min(width, max_width)
    h = max(2, int(round(height * w / width / 2)) * 2)
    return max(2, w // 2 * 2), h


def frame_spec(media: dict, max_width: int) -> FrameSpec:
    """The analysis size and rate for a probe summary (``Video.media``)."""
    v = next((s for s in media.get("streams", []) if s.get("kind") == "video"), None)
    if not v or not v.get("width") or not v.get("height"):
        raise NoVideoStream("The file has no decodable video stream.")
    w, h = analysis_size(int(v["width"]), int(v["height"]), max_width)
    return FrameSpec(w, h, float(v.get("fps") or 25.0))


def probe_spec(settings: Settings, src: Path, max_width: int) -> FrameSpec:
    """The analysis spec of a local file (evaluations and benchmarks): probed in the sandbox."""
    from clipdex.media.probe import probe_file

    return frame_spec(probe_file(src, settings).summary(), max_width)


PREFETCH_BYTES = 48 << 20  # decoded frames kept ahead of the consumer (at least 2, at most 64 frames)
_SHOWINFO = re.compile(rb"Parsed_showinfo.*\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(-?[0-9.eE+-]+)")


class _Clock:
    """Presentation times of decoded frames, parsed from ``showinfo`` lines on FFmpeg's stderr as they
    come (one float per frame; the rest of the log keeps only its tail, for error messages)."""

    def __init__(self, stream) -> None:
        self.times: list[float] = []
        self.tail = bytearray()
        self.done = False
        self.broken = False
        self._cv = threading.Condition()
        self._stream = stream

    def run(self) -> None:
        try:
            for line in self._stream:
                m = _SHOWINFO.search(line)
                if m:
                    with self._cv:
                        self.times.append(float(m.group(3)))
                        self._cv.notify_all()
                elif b"Parsed_showinfo" not in line and b"[info]" not in line[:40]:
                    self.tail += line
                    del self.tail[:-20000]
        finally:
            with self._cv:
                self.done = True
                self._cv.notify_all()

    def time_of(self, index: int, wait_s: float = 10.0) -> float | None:
        """The time of frame ``index``. FFmpeg logs a frame before writing it, so the line is (about to
        be) there; should it not come within ``wait_s`` (a log format this parser does not know), stop
        waiting for good and let the caller fall back to the nominal rate."""
        with self._cv:
            if not self.broken:
                self._cv.wait_for(lambda: len(self.times) > index or self.done, timeout=wait_s)
                self.broken = len(self.times) <= index and not self.done
            return self.times[index] if len(self.times) > index else None


def read_frames(settings: Settings, src: Path, spec: FrameSpec, *, fmt: str | None = None,
                timeout_s: float | None = None) -> Iterator[Frame]:
    """Yield every frame of the first video stream at ``spec`` size, in order.

    Every decoded frame is passed through (``-fps_mode passthrough``: none duplicated or dropped) and
    its timestamp is the stream's own presentation time, so variable-frame-rate files get real times.
    Where a time is missing (a filter log line lost) the frame gets the previous time plus 1/fps.
    ``fmt`` is the demuxer the probe found: pinned, so the file is never re-read as something else
    (without one, as for evaluations on local files, the file is probed here first, in the sandbox).
    """
    if fmt is None:
        from clipdex.media.formats import pinned
        from clipdex.media.probe import probe_file

        fmt = pinned(probe_file(src, settings).format_name)
    limits = Limits(timeout_s=timeout_s or settings.ffmpeg_timeout_s, memory_bytes=settings.media_memory_bytes)
    with sandbox.prepare(settings, src) as inp:
        args = [settings.ffmpeg_bin, "-nostdin", "-hide_banner", "-nostats", "-v", "level+info",
                *input_args(inp.path, fmt), "-map", "0:v:0", "-an", "-sn", "-dn", "-fps_mode", "passthrough",
                "-vf", f"scale={spec.width}:{spec.height}:flags=area,showinfo=checksum=0",
                "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"]
        size = spec.width * spec.height * 3
        with spawn(args, limits, inp.sandbox, inp.workdir, bufsize=size) as proc:
            yield from _frames(proc, spec, limits, size)


def _frames(proc: subprocess.Popen, spec: FrameSpec, limits: Limits, size: int) -> Iterator[Frame]:
    clock = _Clock(proc.stderr)
    drain = threading.Thread(target=clock.run, daemon=True)
    drain.start()
    deadline = time.monotonic() + limits.timeout_s
    timer = threading.Timer(limits.timeout_s, lambda: _kill(proc))
    timer.daemon = True
    timer.start()
    index = 0
    step = 1.0 / spec.fps if spec.fps > 0 else 0.04
    origin: float | None = None
    prev = -step
    ahead = _Prefetch(proc.stdout, size, max(2, min(64, PREFETCH_BYTES // size)))
    try:
        while True:
            buf = ahead.get()
            if buf is None:
                break
            img = np.frombuffer(buf, np.uint8).reshape(spec.height, spec.width, 3)
            pts = clock.time_of(index)
            if pts is not None and origin is None:
                origin = min(0.0, pts)  # negative leading times (edit lists) shift to zero
            t = prev + step if pts is None else max(pts - (origin or 0.0), prev + 1e-6)
            prev = t
            yield Frame(index, round(t, 6), img)
            index += 1
    finally:
        timer.cancel()
        if proc.poll() is None:  # the consumer stopped early (or failed): end the decoder
            _kill(proc)
        ahead.close()
        proc.wait()
        drain.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    if time.monotonic() >= deadline:
        raise ToolTimeout(f"decoding ran past {limits.timeout_s:.0f}s")
    if index == 0 and proc.returncode != 0:
        raise MediaCorrupt("The video could not be decoded (corrupt or truncated data).")


class _Prefetch:
    """Whole frames read from the pipe by a side thread into a bounded queue; ``None`` at the end."""

    def __init__(self, stream, size: int, depth: int) -> None:
        self._stream, self._size = stream, size
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="frame-reader")
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                buf = self._stream.read(self._size)
                if len(buf) < self._size or not self._put(buf):
                    break
        except (OSError, ValueError):  # the pipe was closed under us: the consumer is gone
            pass
        finally:
            self._put(None)

    def _put(self, item: bytes | None) -> bool:
        """Queue ``item``, waiting for room unless the consumer stops first (then False)."""
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def get(self) -> bytes | None:
        return self._q.get()

    def close(self) -> None:
        """Stop reading (the decoder was ended first, so the pending read returns) and wait."""
        self._stop.set()
        self._thread.join(timeout=5)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
