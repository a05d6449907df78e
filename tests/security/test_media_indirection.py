"""Untrusted media never names another file (ARCHITECTURE.md invariant 7).

Tenant B uploads playlists, concat lists, manifests and reference movies that name tenant A's stored
original (by file:// URL, absolute and relative path), /etc/passwd or a loopback URL. Each is refused
with its own code before any stage runs, nothing is kept, and the media sandbox makes the other
file unreadable to FFmpeg even when it is asked for it directly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from clipdex.errors import MediaRejected
from clipdex.media import sandbox
from clipdex.media.runner import Limits, run_tool
from clipdex.media.transcode import extract_audio
from clipdex.models import Video
from tests.api.ingest_support import assert_nothing_kept, assert_problem
from tests.conftest import drain, new_tenant, upload
from tests.media import make_video

PLAYLIST = "media.playlist_not_allowed"


def _hls(target: str) -> str:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30.0,\n{target}\n#EXT-X-ENDLIST\n"


def _dash(target: str) -> str:
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="utf-8"?>
        <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S"
             minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
          <Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000">
            <BaseURL>{target}</BaseURL></Representation></AdaptationSet></Period></MPD>
        """)


def _sdp() -> str:  # FFmpeg's SDP demuxer opens RTP sockets: not sniffed by us, refused by the allow-list
    return "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n" \
           "a=rtpmap:96 H264/90000\r\n"


def reference_movie(src: Path, dst: Path) -> Path:
    """A copy of an MP4 whose data reference says the samples live in another file (a QuickTime
    reference movie): the ``url `` entry's self-contained flag cleared."""
    data = bytearray(src.read_bytes())
    i = data.find(b"dref")
    assert i > 0
    j = data.find(b"url ", i)
    assert 0 < j - i < 40
    data[j + 4:j + 8] = b"\x00\x00\x00\x00"  # version 0, flags 0: not in this file
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture
def victim(sq, tmp_path):
    """Tenant A with a processed video, and the paths an attacker would aim at."""
    platform, client = sq
    a = new_tenant(platform, client, "Victim")
    r = upload(client, a, make_video(tmp_path / "secret.mp4", seconds=2, size="160x120", tone_hz=880))
    assert r.status_code == 201, r.text
    drain(platform)
    with platform.db.tenant(a.id) as s:
        key = s.get(Video, uuid.UUID(r.json()["id"])).blob_key
    original = platform.settings.data_dir / "blobs" / key
    assert original.exists()
    return a, original


def _hostile_files(tmp_path: Path, original: Path, staging: Path) -> list[tuple[str, Path, str]]:
    rel = os.path.relpath(original, staging)
    cases: list[tuple[str, Path, str]] = []
    for ext in ("m3u8", "mp4", "txt"):
        for how, target in (("url", f"file://{original}"), ("abs", str(original)), ("rel", rel)):
            p = tmp_path / f"hls-{how}.{ext}"
            p.write_text(_hls(target))
            cases.append((f"hls-{how}-{ext}", p, PLAYLIST))
    for name, text in (("concat.txt", f"ffconcat version 1.0\nfile '{original}'\n"),
                       ("concat.mp4", f"ffconcat version 1.0\nfile 'file:{original}'\n"),
                       ("dash.mpd", _dash(f"file://{original}")),
                       ("dash.mp4", _dash(str(original))),
                       ("passwd.m3u8", _hls("/etc/passwd")),
                       ("proc.m3u8", _hls("/proc/self/environ")),
                       ("http.mp4", _hls("http://127.0.0.1:9/segment.ts")),
                       ("stream.sdp", _sdp())):
        p = tmp_path / name
        p.write_text(text)
        cases.append((name, p, PLAYLIST))
    cases.append(("reference-movie", reference_movie(make_video(tmp_path / "ref-src.mp4", seconds=1, size="96x64"),
                                                     tmp_path / "ref.mov"), "media.external_reference"))
    return cases


@pytest.mark.slow
def test_playlists_and_references_are_refused_before_any_stage(sq, victim, tmp_path):
    platform, client = sq
    a, original = victim
    b = new_tenant(platform, client, "Attacker")
    cases = _hostile_files(tmp_path, original, platform.settings.staging_dir)
    assert len(cases) >= 17
    for name, path, code in cases:
        body = assert_problem(upload(client, b, path), 422, code)
        assert str(a.id) not in str(body) and "blobs" not in str(body), name
        assert_nothing_kept(platform, b.id)
    assert drain(platform) == 0  # nothing was queued for B
    # A is untouched and still complete
    items = client.get("/api/v1/videos", headers=a.headers).json()["items"]
    assert [v["status"] for v in items] == ["ready"]


