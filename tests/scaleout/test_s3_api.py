"""The platform on S3 storage (moto over HTTP): upload, process, download, presigned upload, delete."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from clipdex.storage import keys
from clipdex.storage.s3 import S3BlobStore
from clipdex.tenancy.system import SystemReason
from tests.conftest import api_client, drain, migrated_sqlite_settings, new_tenant, open_platform, upload
from tests.media import make_video

V = "/api/v1"


@pytest.fixture
def s3_platform(tmp_path, s3_overrides):
    with open_platform(migrated_sqlite_settings(tmp_path, **s3_overrides)) as p:
        assert isinstance(p.blobs, S3BlobStore)
        yield p


@pytest.fixture
def s3_client(s3_platform):
    with api_client(s3_platform) as c:
        yield c


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("s3-media") / "clip.mp4", seconds=1, size="160x120")


def _fetch_signed(client: TestClient, url: str) -> httpx.Response:
    """Follow the API's signed link: a 307 to a presigned GET on the store, fetched over HTTP."""
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 307, r.text
    location = r.headers["location"]
    assert int(parse_qs(urlparse(location).query)["X-Amz-Expires"][0]) <= 900
    return httpx.get(location)


@pytest.mark.slow
def test_video_lifecycle_on_s3(s3_platform, s3_client, moto_s3, clip):
    t = new_tenant(s3_platform, s3_client, "Sthree")
    r = upload(s3_client, t, clip, title="on s3")
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    drain(s3_platform)
    v = s3_client.get(f"{V}/videos/{vid}", headers=t.headers).json()
    assert v["status"] == "ready", v
    assert v["artifacts"], v

    store = s3_platform.blobs
    tenant_root = store.prefix + keys.tenant_prefix(t.id)
    stored = moto_s3.keys(store.prefix)
    assert stored and all(k.startswith(tenant_root) for k in stored), stored
    video_root = store.prefix + keys.video_prefix(t.id, uuid.UUID(vid))
    assert any(k.startswith(video_root + "original.") for k in stored)
    assert any("thumbnail" in k for k in stored), stored
    assert not [k for k in stored if "/incoming/" in k]  # nothing left behind by the upload

    d = s3_client.get(f"{V}/videos/{vid}/download", headers=t.headers).json()
    got = _fetch_signed(s3_client, d["url"])
    assert got.status_code == 200 and got.content == clip.read_bytes()
    art = v["artifacts"][0]
    d = s3_client.get(f"{V}/videos/{vid}/artifacts/{art['id']}/download", headers=t.headers).json()
    got = _fetch_signed(s3_client, d["url"])
    assert got.status_code == 200 and len(got.content) == art["size_bytes"]

    assert s3_client.delete(f"{V}/videos/{vid}", headers=t.headers).status_code == 204
    assert moto_s3.keys(video_root) == []


def _presign(client, t, size: int, filename: str = "direct.mp4") -> dict:
    r = client.post(f"{V}/uploads/presigned", headers=t.headers,
                    json={"filename": filename, "size": size, "title": "direct", "tags": ["s3"]})
    assert r.status_code == 201, r.text
    return r.json()


def _post_file(p: dict, data: bytes) -> None:
    r = httpx.post(p["url"], data=p["fields"], files={"file": ("direct.mp4", data, "video/mp4")})
    assert r.status_code in (200, 201, 204), r.text


