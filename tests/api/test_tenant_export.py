"""GET /api/v1/tenant/export: all of the caller's tenant, none of another's, no secrets, streamed, audited."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from clipdex.models import ApiKey, AuditEvent, Invitation, RefreshToken, Tenant, User
from clipdex.storage import keys
from clipdex.tenancy import export
from clipdex.tenancy.system import SystemReason, system_session
from tests.conftest import add_user, drain, login
from tests.media import make_video
from tests.security.seed import seed_tenant


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("export") / "clip.mp4", seconds=2)


def _owner(platform, client, tenant_id, role: str = "owner") -> dict:
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        slug = s.get(Tenant, tenant_id).slug
    email = f"{role}-export@{slug}.example.com"
    add_user(platform, tenant_id, email, role)
    return {"Authorization": f"Bearer {login(client, email, tenant=slug)['access_token']}"}


def _secrets(platform, tenant_id) -> list[str]:
    """Every hash stored for the tenant's credentials (none may appear in its export)."""
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        out = list(s.scalars(select(ApiKey.key_hash).where(ApiKey.tenant_id == tenant_id)))
        out += list(s.scalars(select(Invitation.token_hash).where(Invitation.tenant_id == tenant_id)))
        out += list(s.scalars(select(RefreshToken.token_hash).where(RefreshToken.tenant_id == tenant_id)))
        out += list(s.scalars(select(User.password_hash)))
    return out


def test_export_has_everything_of_the_tenant_and_nothing_else(platform, client, clip):
    a, b = seed_tenant(platform, "Alpha"), seed_tenant(platform, "Bravo")
    h = _owner(platform, client, a.tenant_id)
    with open(clip, "rb") as f:
        r = client.post("/api/v1/videos", headers=h, files={"file": ("clip.mp4", f, "video/mp4")})
    assert r.status_code in (201, 202), r.text
    drain(platform)
    big = keys.training_blob(a.tenant_id, "models", a.rows["training_models"], "weights", "adapter.safetensors")
    platform.blobs.put_bytes(big, bytes(range(256)) * (3 * export.PIECE // 256))  # 3 MiB: several pieces

    with client.stream("GET", "/api/v1/tenant/export", headers=h) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"] == "application/zip" and "content-length" not in resp.headers
        chunks = list(resp.iter_raw())
    body = b"".join(chunks)
    assert len(chunks) > 3  # written as it is produced, not as one buffer

    z = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(z.read("manifest.json"))
    names = set(z.namelist()) - {"manifest.json"}
    assert names == set(manifest["files"])
    for name in names:
        data = z.read(name)
        assert hashlib.sha256(data).hexdigest() == manifest["files"][name]["sha256"], name
        assert len(data) == manifest["files"][name]["size"], name

    # every row of every table of A (but the credential tables), every blob of A
    for table, row_id in a.rows.items():
        if table in export.SKIPPED_TABLES:
            continue
        lines = z.read(f"db/{table}.jsonl").decode().splitlines()
        assert str(row_id) in {json.loads(line)["id"] for line in lines}, table
    stored = set(platform.blobs.list_prefix(keys.tenant_prefix(a.tenant_id)))
    assert {f"blobs/{k[len(keys.tenant_prefix(a.tenant_id)):]}" for k in stored} <= names
    assert z.read("blobs/" + big[len(keys.tenant_prefix(a.tenant_id)):]) == platform.blobs.open(big).read()
    assert manifest["counts"]["videos"] == 2 and manifest["counts"]["blobs"] == len(stored) >= 3
    members = json.loads(z.read("members.json"))
    assert {m["role"] for m in members} == {"owner"} and all("@" in m["email"] for m in members)

    # nothing of B, no secret, no embedding column
    every = b"".join(z.read(n) for n in z.namelist())
    assert str(b.tenant_id).encode() not in every
    assert not [t for t, i in b.rows.items() if str(i).encode() in every]
    assert not [x for x in _secrets(platform, a.tenant_id) if x.encode() in every]
    assert b'"embedding"' not in every

    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.exported")))
    assert [(e.tenant_id, e.target) for e in events] == [(a.tenant_id, f"tenant:{a.tenant_id}")]


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_export_is_for_admins_and_owners(platform, client, role):
    a = seed_tenant(platform, "Alpha")
    r = client.get("/api/v1/tenant/export", headers=_owner(platform, client, a.tenant_id, role))
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"
    admin = client.get("/api/v1/tenant/export", headers=_owner(platform, client, a.tenant_id, "admin"))
    assert admin.status_code == 200 and zipfile.ZipFile(io.BytesIO(admin.content)).testzip() is None


def test_api_keys_cannot_export(platform, client):
    a = seed_tenant(platform, "Alpha")
    h = _owner(platform, client, a.tenant_id)
    key = client.post("/api/v1/api-keys", headers=h, json={"name": "k", "scopes": ["read", "write"]}).json()["secret"]
    r = client.get("/api/v1/tenant/export", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403
