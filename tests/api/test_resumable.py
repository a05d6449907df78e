"""Resumable uploads over tus 1.0.0, and the job's progress as server-sent events."""

from __future__ import annotations

import base64
import hashlib
import json
import threading

import pytest

from tests.api.ingest_support import add_tier, assert_nothing_kept, assert_problem
from tests.conftest import drain, new_tenant, upload
from tests.media import make_video

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("tus") / "clip.mp4", seconds=2, tone_hz=660)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(client, t, length: int, *, filename="holiday.mp4", title="Resumed upload", headers=None):
    h = {**t.headers, **TUS, "Upload-Length": str(length),
         "Upload-Metadata": f"filename {_b64(filename)},title {_b64(title)}", **(headers or {})}
    return client.post("/api/v1/uploads", headers=h)


def patch(client, t, location: str, offset: int, data: bytes, *, headers=None):
    h = {**t.headers, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
         **(headers or {})}
    return client.patch(location, headers=h, content=data)


def _tus_files(platform) -> list[str]:
    d = platform.settings.staging_dir / "tus"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_discovery_headers(sq):
    platform, client = sq
    t = new_tenant(platform, client, "Disco")
    r = client.options("/api/v1/uploads", headers=t.headers)
    assert r.status_code == 204
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert "1.0.0" in r.headers["Tus-Version"].split(",")
    assert {"creation", "termination"} <= set(r.headers["Tus-Extension"].split(","))
    assert int(r.headers["Tus-Max-Size"]) == platform.settings.tier("pro").max_upload_bytes


def test_upload_in_two_chunks_with_resume_then_process(client, platform, tenant_a, tenant_b, clip):
    data = clip.read_bytes()
    half = len(data) // 2

    r = create(client, tenant_a, len(data))
    assert r.status_code == 201, r.text
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Upload-Offset"] == "0"
    assert r.headers["Upload-Expires"].endswith("GMT")
    location = r.headers["Location"]
    assert location.startswith("/api/v1/uploads/")

    first = patch(client, tenant_a, location, 0, data[:half])
    assert first.status_code == 204, first.text
    assert first.headers["Upload-Offset"] == str(half) and "Clipdex-Video-Id" not in first.headers

    # the connection "dropped": the client asks where to resume
    head = client.head(location, headers={**tenant_a.headers, **TUS})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(half) and head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    # another tenant cannot see or continue it
    assert client.head(location, headers={**tenant_b.headers, **TUS}).status_code == 404
    assert_problem(patch(client, tenant_b, location, half, data[half:]), 404, "resource.not_found")

    # a client that lost track of the offset is told where the server is
    stale = patch(client, tenant_a, location, 0, data[:half])
    assert_problem(stale, 409, "upload.offset_mismatch")
    assert stale.headers["Upload-Offset"] == str(half)
    state = client.get(location, headers=tenant_a.headers).json()
    assert state["offset"] == half and state["status"] == "open" and state["video_id"] is None

    rest = patch(client, tenant_a, location, int(head.headers["Upload-Offset"]), data[half:])
    assert rest.status_code == 204, rest.text
    assert rest.headers["Upload-Offset"] == str(len(data))
    video_id = rest.headers["Clipdex-Video-Id"]
    state = client.get(location, headers=tenant_a.headers).json()
    assert state["status"] == "completed" and state["video_id"] == video_id
    assert _tus_files(platform) == []  # the staged bytes moved into storage

    video = client.get(f"/api/v1/videos/{video_id}", headers=tenant_a.headers).json()
    assert video["source"] == "resumable" and video["title"] == "Resumed upload"
    assert video["filename"] == "holiday.mp4" and video["size_bytes"] == len(data)
    assert video["sha256"] == hashlib.sha256(data).hexdigest()

    assert drain(platform) == 3
    video = client.get(f"/api/v1/videos/{video_id}", headers=tenant_a.headers).json()
    assert video["status"] == "ready" and abs(video["duration_s"] - 2.0) < 0.2
    assert {a["name"] for a in video["artifacts"]} >= {"probe.json", "audio.wav", "poster.jpg"}

    assert_problem(patch(client, tenant_a, location, len(data), b"more"), 409, "upload.finished")


def test_bad_media_via_tus_is_refused_and_the_session_fails(sq):
    platform, client = sq
    t = new_tenant(platform, client, "TusBad")
    data = b"This is a spreadsheet export, not a video.\n" * 50
    location = create(client, t, len(data), filename="report.mp4").headers["Location"]

    r = patch(client, t, location, 0, data)

    assert_problem(r, 422, "media.unrecognized")
    state = client.get(location, headers=t.headers).json()
    assert state["status"] == "failed" and state["video_id"] is None
    assert_nothing_kept(platform, t.id)
    assert _tus_files(platform) == []
    assert_problem(patch(client, t, location, len(data), b"x"), 409, "upload.finished")


