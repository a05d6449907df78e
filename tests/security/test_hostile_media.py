"""Hostile media, one or two files per class, through the real upload API and the real worker.

The full corpus (>= 200 files, 17 classes) is ``bench/hostile.py``; this runs the first file of every
class plus playlists aimed at another tenant's original and at a loopback listener. Each file must
be processed, or refused / failed with the specific code its case names (never a 5xx, never a
generic code), within the probe bound; /healthz answers throughout; nothing connects to the
listener; another tenant's normal upload, sent in the middle, finishes.
"""

from __future__ import annotations

import threading
import time

import pytest

from bench.hostile import HealthProbe, Listener, bystander_upload, hostile_platform, run_cases
from bench.hostile_gen import PLAYLIST, Case, _hls, generate
from clipdex.media import sandbox
from clipdex.media.runner import Limits, run_tool
from tests.conftest import drain
from tests.media import make_video

PROBE_BOUND_S = 10.0  # upload + sandboxed ffprobe, per file (issue 18)
STAGE_BOUND_S = 120.0  # the whole worker run of one accepted file (probe, audio, thumbnail)


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.mark.slow
def test_one_file_per_hostile_class(tmp_path, listener):
    with hostile_platform(tmp_path) as (platform, http, base, attacker, bystander, original):
        cases = generate(tmp_path / "files", listener_port=listener.port, per_class=1)
        assert len({c.cls for c in cases}) >= 17
        for name, target in (("victim-abs.mp4", str(original)), ("victim-url.m3u8", f"file://{original}"),
                             ("listener.mp4", f"http://127.0.0.1:{listener.port}/seg.ts")):
            p = tmp_path / name
            p.write_text(_hls(target))
            cases.append(Case("playlist", p, frozenset({PLAYLIST})))
        health = HealthProbe(base, every_s=0.2)
        normal = make_video(tmp_path / "normal.mp4", seconds=1, size="96x64", tone_hz=330)
        other: dict = {}
        side = threading.Thread(target=bystander_upload, args=(http, bystander, normal, other))

        def progress(i, _res):
            if i == 2:
                side.start()

        results = run_cases(platform, http, attacker, cases, on_progress=progress)
        side.join(timeout=60)
        drain(platform)
        video = http.get(f"/api/v1/videos/{other['id']}", headers=bystander.headers).json()
        health.close()

    bad = [(r.cls, r.name, r.problems) for r in results if not r.ok]
    assert not bad, bad
    slow = [(r.name, r.upload_s) for r in results if r.upload_s > PROBE_BOUND_S]
    assert not slow, f"probe bound exceeded: {slow}"
    assert max(r.worker_s for r in results) < STAGE_BOUND_S
    # the sample covers refusals, worker failures and processed files alike
    assert {"processed", "refused"} <= {r.outcome for r in results}
    assert not listener.connections, f"a media tool connected out: {listener.connections}"
    assert health.failed == 0 and health.ok > 0, health.errors
    assert other["upload_status"] == 201 and video["status"] == "ready", (other, video)


@pytest.mark.skipif(sandbox.abi_version() < 4, reason="Landlock network rules need Linux >= 6.7")
def test_sandbox_blocks_tcp_even_when_ffmpeg_is_told_to_connect(tmp_path, listener):
    """Suppose every other defence failed: FFmpeg is asked to follow an HLS playlist naming a loopback
    listener, with http and tcp allowed. Unsandboxed it connects (the control); sandboxed it cannot."""
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(_hls(f"http://127.0.0.1:{listener.port}/seg.ts"))
    limits = Limits(timeout_s=20, memory_bytes=1024**3)
    args = ["ffprobe", "-v", "error", "-protocol_whitelist", "file,http,tcp,hls", "-f", "hls", f"file:{playlist}"]

    run_tool(args, limits, sandbox.Sandbox(read_files=[playlist], mode="off"))
    deadline = time.monotonic() + 5
    while not listener.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections, "the control run should have reached the listener"

    listener.connections.clear()
    res = run_tool(args, limits, sandbox.Sandbox(read_files=[playlist], mode="required"))
    time.sleep(0.5)
    assert res.returncode != 0
    assert not listener.connections, "the sandboxed tool reached the listener"
    assert "Permission denied" in res.stderr, res.stderr