def test_a_playlist_stored_anyway_fails_in_the_worker_and_reads_nothing(sq, victim, tmp_path):
    """Defence in depth: should a playlist reach the store (an older release, a bug in upload), the
    worker's own probe refuses it, and a decode pinned to the recorded demuxer cannot follow it."""
    platform, _ = sq
    _, original = victim
    hls = tmp_path / "x.mp4"
    hls.write_text(_hls(str(original)))
    with pytest.raises(MediaRejected) as e:
        extract_audio(platform.settings, hls, tmp_path / "out.wav", fmt="mov")
    assert e.value.code == "media.corrupt"
    assert not (tmp_path / "out.wav").exists() or (tmp_path / "out.wav").stat().st_size == 0
    from clipdex.media.formats import pinned
    with pytest.raises(MediaRejected) as e:
        pinned("hls")
    assert e.value.code == "media.format_not_allowed"


@pytest.mark.skipif(sandbox.abi_version() < 1, reason="this kernel has no Landlock")
def test_sandboxed_tool_cannot_read_another_tenants_original(sq, victim, tmp_path):
    """Asked for A's file by name (as a demuxer bug might), FFmpeg gets EACCES from the kernel."""
    platform, _ = sq
    _, original = victim
    own = make_video(tmp_path / "own.mp4", seconds=1, size="96x64")
    limits = Limits(timeout_s=20, memory_bytes=1024**3)
    box = sandbox.Sandbox(read_files=[own], write_dirs=[tmp_path / "out"], mode="required")
    (tmp_path / "out").mkdir()
    ok = run_tool(["ffprobe", "-v", "error", "-show_format", f"file:{own}"], limits, box)
    assert ok.returncode == 0, ok.stderr
    databases = [f"file:{p}" for p in platform.settings.data_dir.glob("*.db")]
    for target in (f"file:{original}", "file:/etc/passwd", *databases):
        res = run_tool(["ffprobe", "-v", "error", "-show_format", target], limits, box)
        assert res.returncode != 0 and "Permission denied" in res.stderr, (target, res.stderr)
    # no network either (Landlock ABI >= 4)
    if sandbox.abi_version() >= 4:
        res = run_tool(["ffprobe", "-v", "error", "http://127.0.0.1:9/x"], limits, box)
        assert "Permission denied" in res.stderr, res.stderr
    # and it writes only into its own output folder
    res = run_tool(["ffmpeg", "-v", "error", "-i", f"file:{own}", "-f", "wav", "-y", f"file:{tmp_path}/x.wav"],
                   limits, box)
    assert res.returncode != 0 and not (tmp_path / "x.wav").exists()


_TRACE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from clipdex.media.formats import pinned
    from clipdex.media.frames import frame_spec, read_frames
    from clipdex.media.probe import probe_file
    from clipdex.media.transcode import extract_audio, still_frame
    from clipdex.settings import Settings

    st = Settings(data_dir=sys.argv[1], secret_key="x" * 40, env="test")
    st.staging_dir.mkdir(parents=True, exist_ok=True)
    src, out = Path(sys.argv[2]), Path(sys.argv[3])
    info = probe_file(src, st)
    fmt = pinned(info.format_name)
    extract_audio(st, src, out / "a.wav", fmt=fmt)
    still_frame(st, src, out / "p.jpg", fmt=fmt, at_s=0.5, width=64)
    n = sum(1 for _ in read_frames(st, src, frame_spec(info.summary(), 64), fmt=fmt))
    print("frames", n)
""")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_media_tools_open_only_their_input_and_system_files(tmp_path):
    """strace every FFmpeg/ffprobe process the pipeline's media functions start: each successful
    open is a system file, its own (private, hard-linked) input, or its output folder."""
    src = make_video(tmp_path / "in.mp4", seconds=1, size="96x64")
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "trace.log"
    run = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open,execve,connect", "-o", str(log),
                          sys.executable, "-c", _TRACE, str(tmp_path / "data"), str(src), str(out)],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0 and "frames" in run.stdout, run.stderr[-2000:]
    tools: set[str] = set()
    opened: list[tuple[str, str]] = []
    for line in log.read_text().splitlines():
        pid = line.split(" ", 1)[0]
        if re.search(r'execve\("[^"]*/(ffmpeg|ffprobe)"', line) and "= 0" in line:
            tools.add(pid)
        m = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*= (\d+)$', line)
        if m and pid in tools:
            opened.append((pid, m.group(1)))
        if pid in tools and "connect(" in line:
            assert "= -1" in line, f"a media tool connected somewhere: {line}"
    assert len(tools) >= 4, "expected ffprobe, two ffmpeg runs and the frame decoder"
    sandbox_root = str(tmp_path / "data" / "staging" / "sandbox")
    allowed = tuple(sandbox.SYSTEM_READ) + (sandbox_root, str(out))
    strays = sorted({p for _, p in opened if not p.startswith(allowed)})
    assert not strays, f"media tools opened files outside their input: {strays}"
    assert any(p.startswith(sandbox_root) for _, p in opened), "inputs are read through the private link"
    assert not any(p == str(src) for _, p in opened), "the tools never see the stored path"