def test_termination_removes_the_session_and_its_bytes(sq, clip):
    platform, client = sq
    t = new_tenant(platform, client, "Term")
    data = clip.read_bytes()
    location = create(client, t, len(data)).headers["Location"]
    assert patch(client, t, location, 0, data[:1000]).status_code == 204
    assert len(_tus_files(platform)) == 1

    r = client.delete(location, headers={**t.headers, **TUS})

    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert _tus_files(platform) == []
    assert client.head(location, headers={**t.headers, **TUS}).status_code == 404
    assert_problem(client.get(location, headers=t.headers), 404, "resource.not_found")
    assert_problem(patch(client, t, location, 1000, data[1000:]), 404, "resource.not_found")
    assert_nothing_kept(platform, t.id)


def test_protocol_errors(sq, clip):
    platform, client = sq
    add_tier(platform, "small", max_upload_bytes=100_000)
    t = new_tenant(platform, client, "Proto", tier="small")
    data = clip.read_bytes()[:50_000]

    no_version = client.post("/api/v1/uploads", headers={**t.headers, "Upload-Length": "10"})
    assert_problem(no_version, 412, "upload.tus_version")
    assert no_version.headers["Tus-Version"] == "1.0.0"
    assert_problem(create(client, t, 10, headers={"Tus-Resumable": "0.2.2"}), 412, "upload.tus_version")
    assert_problem(client.post("/api/v1/uploads", headers={**t.headers, **TUS}), 400, "upload.length_required")
    assert_problem(create(client, t, 100_001), 413, "upload.too_large")

    location = create(client, t, len(data)).headers["Location"]
    assert_problem(client.patch(location, headers={**t.headers, "Upload-Offset": "0",
                                                   "Content-Type": "application/offset+octet-stream"},
                                content=data), 412, "upload.tus_version")
    assert_problem(patch(client, t, location, 0, data, headers={"Content-Type": "application/octet-stream"}),
                   415, "upload.bad_content_type")
    assert_problem(patch(client, t, location, 0, data, headers={"Upload-Offset": "-1"}), 409,
                   "upload.offset_mismatch")

    # more bytes than declared: refused, and nothing of that body is kept
    assert_problem(patch(client, t, location, 0, data + b"overflow"), 413, "upload.exceeds_length")
    head = client.head(location, headers={**t.headers, **TUS})
    assert head.headers["Upload-Offset"] == "0"
    # the session is still usable with the right bytes (refused at probe: it is half a file)
    assert patch(client, t, location, 0, data[:1000]).headers["Upload-Offset"] == "1000"
    assert_problem(patch(client, t, location, 1000, data[1000:] + b"!"), 413, "upload.exceeds_length")
    assert client.head(location, headers={**t.headers, **TUS}).headers["Upload-Offset"] == "1000"
    assert (platform.settings.staging_dir / "tus" / location.rsplit("/", 1)[1]).stat().st_size == 1000


# --- progress as server-sent events --------------------------------------------------------------

def _events(lines) -> list[tuple[str, dict]]:
    out, event = [], {}
    for line in lines:
        if not line:
            if event:
                out.append((event.get("event", "message"), json.loads(event["data"])))
            event = {}
            continue
        key, _, value = line.partition(":")
        event[key] = value.strip()
    return out


def _job_of(client, t, video_id) -> str:
    return client.get(f"/api/v1/videos/{video_id}", headers=t.headers).json()["job"]["id"]


def test_events_of_a_finished_job(client, platform, tenant_a, tenant_b, clip):
    video_id = upload(client, tenant_a, clip).json()["id"]
    drain(platform)
    job_id = _job_of(client, tenant_a, video_id)

    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=tenant_a.headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.iter_lines())

    assert [name for name, _ in events] == ["progress", "done"]
    (_, progress), (_, done) = events
    assert progress == done
    job = client.get(f"/api/v1/jobs/{job_id}", headers=tenant_a.headers).json()
    assert done["id"] == job_id and done["status"] == job["status"] == "succeeded"
    assert done["progress"] == 1.0 and [s["status"] for s in done["stages"]] == ["succeeded"] * 3
    assert_problem(client.get(f"/api/v1/jobs/{job_id}/events", headers=tenant_b.headers), 404,
                   "resource.not_found")


def test_events_follow_a_running_job_to_done(sq, clip):
    platform, client = sq
    t = new_tenant(platform, client, "Live")
    job_id = _job_of(client, t, upload(client, t, clip).json()["id"])
    worker = None
    events, block = [], []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=t.headers) as r:
        for line in r.iter_lines():
            block.append(line)
            if line == "":
                events += _events(block)
                block = []
                if worker is None:  # start processing only once the stream has shown the queued job
                    worker = threading.Thread(target=drain, args=(platform,), daemon=True)
                    worker.start()
    worker.join(60)
    assert not worker.is_alive()

    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("done") == 1 and len(names) >= 3
    snaps = [snap for _, snap in events]
    assert snaps[0]["status"] == "queued" and snaps[-1]["status"] == "succeeded"
    assert any(s["status"] == "running" for s in snaps)
    progress = [s["progress"] for name, s in events if name == "progress"]
    assert progress == sorted(progress) and progress[-1] == 1.0
