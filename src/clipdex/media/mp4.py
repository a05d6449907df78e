"""Reading MP4/MOV box headers directly: facts ffprobe does not report."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
# Boxes on the way from the top level to the data references (trak/mdia/minf/dinf/dref).
_DREF_PATH = (b"moov", b"trak", b"mdia", b"minf", b"dinf")
_SELF_CONTAINED = 0x000001


def boxes_overrun(path: Path, size: int, max_boxes: int = 100_000) -> bool:
    """True when an MP4/MOV top-level box runs past the end of the file.

    A faststart file cut short keeps its index (moov) up front, so ffprobe reads no missing bytes
    and ffmpeg later decodes what is there and exits 0: only the box sizes tell.
    """
    pos = 0
    with open(path, "rb") as f:
        for _ in range(max_boxes):
            if pos + 8 > size:
                return False
            f.seek(pos)
            hdr = f.read(16)
            box = int.from_bytes(hdr[:4], "big")
            if box == 1 and len(hdr) == 16:  # 64-bit "largesize"
                box = int.from_bytes(hdr[8:16], "big")
            if box == 0:  # the last box extends to the end of the file
                return False
            if box < 8:
                return False  # not a box layout we understand; ffprobe already accepted it
            if pos > 0 and not _is_box_type(hdr[4:8]):
                return False  # data appended after the last box (a polyglot's tail), not a cut box
            pos += box
            if pos > size:
                return True
    return False


def _is_box_type(kind: bytes) -> bool:
    """Box types are four printable characters (letters, digits, space, and the QuickTime (c) sign)."""
    return len(kind) == 4 and all(c == 0xA9 or c == 0x20 or 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A
                                  for c in kind)


def _children(f: BinaryIO, start: int, end: int, limit: int = 10_000):
    """(type, payload start, payload end) of the boxes between ``start`` and ``end``."""
    pos = start
    for _ in range(limit):
        if pos + 8 > end:
            return
        f.seek(pos)
        hdr = f.read(16)
        if len(hdr) < 8:
            return
        size, kind, head = int.from_bytes(hdr[:4], "big"), hdr[4:8], 8
        if size == 1 and len(hdr) == 16:
            size, head = int.from_bytes(hdr[8:16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < head:
            return
        yield kind, pos + head, min(pos + size, end)
        pos += size


def mp4_external_references(path: Path, size: int) -> bool:
    """True when a track's data reference (``dref``) points outside the file: a reference movie.

    FFmpeg ignores such references by default (``enable_drefs`` off), but a file that depends on
    other files is refused outright rather than half-decoded.
    """
    with open(path, "rb") as f:
        return _walk(f, 0, size, 0)


def _walk(f: BinaryIO, start: int, end: int, depth: int) -> bool:
    for kind, a, b in _children(f, start, end):
        if depth < len(_DREF_PATH) and kind == _DREF_PATH[depth]:
            if _walk(f, a, b, depth + 1):
                return True
        elif depth == len(_DREF_PATH) and kind == b"dref":
            # full box: version+flags (4), entry count (4), then one box per entry, each a full box
            for _entry, ea, _eb in _children(f, a + 8, b):
                f.seek(ea)
                vf = f.read(4)
                if len(vf) == 4 and not int.from_bytes(vf[1:], "big") & _SELF_CONTAINED:
                    return True
    return False
