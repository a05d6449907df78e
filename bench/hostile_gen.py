"""Hostile media for ``bench.hostile`` and ``tests/security/test_hostile_media.py``.

Every file is made here, from FFmpeg's lavfi sources and byte surgery: nothing is downloaded.
Each case names its class, the outcomes it may have (``processed`` or a specific stable code), and
whether it is small enough for the per-class sample the pytest runs.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"

PLAYLIST = "media.playlist_not_allowed"
UNRECOGNIZED = "media.unrecognized"
TRUNCATED = "media.truncated"
CORRUPT = "media.corrupt"


@dataclass
class Case:
    cls: str
    path: Path
    expect: frozenset[str]  # "processed" and/or specific error codes
    note: str = ""
    filename: str | None = None  # the name the upload claims (defaults to the file's name)
    tags: dict = field(default_factory=dict)

    @property
    def upload_name(self) -> str:
        return self.filename or self.path.name


def _ff(*args: str) -> None:
    res = subprocess.run([FFMPEG, "-v", "error", "-y", *args], capture_output=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg failed making {args[-1]}: {res.stderr.decode(errors='replace')[-500:]}")


def _base(d: Path) -> dict[str, Path]:
    """Small, valid originals the hostile files are cut from."""
    src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15:duration=3",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=3"]
    out = {}
    out["mp4"] = d / "base.mp4"
    _ff(*src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(out["mp4"]))
    out["mp4_fast"] = d / "base-faststart.mp4"
    _ff(*src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-movflags", "+faststart", str(out["mp4_fast"]))
    out["mkv"] = d / "base.mkv"
    _ff(*src, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libvorbis", "-shortest",
        str(out["mkv"]))
    out["webm"] = d / "base.webm"
    _ff(*src, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k", "-c:a", "libvorbis",
        "-shortest", str(out["webm"]))
    out["avi"] = d / "base.avi"
    _ff(*src, "-c:v", "mpeg4", "-c:a", "pcm_s16le", "-shortest", str(out["avi"]))
    out["png"] = d / "base.png"
    _ff("-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", str(out["png"]))
    return out


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _hls(target: str) -> str:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30.0,\n{target}\n#EXT-X-ENDLIST\n"


def _dash(target: str) -> str:
    return ('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
            'mediaPresentationDuration="PT3S" minBufferTime="PT1S"><Period><AdaptationSet mimeType="video/mp4">'
            f'<Representation id="1" bandwidth="1000"><BaseURL>{target}</BaseURL></Representation>'
            '</AdaptationSet></Period></MPD>\n')


def _box_offsets(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Top-level MP4 boxes: name -> (offset, size)."""
    out, pos = {}, 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        name = data[pos + 4:pos + 8]
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8:
            break
        out.setdefault(name, (pos, size))
        pos += size
    return out