@pytest.mark.slow
def test_presigned_upload_goes_through_the_accept_path(s3_platform, s3_client, moto_s3, clip):
    t = new_tenant(s3_platform, s3_client, "Direct")
    data = clip.read_bytes()
    p = _presign(s3_client, t, len(data))
    assert p["method"] == "POST" and p["max_bytes"] == len(data)
    incoming = s3_platform.blobs.prefix + keys.incoming(t.id, uuid.UUID(p["upload_id"]))
    assert p["fields"]["key"] == incoming
    r = s3_client.post(f"{V}/uploads/presigned/{p['upload_id']}/complete", headers=t.headers)
    assert r.status_code == 409 and r.json()["code"] == "upload.not_received"
    _post_file(p, data)
    r = s3_client.post(f"{V}/uploads/presigned/{p['upload_id']}/complete", headers=t.headers)
    assert r.status_code == 201, r.text
    video = r.json()
    assert video["source"] == "presigned" and video["title"] == "direct" and video["tags"] == ["s3"]
    assert moto_s3.keys(incoming) == []  # the incoming object is gone once accepted
    r = s3_client.post(f"{V}/uploads/presigned/{p['upload_id']}/complete", headers=t.headers)
    assert r.status_code == 409 and r.json()["code"] == "upload.finished"
    drain(s3_platform)
    assert s3_client.get(f"{V}/videos/{video['id']}", headers=t.headers).json()["status"] == "ready"


def test_presigned_upload_larger_than_declared_is_refused(s3_platform, s3_client, moto_s3, clip):
    t = new_tenant(s3_platform, s3_client, "Liar")
    data = clip.read_bytes()
    p = _presign(s3_client, t, 1000)
    _post_file(p, data)  # a real S3 refuses this (content-length-range); moto stores it
    r = s3_client.post(f"{V}/uploads/presigned/{p['upload_id']}/complete", headers=t.headers)
    assert r.status_code == 413 and r.json()["code"] == "upload.size_mismatch"
    assert moto_s3.keys(p["fields"]["key"]) == []
    assert s3_client.get(f"{V}/videos", headers=t.headers).json()["items"] == []
    r = s3_client.post(f"{V}/uploads/presigned/{p['upload_id']}/complete", headers=t.headers)
    assert r.status_code == 409 and r.json()["code"] == "upload.finished"


def test_presigned_upload_checks_tier_limits_and_tenancy(s3_platform, s3_client):
    t = new_tenant(s3_platform, s3_client, "Small", tier="free")
    limit = s3_platform.settings.tier("free").max_upload_bytes
    r = s3_client.post(f"{V}/uploads/presigned", headers=t.headers, json={"filename": "x.mp4", "size": limit + 1})
    assert r.status_code == 413 and r.json()["code"] == "upload.too_large"
    p = _presign(s3_client, t, 100)
    other = new_tenant(s3_platform, s3_client, "Other")
    r = s3_client.post(f"{V}/uploads/presigned/{p['upload_id']}/complete", headers=other.headers)
    assert r.status_code == 404


def test_local_store_refuses_presigned_uploads(sqlite_platform):
    with api_client(sqlite_platform) as c:
        t = new_tenant(sqlite_platform, c, "Local")
        r = c.post(f"{V}/uploads/presigned", headers=t.headers, json={"filename": "x.mp4", "size": 10})
        assert r.status_code == 409 and r.json()["code"] == "storage.presign_unsupported"


def test_expired_presigned_uploads_are_swept(s3_platform, s3_client, moto_s3):
    from datetime import timedelta

    from clipdex.db.types import utcnow
    from clipdex.ingest.presigned import sweep_expired
    from clipdex.models import UploadSession

    t = new_tenant(s3_platform, s3_client, "Sweep")
    stale, fresh = _presign(s3_client, t, 10), _presign(s3_client, t, 10)
    for p in (stale, fresh):
        _post_file(p, b"0123456789")
    with s3_platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.get(UploadSession, uuid.UUID(stale["upload_id"])).expires_at = utcnow() - timedelta(seconds=1)
    assert sweep_expired(s3_platform) == 1
    assert moto_s3.keys(stale["fields"]["key"]) == [] and moto_s3.keys(fresh["fields"]["key"]) != []
    r = s3_client.post(f"{V}/uploads/presigned/{stale['upload_id']}/complete", headers=t.headers)
    assert r.status_code == 404
