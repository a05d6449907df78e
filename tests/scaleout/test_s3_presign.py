"""Presigned download and upload URLs: short-lived, tenant keys only, size-limited uploads.

moto (5.2.5) does not check presigned-URL expiry or signatures, nor POST-policy conditions, so
the limits are checked where they are made: the signed parameters and policy document (with the
SigV4 signature recomputed here), and clipdex's own size check on completion (test_s3_api.py).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from clipdex.settings import Settings
from clipdex.storage import keys, open_store
from clipdex.storage.presign import MAX_TTL_S, check_presign_key, download_url

TENANT = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")


@pytest.fixture
def settings(tmp_path, s3_overrides) -> Settings:
    return Settings(data_dir=tmp_path / "data", env="test", secret_key="s" * 40, signed_url_ttl_s=120, **s3_overrides)


@pytest.fixture
def store(settings):
    return open_store(settings.storage_url, settings)


def test_presigned_get_downloads_and_expires_within_15_minutes(store, settings):
    key = keys.artifact(TENANT, uuid.uuid4(), "thumbnail", "1", "poster.jpg")
    store.put_bytes(key, b"\xff\xd8jpeg bytes")
    # clients get the API's opaque link; following it redirects to this presigned GET
    api_link, _ = download_url(settings, store, key, filename="poster é.jpg", content_type="image/jpeg")
    assert "/api/v1/blobs/" in api_link and str(TENANT) not in api_link and "X-Amz" not in api_link
    url, expires = store.presign_download(key, filename="poster é.jpg", content_type="image/jpeg",
                                          ttl_s=settings.signed_url_ttl_s)
    q = parse_qs(urlparse(url).query)
    assert q["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and q["X-Amz-Expires"] == ["120"]
    assert abs(expires - (time.time() + 120)) < 5
    assert settings.s3_secret_access_key not in url
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == b"\xff\xd8jpeg bytes"
    assert r.headers["content-type"] == "image/jpeg"
    assert "filename*=UTF-8''poster%20%C3%A9.jpg" in r.headers["content-disposition"]
    long_url, long_exp = store.presign_download(key, ttl_s=24 * 3600)  # a caller asking too much gets 15 min
    assert parse_qs(urlparse(long_url).query)["X-Amz-Expires"] == [str(MAX_TTL_S)]
    assert long_exp <= time.time() + MAX_TTL_S + 1


@pytest.mark.parametrize("key", [
    "system/probes/doctor", "tenants/not-a-uuid/x", f"tenants/{TENANT}", f"tenants/{TENANT}/",
    f"tenants/{str(TENANT).upper()}/x", f"tenants/{TENANT}/../other/x", f"other/tenants/{TENANT}/x", ""])
def test_only_tenant_keys_are_presigned(store, settings, key):
    with pytest.raises(ValueError):
        check_presign_key(key)
    with pytest.raises(ValueError):
        store.presign_download(key)
    with pytest.raises(ValueError):
        store.presign_upload(key, max_bytes=10)
    with pytest.raises(ValueError):
        download_url(settings, store, key, filename="x", content_type="text/plain")


def test_local_store_download_url_is_an_api_signed_link(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", env="test", secret_key="s" * 40)
    store = open_store(settings.resolved_storage_url, settings)
    url, _ = download_url(settings, store, keys.incoming(TENANT, uuid.uuid4()), filename="a", content_type="x/y")
    assert url.startswith(f"{settings.public_url}/api/v1/blobs/")


def _sigv4(secret: str, credential: str, string_to_sign: str) -> str:
    _, date, region, service, _ = credential.split("/")
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_presigned_post_policy_limits_key_size_and_time(store, settings, moto_s3):
    key = keys.incoming(TENANT, uuid.uuid4())
    up = store.presign_upload(key, max_bytes=1000, ttl_s=5000)
    fields = up.fields
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1000] in conditions
    assert {"key": store.prefix + key} in conditions and fields["key"] == store.prefix + key
    assert {"bucket": moto_s3.bucket} in conditions
    expiration = calendar.timegm(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert time.time() < expiration <= time.time() + MAX_TTL_S + 2
    assert up.expires_at <= time.time() + MAX_TTL_S + 1
    # the signature a real S3 checks: SigV4 over the base64 policy with the configured secret
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-signature"] == _sigv4(settings.s3_secret_access_key, fields["x-amz-credential"],
                                               fields["policy"])
    r = httpx.post(up.url, data=fields, files={"file": ("clip.mp4", b"v" * 1000, "video/mp4")})
    assert r.status_code in (200, 201, 204), r.text
    assert store.size(key) == 1000


def test_presign_upload_refuses_nonsense_limits(store):
    with pytest.raises(ValueError):
        store.presign_upload(keys.incoming(TENANT, uuid.uuid4()), max_bytes=0)


def test_presigned_urls_name_the_public_endpoint(tmp_path, s3_overrides):
    """Servers reach the store at one address, browsers at another: URLs are signed for the latter."""
    settings = Settings(data_dir=tmp_path / "data", env="test", s3_public_endpoint_url="https://s3.example.com",
                        **s3_overrides)
    store = open_store(settings.storage_url, settings)
    key = keys.incoming(TENANT, uuid.uuid4())
    store.put_bytes(key, b"x")  # through the internal endpoint
    url, _ = store.presign_download(key)
    assert url.startswith("https://s3.example.com/clipdex-test/")
    assert store.presign_upload(key, max_bytes=1).url.startswith("https://s3.example.com/")
