"""Bad uploads: each refused with its own stable code, nothing kept, the service still healthy.

Every file here is made by the test (FFmpeg lavfi, hand-written headers); nothing is downloaded.
"""

from __future__ import annotations

import select
import subprocess
import threading
import time
import uuid

import pytest

from clipdex.app import create_app
from clipdex.models import Video
from tests.api.ingest_support import (add_tier, assert_nothing_kept, assert_problem, kept, live_server,
                                      problem_of, raw_connection, read_response)
from tests.conftest import drain, new_tenant, upload
from tests.media import FFMPEG, absurd_dimensions, make_video, oversized_dimensions, truncated_copy

# A tier like "pro" but with a duration limit small enough for generated clips to exceed.
MAX_DURATION_S = 2.0


def _png(path):
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=1",
                    "-frames:v", "1", "-f", "image2", "-c:v", "png", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-media")
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("Quarterly report\nThis is a text file with a video extension.\n" * 40)
    truncated_copy(make_video(d / "full.mp4", seconds=2), d / "cut.mp4", 0.5)
    png = _png(d / "still.png")
    (d / "still.mp4").write_bytes(png.read_bytes())
    return {
        "empty": d / "empty.mp4",
        "unrecognized": d / "notes.mp4",
        "truncated": d / "cut.mp4",
        "invalid_dimensions": absurd_dimensions(d / "absurd.y4m"),
        "resolution_exceeded": oversized_dimensions(d / "wide.y4m"),
        "still_image": d / "still.mp4",
        "duration_exceeded": make_video(d / "long.mp4", seconds=MAX_DURATION_S + 2, size="160x120"),
        "good": make_video(d / "good.mp4", seconds=1, size="160x120", tone_hz=523),
    }


BAD = ["empty", "unrecognized", "truncated", "invalid_dimensions", "resolution_exceeded", "still_image",
       "duration_exceeded"]


def _refused_and_nothing_kept(platform, client, t, path, code) -> None:
    assert_problem(upload(client, t, path, title="should not exist"), 422, code)
    assert_nothing_kept(platform, t.id)
    assert client.get("/api/v1/videos", headers=t.headers).json()["items"] == []
    assert client.get("/api/v1/jobs", headers=t.headers).json()["items"] == []
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("kind", BAD)
def test_bad_upload_is_refused_with_its_code_and_nothing_is_kept(sq, media, kind):
    platform, client = sq
    add_tier(platform, "short", max_duration_s=MAX_DURATION_S)
    t = new_tenant(platform, client, "Bad", tier="short")

    _refused_and_nothing_kept(platform, client, t, media[kind], f"media.{kind}")

    # the refusal cost nothing else: a normal upload goes through
    ok = upload(client, t, media["good"])
    assert ok.status_code == 201, ok.text
    assert ok.json()["status"] == "queued"


def test_bad_uploads_in_a_row_on_each_backend(client, platform, media):
    add_tier(platform, "short", max_duration_s=MAX_DURATION_S)
    t = new_tenant(platform, client, "Row", tier="short")
    for kind in BAD:
        _refused_and_nothing_kept(platform, client, t, media[kind], f"media.{kind}")
    assert upload(client, t, media["good"]).status_code == 201
    assert kept(platform, t.id)["videos"] == 1


def _drain_bounded(platform, timeout_s: float = 120) -> None:
    """Drain in a thread so a hung stage fails the test instead of hanging it."""
    worker = threading.Thread(target=drain, args=(platform,), daemon=True)
    worker.start()
    worker.join(timeout_s)
    assert not worker.is_alive(), "processing did not finish: a stage hangs on damaged media"


DAMAGED = ("media.truncated", "media.corrupt")


@pytest.fixture(scope="module")
def faststart(tmp_path_factory):
    d = tmp_path_factory.mktemp("faststart")
    return {audio: make_video(d / f"fs-{audio}.mp4", seconds=3, faststart=True, audio=audio)
            for audio in (True, False)}


@pytest.mark.parametrize("fraction", [0.75, 0.97])
@pytest.mark.parametrize("audio", [True, False], ids=["av", "video-only"])
def test_faststart_mp4_cut_short_is_refused_or_fails_readably(sq, faststart, tmp_path, fraction, audio):
    """The index (moov) is up front, so probing alone may not notice the missing tail."""
    platform, client = sq
    platform.settings.ffmpeg_timeout_s = 60
    t = new_tenant(platform, client, "Cut")
    cut = truncated_copy(faststart[audio], tmp_path / "cut.mp4", fraction)

    r = upload(client, t, cut)

    if r.status_code != 201:
        assert_problem(r, 422, codes=DAMAGED)
        assert_nothing_kept(platform, t.id)
        return
    video_id = r.json()["id"]
    _drain_bounded(platform)
    detail = client.get(f"/api/v1/videos/{video_id}", headers=t.headers).json()
    assert detail["status"] == "failed", detail
    assert detail["error_code"] in DAMAGED
    assert detail["job"]["status"] == "failed" and detail["job"]["error_code"] in DAMAGED
    assert len(detail["error_message"]) > 10 and "/" not in detail["error_message"]