def _zip_bytes(name: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name, payload)
    return buf.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _y4m(w: int, h: int, rate: str = "25:1", frames: int = 1, frame_bytes: int | None = None) -> bytes:
    head = f"YUV4MPEG2 W{w} H{h} F{rate} Ip A1:1 C420jpeg\n".encode()
    body = b"FRAME\n" + bytes(frame_bytes if frame_bytes is not None else w * h * 3 // 2)
    return head + body * frames


def _patch_avi_size(data: bytes, w: int, h: int) -> bytes:
    """Set the declared video size in an AVI's main header and its video stream's BITMAPINFOHEADER."""
    b = bytearray(data)
    i = b.find(b"avih")
    if i > 0:  # dwWidth / dwHeight at offsets 32 / 36 of the avih body
        struct.pack_into("<II", b, i + 8 + 32, w & 0xFFFFFFFF, h & 0xFFFFFFFF)
    j = b.find(b"strf")
    if j > 0:  # BITMAPINFOHEADER: biSize, biWidth, biHeight
        struct.pack_into("<ii", b, j + 8 + 4, w, h)
    return bytes(b)


def _patch_fourcc(data: bytes, old: bytes, new: bytes) -> bytes:
    return data.replace(old, new)


def generate(out: Path, *, listener_port: int = 9, local_targets: tuple[str, ...] = (),
             per_class: int | None = None) -> list[Case]:
    """Write the hostile corpus under ``out``; ``listener_port`` is a loopback TCP port whose listener
    must never see a connection; ``local_targets`` are paths on this server (another tenant's original).
    ``per_class`` keeps only the first N cases of each class (and skips making the rest)."""
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_base"
    work.mkdir(exist_ok=True)
    base = _base(work)
    mp4, fast, mkv, webm, avi = (base[k].read_bytes() for k in ("mp4", "mp4_fast", "mkv", "webm", "avi"))
    png = base["png"].read_bytes()
    cases: list[Case] = []

    def room(cls: str) -> bool:
        return per_class is None or sum(c.cls == cls for c in cases) < per_class

    def add(cls: str, name: str, data: bytes, expect, note: str = "", filename: str | None = None) -> None:
        if not room(cls):
            return
        d = out / cls
        d.mkdir(exist_ok=True)
        cases.append(Case(cls, _write(d / name, data), frozenset(expect), note, filename))

    # 0. controls: good files that must be processed (so a refusal-happy probe shows up as a failure)
    for k in ("mp4", "mp4_fast", "mkv", "webm", "avi"):
        add("control", base[k].name, base[k].read_bytes(), {"processed"})

    # 1. zero-byte files under every extension a user might use
    for ext in ("mp4", "mov", "mkv", "webm", "avi", "ts", "wav", "mp3", "m4a", "flv", "ogg", "bin", "m3u8", "mpd",
                "y4m", "nut", "mxf", "3gp"):
        add("zero_byte", f"empty.{ext}", b"", {"media.empty"})

    # 2. text and other documents renamed to video
    texts = {
        "readme": b"This is not a video.\n" * 20, "html": b"<!doctype html><html><script>alert(1)</script></html>",
        "json": b'{"video": true, "frames": [1, 2, 3]}', "csv": b"a,b,c\n1,2,3\n" * 50,
        "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "elf": b"\x7fELF\x02\x01\x01" + bytes(200),
        "random": bytes((i * 7919 + 13) % 256 for i in range(4096)), "shell": b"#!/bin/sh\nrm -rf /\n",
        "utf16": "not a video".encode("utf-16"), "svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "zip": _zip_bytes("a.txt", b"hello" * 100), "gzip": zlib.compress(b"x" * 10000),
    }
    for i, (k, data) in enumerate(texts.items()):
        ext = ("mp4", "mkv", "webm", "mov")[i % 4]
        add("text_renamed", f"{k}.{ext}", data, {UNRECOGNIZED})

    # 3. MP4 cut inside its index (faststart: moov first) and inside its media data
    boxes = _box_offsets(fast)
    mo, ms = boxes[b"moov"]
    for frac in (0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 0.95):
        add("truncated_mp4_moov", f"moov-{int(frac * 100)}.mp4", fast[: mo + int(ms * frac)], {TRUNCATED})
    for cut in (8, 16, 24, 40):  # header only, cut inside ftyp, and a few bytes in
        add("truncated_mp4_moov", f"head-{cut}.mp4", fast[:cut], {TRUNCATED, UNRECOGNIZED})
    md, mds = _box_offsets(fast)[b"mdat"]
    for frac in (0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.9, 0.99):
        add("truncated_mp4_mdat", f"fast-mdat-{int(frac * 100)}.mp4", fast[: md + int(mds * frac)], {TRUNCATED})
    md2, mds2 = _box_offsets(mp4)[b"mdat"]
    for frac in (0.1, 0.5, 0.9, 1.0):  # moov at the end: cut in mdat loses the whole index
        add("truncated_mp4_mdat", f"tail-mdat-{int(frac * 100)}.mp4", mp4[: md2 + int(mds2 * frac)], {TRUNCATED})

    # 4. Matroska and WebM cut short
    for label, data in (("mkv", mkv), ("webm", webm)):
        for frac in (0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99):
            add("truncated_mkv_webm", f"{label}-{int(frac * 100)}.{label}", data[: max(4, int(len(data) * frac))],
                {TRUNCATED, CORRUPT, "processed"}, note="Matroska has no total size: a cut file may decode")

    # 5. polyglots: valid PNG and valid MP4 in one file, ZIP + MP4
    add("polyglot", "png-then-mp4.mp4", png + fast, {"media.still_image"})
    add("polyglot", "png-then-mp4.png", png + fast, {"media.still_image"})
    # MP4 first with the PNG appended, and an MP4 carried in a PNG ancillary chunk
    add("polyglot", "mp4-then-png.mp4", fast + png, {"processed"})
    carrier = png[:33] + _png_chunk(b"vIDo", fast) + png[33:]
    add("polyglot", "mp4-in-png-chunk.mp4", carrier, {"media.still_image"})
    add("polyglot", "mp4-then-zip.mp4", fast + _zip_bytes("payload.txt", b"zip" * 1000), {"processed"})
    add("polyglot", "zip-holding-mp4.mp4", _zip_bytes("inner.mp4", fast), {UNRECOGNIZED})
    add("polyglot", "zip-then-mp4.mp4", _zip_bytes("a.txt", b"a" * 100) + fast, {UNRECOGNIZED})
    add("polyglot", "mkv-then-zip.mkv", mkv + _zip_bytes("payload.txt", b"zip" * 1000), {"processed"})
    add("polyglot", "html-mp4.mp4", fast + b"<html><script>alert(1)</script></html>", {"processed"})
    add("polyglot", "hls-after-mp4.mp4", fast + _hls("file:///etc/passwd").encode(), {"processed"})

    # 6. playlists and lists naming local files and loopback URLs
    listener = f"http://127.0.0.1:{listener_port}"
    targets = {"passwd": "/etc/passwd", "file-passwd": "file:///etc/passwd", "proc-environ": "/proc/self/environ",
               "proc-maps": "file:/proc/self/maps", "http": f"{listener}/seg.ts", "rel": "../../../../etc/hosts",
               "tcp": f"tcp://127.0.0.1:{listener_port}", "data": "data:video/mp4;base64,AAAA"}
    for i, t in enumerate(local_targets):
        targets[f"tenant-{i}"] = t
        targets[f"tenant-url-{i}"] = f"file://{t}"
    for k, t in targets.items():
        add("playlist", f"hls-{k}.m3u8", _hls(t).encode(), {PLAYLIST})
        add("playlist", f"hls-{k}.mp4", _hls(t).encode(), {PLAYLIST})
    for k in ("passwd", "http", "proc-environ"):
        add("playlist", f"concat-{k}.txt", f"ffconcat version 1.0\nfile '{targets[k]}'\n".encode(), {PLAYLIST})
        add("playlist", f"dash-{k}.mpd", _dash(targets[k]).encode(), {PLAYLIST})
    add("playlist", "hls-bom-crlf.mp4", b"\xef\xbb\xbf" + _hls(listener + "/x.ts").replace("\n", "\r\n").encode(),
        {PLAYLIST})
    add("playlist", "hls-late-header.mp4", b"\n" * 50 + b"   " + _hls(listener + "/x.ts").encode(), {PLAYLIST})
    add("playlist", "sdp.mp4", f"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=video {listener_port} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n".encode(), {PLAYLIST, UNRECOGNIZED})

    # 7. bare URLs and paths as the whole file, and hostile upload file names
    for k in ("file:///etc/passwd", f"{listener}/video.mp4", "/proc/self/environ", "file:/proc/self/cmdline",
              f"rtmp://127.0.0.1:{listener_port}/live", "subfile,,start,0,end,0,,:/etc/passwd",
              f"concat:/etc/passwd|{listener}/x", "../../../../etc/shadow"):
        safe = "".join(c if c.isalnum() else "_" for c in k)[:40]
        add("url_and_path", f"url-{safe}.mp4", k.encode() + b"\n", {UNRECOGNIZED, PLAYLIST})
    for name in ("../../../../etc/passwd.mp4", "/proc/self/environ.mp4", f"file:{listener}.mp4",
                 "..\\..\\windows\\x.mp4", "a\x1b[31mred.mp4", "<script>alert(1)</script>.mp4"):
        add("url_and_path", f"named-{len(cases)}.mp4", fast, {"processed"}, filename=name)

    # 8. dimension bombs: 65535x65535 declared
    add("dimension_bomb", "y4m-65535.y4m", _y4m(65535, 65535, frame_bytes=64),
        {"media.invalid_dimensions", "media.resolution_exceeded", TRUNCATED})
    add("dimension_bomb", "y4m-65535.mp4", _y4m(65535, 65535, frame_bytes=64),
        {"media.invalid_dimensions", "media.resolution_exceeded", TRUNCATED})
    add("dimension_bomb", "y4m-65535x2.y4m", _y4m(65535, 2, frame_bytes=64),
        {"media.invalid_dimensions", "media.resolution_exceeded", TRUNCATED})
    add("dimension_bomb", "y4m-2x65535.y4m", _y4m(2, 65535, frame_bytes=64),
        {"media.invalid_dimensions", "media.resolution_exceeded", TRUNCATED})
    add("dimension_bomb", "y4m-100000.y4m", _y4m(100000, 100000, frame_bytes=64), {"media.invalid_dimensions"})
    add("dimension_bomb", "y4m-0x0.y4m", _y4m(0, 0, frame_bytes=64), {"media.invalid_dimensions"})
    raw_avi = work / "raw.avi"  # rawvideo: the decoder takes its size from the container's header
    _ff("-f", "lavfi", "-i", "testsrc2=size=16x16:rate=5:duration=1", "-c:v", "rawvideo", "-pix_fmt", "bgr24",
        str(raw_avi))
    for w, h in ((65535, 65535), (65535, 16), (16, 65535), (40000, 40000), (-65535, 65535), (0, 0)):
        add("dimension_bomb", f"avi-raw-{w}x{h}.avi", _patch_avi_size(raw_avi.read_bytes(), w, h),
            {"media.invalid_dimensions", "media.resolution_exceeded"})
    for w, h in ((65535, 65535), (0, 0)):  # MPEG-4 Part 2: the bitstream's own size wins over the header
        add("dimension_bomb", f"avi-mpeg4-{w}x{h}.avi", _patch_avi_size(avi, w, h),
            {"processed", "media.invalid_dimensions", "media.resolution_exceeded"},
            note="the decoder uses the coded size (160x120) from the bitstream")
    for w, h in ((65535, 65535), (8192, 8192)):
        # H.264 decoders read the size from the SPS, not the container: the declared size must still
        # be refused before anything allocates a frame of it
        data = bytearray(fast)
        i = data.find(b"tkhd")
        if i > 0:
            struct.pack_into(">II", data, i + 4 + 76, w << 16, h << 16)
        add("dimension_bomb", f"mp4-tkhd-{w}x{h}.mp4", bytes(data),
            {"processed", "media.invalid_dimensions", "media.resolution_exceeded"},
            note="tkhd is the display size; the coded size (160x120) is what is decoded")

    # 9. decompression bombs: tiny files declaring hours of frames
    bombs = work / "bombs"
    bombs.mkdir(exist_ok=True)
    for hours, ext, codec in ((5, "mkv", "libx264"), (24, "mp4", "libx264"), (5, "webm", "libvpx")):
        if not room("decompression_bomb"):
            break
        p = bombs / f"{hours}h.{ext}"
        extra = ["-deadline", "realtime", "-cpu-used", "8"] if codec == "libvpx" else ["-preset", "ultrafast"]
        _ff("-f", "lavfi", "-i", f"color=c=black:size=32x32:rate=1/120:duration={hours * 3600}",
            "-c:v", codec, *extra, "-r", "1/120", str(p))
        add("decompression_bomb", p.name, p.read_bytes(), {"media.duration_exceeded"})
    # the same idea by header: a small file whose mvhd/mdhd claim a huge duration
    for label, scale in (("x1000", 1000), ("x100000", 100000)):
        data = bytearray(fast)
        for box in (b"mvhd", b"mdhd"):
            pos = 0
            while (i := data.find(box, pos)) > 0:
                # version 0: timescale at +12 from the box type, duration at +16
                dur = struct.unpack_from(">I", data, i + 4 + 16)[0]
                struct.pack_into(">I", data, i + 4 + 16, min(0xFFFFFFFF, dur * scale))
                pos = i + 4
        add("decompression_bomb", f"mp4-duration-{label}.mp4", bytes(data),
            {"media.duration_exceeded", TRUNCATED, CORRUPT, "processed"})
    add("decompression_bomb", "y4m-1M-frames-declared.y4m",
        _y4m(16, 16, rate="1000000:1", frames=2), {"processed", "media.invalid_frame_rate", TRUNCATED})
    add("decompression_bomb", "wav-huge-header.wav",
        b"RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00"
        b"\x02\x00\x10\x00data\xff\xff\xff\xff" + bytes(16000),
        {"processed", "media.duration_exceeded", TRUNCATED, CORRUPT})

    # 10. thousands of streams
    for n in (17, 200, 999):
        if not room("many_streams"):
            break
        p = work / f"streams-{n}.mkv"
        maps = []
        for _ in range(n):
            maps += ["-map", "0:a"]
        _ff("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.2", *maps, "-c:a", "pcm_s16le", str(p))
        add("many_streams", p.name, p.read_bytes(), {"media.too_many_streams"})
    for n in (300, 1000):
        if not room("many_streams"):
            break
        p = work / f"streams-{n}.nut"
        _ff("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.2", *(["-map", "0:a"] * n), "-c:a",
            "pcm_s16le", str(p))
        add("many_streams", p.name, p.read_bytes(), {"media.too_many_streams"})

    # 11. absurd and zero frame rates
    for rate in ("0:1", "1:0", "0:0", "1000000:1", "100000:1", "1:1000000", "2147483647:1", "1:2147483647"):
        add("frame_rate", f"y4m-{rate.replace(':', '-')}.y4m", _y4m(32, 32, rate=rate, frames=3),
            {"processed", "media.invalid_frame_rate", "media.duration_exceeded"})
    for rate in ("1000", "0.001"):
        if not room("frame_rate"):
            break
        p = work / f"rate-{rate}.mkv"
        _ff("-f", "lavfi", "-i", "testsrc2=size=32x32:rate=25:duration=1", "-c:v", "libx264", "-preset",
            "ultrafast", "-r", rate, "-t", "1" if rate == "1000" else "3000", str(p))
        add("frame_rate", p.name, p.read_bytes(), {"processed", "media.invalid_frame_rate"})
    data = bytearray(fast)  # mdhd timescale of the video track set to 1: every frame lasts seconds
    i = data.find(b"mdhd")
    if i > 0:
        struct.pack_into(">I", data, i + 4 + 12, 1)
    add("frame_rate", "mp4-timescale-1.mp4", bytes(data),
        {"processed", "media.invalid_frame_rate", "media.duration_exceeded", TRUNCATED})

    # 12. corrupt frames in the middle of a good file
    for label, data, ext in (("mp4", fast, "mp4"), ("mkv", mkv, "mkv"), ("webm", webm, "webm"), ("avi", avi, "avi")):
        for k, (frac, length, byte) in enumerate(((0.5, 2000, 0x00), (0.5, 4000, 0xFF), (0.6, 500, 0x47),
                                                   (0.4, 8000, None))):
            b = bytearray(data)
            start = int(len(b) * frac)
            for j in range(start, min(len(b), start + length)):
                b[j] = ((j * 2654435761) >> 7) & 0xFF if byte is None else byte
            add("corrupt_middle", f"{label}-{k}.{ext}", bytes(b), {"processed", CORRUPT})

    # 13. huge metadata and attachment streams
    big = work / "big.bin"
    big.write_bytes(bytes(range(256)) * 4096 * 8)  # 8 MiB
    for label, size in (("title-64k", 64 * 1024), ("title-1m", 1024 * 1024)):
        if not room("huge_metadata"):
            break
        p = work / f"meta-{label}.mkv"
        meta = work / f"meta-{label}.txt"
        meta.write_text(f";FFMETADATA1\ntitle={'A' * size}\ncomment={'<script>x</script>' * 10}\n")
        _ff("-i", str(base["mkv"]), "-f", "ffmetadata", "-i", str(meta), "-map", "0", "-map_metadata", "1",
            "-c", "copy", str(p))
        add("huge_metadata", p.name, p.read_bytes(), {"processed"})
    for n in (1, 8):
        if not room("huge_metadata"):
            break
        p = work / f"attach-{n}.mkv"
        args = []
        for k in range(n):
            args += ["-attach", str(big), f"-metadata:s:t:{k}", "mimetype=application/octet-stream",
                     f"-metadata:s:t:{k}", f"filename=a{k}.bin"]
        _ff("-i", str(base["mkv"]), "-c", "copy", "-map", "0", *args, str(p))
        add("huge_metadata", p.name, p.read_bytes(), {"processed"})
    if room("huge_metadata"):
        p = work / "attach-20.mkv"
        args = []
        for k in range(20):
            args += ["-attach", str(base["png"]), f"-metadata:s:t:{k}", "mimetype=image/png"]
        _ff("-i", str(base["mkv"]), "-c", "copy", "-map", "0", *args, str(p))
        add("huge_metadata", p.name, p.read_bytes(), {"media.too_many_streams"})
    data = bytearray(fast)  # an mp4 with a 4 MiB udta/meta-like free-form box in moov's place
    add("huge_metadata", "mp4-huge-free-box.mp4",
        bytes(data) + struct.pack(">I", 8 + 4 * 1024 * 1024) + b"free" + bytes(4 * 1024 * 1024), {"processed"})

    # 14. subtitle streams carrying <script> and terminal escape sequences
    evil = ["<script>alert(document.cookie)</script>", "\x1b]0;pwned\x07\x1b[2J\x1b[31mRED",
            "<img src=x onerror=alert(1)>", "\x1b[6n\x1bP+q\x1b\\", "{\\an8}<font color=red>x</font>"]
    for k, text in enumerate(evil):
        if not room("subtitle_injection"):
            break
        srt = work / f"sub-{k}.srt"
        srt.write_text(f"1\n00:00:00,000 --> 00:00:02,000\n{text}\n\n")
        for ext in ("mkv", "mp4"):
            p = work / f"sub-{k}.{ext}"
            codec = "mov_text" if ext == "mp4" else "srt"
            _ff("-i", str(base["mp4_fast"] if ext == "mp4" else base["mkv"]), "-i", str(srt), "-map", "0", "-map",
                "1", "-c", "copy", "-c:s", codec, "-metadata", f"title={text}", str(p))
            add("subtitle_injection", p.name, p.read_bytes(), {"processed"})

    # 15. codecs FFmpeg does not know (or cannot decode)
    add("unsupported_codec", "avi-fourcc-zzzz.avi", _patch_fourcc(avi, b"FMP4", b"ZZZZ").replace(b"XVID", b"ZZZZ")
        .replace(b"DIVX", b"ZZZZ"), {"media.unsupported_codec"})
    if room("unsupported_codec"):
        wav = work / "a.wav"
        _ff("-f", "lavfi", "-i", "sine=duration=1:sample_rate=8000", str(wav))
        w = bytearray(wav.read_bytes())
        struct.pack_into("<H", w, 20, 0x7777)  # WAVE_FORMAT tag no codec has
        add("unsupported_codec", "wav-format-7777.wav", bytes(w), {"media.unsupported_codec"})
    for tag in (b"avc1", b"mp4a"):
        add("unsupported_codec", f"mp4-{tag.decode()}-renamed.mp4", fast.replace(tag, b"qqqq"),
            {"media.unsupported_codec", "media.no_usable_stream", "processed"})
    for codec, ext in (("mjpeg", "avi"), ("ffv1", "mkv"), ("rawvideo", "nut")):  # known and decodable
        if not room("unsupported_codec"):
            break
        p = work / f"codec-{codec}.{ext}"
        _ff("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1", "-c:v", codec, str(p))
        add("unsupported_codec", p.name, p.read_bytes(), {"processed"}, note="unusual but supported")
    return cases
