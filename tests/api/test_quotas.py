"""Tier quotas (storage, processing minutes, concurrent jobs) and the usage they are measured by."""

from __future__ import annotations

import pytest

from clipdex.storage import keys
from tests.api.ingest_support import add_tier, assert_problem, kept
from tests.conftest import drain, new_tenant, upload
from tests.media import make_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("quota")
    return {
        "a": make_video(d / "a.mp4", seconds=2, size="160x120", tone_hz=300),
        "b": make_video(d / "b.mp4", seconds=2, size="160x120", tone_hz=400),
        "short": make_video(d / "short.mp4", seconds=0.5, size="160x120", tone_hz=500),
    }


def _chunked_upload(client, t, path):
    """A multipart upload sent without Content-Length, so only the bytes themselves can be counted."""
    boundary = "quotaboundary"

    def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
               "Content-Type: video/mp4\r\n\r\n").encode()
        yield path.read_bytes()
        yield f"\r\n--{boundary}--\r\n".encode()

    return client.post("/api/v1/videos", content=body(),
                       headers={**t.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})


def _stored_bytes(platform, tenant_id) -> int:
    return sum(platform.blobs.size(k) for k in platform.blobs.list_prefix(keys.tenant_prefix(tenant_id)))


def test_storage_quota_is_refused_before_any_work(sq, clips):
    platform, client = sq
    size_a, size_b = clips["a"].stat().st_size, clips["b"].stat().st_size
    # room for a, not for a + b; nothing processed yet, so stored bytes are the originals only
    add_tier(platform, "tiny-storage", storage_bytes=size_a + size_b - 1)
    t = new_tenant(platform, client, "Store", tier="tiny-storage")
    assert upload(client, t, clips["a"]).status_code == 201
    before = kept(platform, t.id)

    # declared size: refused from the headers alone (the garbage body is never parsed)
    assert_problem(upload(client, t, clips["b"]), 402, "quota.storage_exceeded")
    garbage = client.post("/api/v1/videos", content=b"\0" * size_b, headers={
        **t.headers, "Content-Type": "multipart/form-data; boundary=never-parsed"})
    assert_problem(garbage, 402, "quota.storage_exceeded")
    # no declared size: counted from the bytes, refused before a video exists, the staged file deleted
    assert_problem(_chunked_upload(client, t, clips["b"]), 402, "quota.storage_exceeded")
    assert kept(platform, t.id) == before and before["videos"] == 1 and before["staged"] == []

    # processing adds artifacts; once over the quota, even imports and tus uploads are refused
    drain(platform)
    assert _stored_bytes(platform, t.id) > size_a + size_b
    imp = client.post("/api/v1/videos/import", headers=t.headers, json={"url": "https://example.com/x.mp4"})
    assert_problem(imp, 402, "quota.storage_exceeded")
    tus = client.post("/api/v1/uploads", headers={**t.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert_problem(tus, 402, "quota.storage_exceeded")


def test_processing_minutes_quota(sq, clips):
    platform, client = sq
    add_tier(platform, "tiny-minutes", processing_minutes_per_month=0.05)  # 3 seconds of video
    t = new_tenant(platform, client, "Minutes", tier="tiny-minutes")
    first = upload(client, t, clips["a"]).json()
    drain(platform)
    used = client.get("/api/v1/usage", headers=t.headers).json()["processing_minutes"]
    assert used == pytest.approx(first["duration_s"] / 60, abs=1e-3) and used < 0.05

    refused = upload(client, t, clips["b"])

    body = assert_problem(refused, 402, "quota.processing_minutes_exceeded")
    assert "minutes" in body["detail"]
    assert kept(platform, t.id)["videos"] == 1 and kept(platform, t.id)["staged"] == []
    # what still fits is accepted
    assert upload(client, t, clips["short"]).status_code == 201


def test_concurrent_jobs_limit_answers_429_with_retry_after(client, platform, clips):
    add_tier(platform, "one-at-a-time", concurrent_jobs=1)
    t = new_tenant(platform, client, "Busy", tier="one-at-a-time")
    assert upload(client, t, clips["a"]).status_code == 201  # its job is queued

    second = upload(client, t, clips["b"])

    assert_problem(second, 429, "quota.concurrent_jobs")
    assert int(second.headers["Retry-After"]) > 0
    tus = client.post("/api/v1/uploads", headers={**t.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert_problem(tus, 429, "quota.concurrent_jobs")
    assert kept(platform, t.id)["videos"] == 1 and kept(platform, t.id)["staged"] == []
    drain(platform)
    assert upload(client, t, clips["b"]).status_code == 201


def test_usage_reports_minutes_storage_and_api_calls(client, platform, clips):
    t = new_tenant(platform, client, "Usage")
    other = new_tenant(platform, client, "Other")
    meter = client.app.state.meter
    meter.flush(platform.db)

    video = upload(client, t, clips["a"]).json()  # API call 1
    drain(platform)
    detail = client.get(f"/api/v1/videos/{video['id']}", headers=t.headers).json()  # 2
    arts = client.get(f"/api/v1/videos/{video['id']}/artifacts", headers=t.headers).json()  # 3
    meter.flush(platform.db)
    usage = client.get("/api/v1/usage", headers=t.headers).json()  # 4, counted after it answers

    assert usage["tier"] == "pro" and usage["limits"]["storage_bytes"] == platform.settings.tier("pro").storage_bytes
    assert usage["processing_minutes"] == pytest.approx(detail["duration_s"] / 60, abs=1e-3)
    assert usage["storage_bytes"] == detail["size_bytes"] + sum(a["size_bytes"] for a in arts)
    assert usage["storage_bytes"] == _stored_bytes(platform, t.id)  # what the store really holds
    assert usage["api_calls"] == 3
    meter.flush(platform.db)
    assert client.get("/api/v1/usage", headers=t.headers).json()["api_calls"] == 4

    theirs = client.get("/api/v1/usage", headers=other.headers).json()
    assert (theirs["processing_minutes"], theirs["storage_bytes"], theirs["api_calls"]) == (0, 0, 0)
    assert client.get("/api/v1/usage?month=1999-01", headers=t.headers).json()["processing_minutes"] == 0
