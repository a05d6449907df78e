"""Blob keys stay under the tenant prefix; production refuses unsafe settings."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from clipdex.settings import Settings
from clipdex.storage import keys
from clipdex.storage.local import LocalBlobStore


def test_keys_are_under_the_tenant_prefix():
    t, v = uuid.uuid4(), uuid.uuid4()
    key = keys.artifact(t, v, "thumbnail", "1", "poster.jpg")
    assert key == f"tenants/{t}/videos/{v}/thumbnail/1/poster.jpg"
    assert keys.tenant_of(key) == t
    assert keys.original(t, v, "MP4").endswith("original.mp4")


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 300])
def test_unsafe_key_parts_are_refused(bad):
    with pytest.raises(ValueError):
        keys.artifact(uuid.uuid4(), uuid.uuid4(), "stage", "1", bad)


def test_local_store_refuses_escaping_keys(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    for bad in ("../outside", "/etc/passwd", "tenants/../../x"):
        with pytest.raises(ValueError):
            store.put_bytes(bad, b"x")
    store.put_bytes("tenants/t/a.bin", b"abc")
    assert store.size("tenants/t/a.bin") == 3 and list(store.list_prefix("tenants/t/")) == ["tenants/t/a.bin"]
    assert store.delete_prefix("tenants/t/") == 1 and not store.exists("tenants/t/a.bin")


def test_prod_refuses_missing_secret(tmp_path):
    with pytest.raises(ValidationError):
        Settings(env="prod", data_dir=tmp_path)
    assert Settings(env="prod", data_dir=tmp_path, secret_key="s" * 40, public_url="https://x.example").env == "prod"


def test_access_tokens_cannot_outlive_15_minutes(tmp_path):
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, access_token_ttl_s=3600)


def test_dev_secret_is_generated_once_and_kept(tmp_path):
    a = Settings(data_dir=tmp_path).resolved_secret_key
    b = Settings(data_dir=tmp_path).resolved_secret_key
    assert a == b and len(a) >= 32
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