def test_stored_original_cut_short_after_acceptance_fails_the_job(sq, faststart):
    """Whatever passed at upload, the worker's own probe and decode must catch a damaged original."""
    platform, client = sq
    t = new_tenant(platform, client, "Late")
    full = faststart[True]
    r = upload(client, t, full)
    assert r.status_code == 201, r.text
    with platform.db.tenant(t.id) as s:
        key = s.get(Video, uuid.UUID(r.json()["id"])).blob_key
    stored = platform.blobs.absolute(key)
    stored.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.9)])

    _drain_bounded(platform)
    detail = client.get(f"/api/v1/videos/{r.json()['id']}", headers=t.headers).json()
    assert detail["status"] == "failed" and detail["error_code"] in DAMAGED, detail
    failed = [st for st in detail["job"]["stages"] if st["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error_message"]


# --- size limits -------------------------------------------------------------------------------

SMALL_LIMIT = 256 * 1024


def test_upload_over_the_tier_limit_is_refused_413(sq, tmp_path):
    platform, client = sq
    add_tier(platform, "small", max_upload_bytes=SMALL_LIMIT)
    t = new_tenant(platform, client, "Big", tier="small")
    big = tmp_path / "big.mp4"
    big.write_bytes(bytes(SMALL_LIMIT + 1024))

    r = upload(client, t, big)

    body = assert_problem(r, 413, "upload.too_large")
    assert str(SMALL_LIMIT) in body["detail"]
    assert_nothing_kept(platform, t.id)


def _request_head(token: str, extra: str) -> bytes:
    return (f"POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary=clipdexboundary\r\n{extra}\r\n").encode()


def test_declared_content_length_over_the_limit_is_refused_before_reading(sq):
    """Only headers are sent: an answer proves the server decided without waiting for the body."""
    platform, client = sq
    add_tier(platform, "small", max_upload_bytes=SMALL_LIMIT)
    t = new_tenant(platform, client, "Declared", tier="small")
    app = create_app(platform=platform, embedded_workers=0)

    with live_server(app) as port, raw_connection(port) as sock:
        sock.sendall(_request_head(t.token, f"Content-Length: {10**9}\r\n"))
        status, headers, body = read_response(sock)  # times out (fails) if the server waits for the body

    assert status == 413 and headers["content-type"].startswith("application/problem+json")
    assert problem_of(body)["code"] == "upload.too_large"
    assert_nothing_kept(platform, t.id)


def test_streamed_upload_without_length_is_cut_off_at_the_limit(sq):
    """Chunked body, no Content-Length: the server must stop reading once the limit is passed."""
    platform, client = sq
    add_tier(platform, "small", max_upload_bytes=SMALL_LIMIT)
    t = new_tenant(platform, client, "Stream", tier="small")
    app = create_app(platform=platform, embedded_workers=0)
    total = 64 * 1024 * 1024
    block = bytes(64 * 1024)
    staging = platform.settings.staging_dir

    def chunk(data: bytes) -> bytes:
        return b"%x\r\n" % len(data) + data + b"\r\n"

    with live_server(app) as port, raw_connection(port) as sock:
        sock.sendall(_request_head(t.token, "Transfer-Encoding: chunked\r\n"))
        sock.sendall(chunk(b"--clipdexboundary\r\nContent-Disposition: form-data; name=\"file\"; "
                           b"filename=\"endless.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"))
        sent, staged_seen = 0, False
        how = "read everything"
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                how = "answered"
                break  # the server answered early
            try:
                sock.sendall(chunk(block))
            except (BrokenPipeError, ConnectionResetError) as e:
                how = repr(e)
                break
            sent += len(block)
            if not staged_seen and sent >= SMALL_LIMIT // 2:
                deadline = time.monotonic() + 5
                while not (staged_seen := any(staging.glob("upload-*"))) and time.monotonic() < deadline:
                    time.sleep(0.01)
        else:
            sock.sendall(chunk(b"\r\n--clipdexboundary--\r\n") + b"0\r\n\r\n")
        status, headers, body = read_response(sock)

    assert staged_seen, "the upload was never staged while it streamed"
    assert status == 413, body
    assert problem_of(body)["code"] == "upload.too_large"
    assert sent < total // 4, f"the server kept reading ({how}): {sent} bytes sent, limit {SMALL_LIMIT}"
    assert_nothing_kept(platform, t.id)  # the staged part was deleted
    assert client.get("/healthz").status_code == 200


# --- problem+json ------------------------------------------------------------------------------

def test_rejections_are_problem_json_without_paths(sq, media):
    platform, client = sq
    t = new_tenant(platform, client, "Shape")
    h = t.headers
    cases = [
        (upload(client, t, media["unrecognized"]), 422, "media.unrecognized"),
        (client.post("/api/v1/videos", headers=h, content=b"x", params={}), 415, "upload.bad_content_type"),
        (client.post("/api/v1/videos", headers=h, data={"title": "no file"}, files={"other": ("a.txt", b"x")}),
         400, "upload.missing_file"),
        (client.post("/api/v1/videos", headers={**h, "Content-Type": "multipart/form-data; boundary=zz"},
                     content=b"--zz\r\ngarbage without headers end"), 400, None),
        (client.post("/api/v1/videos", files={"file": ("a.mp4", b"x")}), 401, "auth.unauthenticated"),
    ]
    for r, status, code in cases:
        assert_problem(r, status, code, codes=() if code else ("upload.malformed", "upload.missing_file"))
    assert_nothing_kept(platform, t.id)
