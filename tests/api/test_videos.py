"""Upload, process, read, update, download and delete videos through the API."""

from __future__ import annotations

import pytest

from tests.conftest import drain, upload
from tests.media import make_video


@pytest.fixture
def sample(tmp_path):
    return make_video(tmp_path / "clip.mp4", seconds=3)


def test_upload_process_ready_with_artifacts(client, platform, tenant_a, sample):
    r = upload(client, tenant_a, sample, title="First clip", tags="demo, test", language="en")
    assert r.status_code == 201, r.text
    video = r.json()
    assert video["status"] == "queued" and video["title"] == "First clip"
    assert video["tags"] == ["demo", "test"] and video["language"] == "en"
    assert abs(video["duration_s"] - 3.0) < 0.2 and video["width"] == 320

    assert drain(platform) == 3
    detail = client.get(f"/api/v1/videos/{video['id']}", headers=tenant_a.headers).json()
    assert detail["status"] == "ready"
    assert [s["status"] for s in detail["job"]["stages"]] == ["succeeded"] * 3
    assert detail["job"]["progress"] == 1.0
    names = {a["name"] for a in detail["artifacts"]}
    assert names == {"probe.json", "audio.wav", "poster.jpg", "thumb.jpg"}

    wav = next(a for a in detail["artifacts"] if a["name"] == "audio.wav")
    link = client.get(f"/api/v1/videos/{video['id']}/artifacts/{wav['id']}/download", headers=tenant_a.headers).json()
    body = client.get(link["url"].replace("http://127.0.0.1:8000", "")).content
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    # 16 kHz mono 16-bit: 3 s of audio is about 96 kB
    assert 80_000 < len(body) < 110_000

    orig = client.get(f"/api/v1/videos/{video['id']}/download", headers=tenant_a.headers).json()
    got = client.get(orig["url"].replace("http://127.0.0.1:8000", ""), headers={"Range": "bytes=0-99"})
    assert got.status_code == 206 and len(got.content) == 100


def test_list_filter_sort_paginate_patch(client, platform, tenant_a, tmp_path):
    for i in range(3):
        path = make_video(tmp_path / f"v{i}.mp4", seconds=1 + i, tone_hz=300 + 100 * i)
        assert upload(client, tenant_a, path, title=f"clip {i}", tags="odd" if i % 2 else "even").status_code == 201
    h = tenant_a.headers
    page1 = client.get("/api/v1/videos?limit=2&sort=title", headers=h).json()
    assert [v["title"] for v in page1["items"]] == ["clip 0", "clip 1"] and page1["next_cursor"]
    page2 = client.get(f"/api/v1/videos?limit=2&sort=title&cursor={page1['next_cursor']}", headers=h).json()
    assert [v["title"] for v in page2["items"]] == ["clip 2"] and page2["next_cursor"] is None
    assert [v["title"] for v in client.get("/api/v1/videos?tag=odd", headers=h).json()["items"]] == ["clip 1"]
    longest = client.get("/api/v1/videos?sort=-duration_s&limit=1", headers=h).json()["items"][0]
    assert longest["title"] == "clip 2"
    vid = longest["id"]
    r = client.patch(f"/api/v1/videos/{vid}", headers=h, json={"title": "renamed", "tags": ["x"]})
    assert r.status_code == 200 and r.json()["title"] == "renamed" and r.json()["tags"] == ["x"]
    assert client.patch(f"/api/v1/videos/{vid}", headers=h, json={"status": "ready"}).status_code == 422
    assert client.get("/api/v1/videos?q=renam", headers=h).json()["items"][0]["id"] == vid
    assert client.get("/api/v1/videos?cursor=garbage", headers=h).json()["code"] == "request.invalid_cursor"


def test_duplicate_upload_is_detected_within_tenant_only(client, platform, tenant_a, tenant_b, sample):
    first = upload(client, tenant_a, sample).json()
    dup = upload(client, tenant_a, sample)
    assert dup.status_code == 409
    assert dup.json()["code"] == "video.duplicate" and dup.json()["existing_id"] == first["id"]
    assert upload(client, tenant_b, sample).status_code == 201


def test_delete_removes_rows_and_blobs(client, platform, tenant_a, sample):
    vid = upload(client, tenant_a, sample).json()["id"]
    drain(platform)
    from clipdex.storage import keys

    prefix = keys.video_prefix(tenant_a.id, vid)
    assert len(list(platform.blobs.list_prefix(prefix))) == 5
    assert client.delete(f"/api/v1/videos/{vid}", headers=tenant_a.headers).status_code == 204
    assert list(platform.blobs.list_prefix(prefix)) == []
    assert client.get(f"/api/v1/videos/{vid}", headers=tenant_a.headers).status_code == 404
    assert client.get("/api/v1/jobs", headers=tenant_a.headers).json()["items"] == []
    usage = client.get("/api/v1/usage", headers=tenant_a.headers).json()
    assert usage["storage_bytes"] == 0
