"""Roles, API keys, invitations, the operator API and the audit log, through the real app."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text, update

from clipdex.auth.policy import ALL_ACTIONS, ROLE_ACTIONS, ROLES, SCOPE_ACTIONS
from clipdex.models import ApiKey, Invitation
from clipdex.tenancy import service as tenants
from clipdex.tenancy.system import SystemReason
from tests.api.ingest_support import assert_problem
from tests.conftest import PASSWORD, TenantCtx, add_user, bearer, login, new_tenant, upload
from tests.media import make_video


def user_id_of(client, headers) -> str:
    return client.get("/api/v1/auth/me", headers=headers).json()["id"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two different short videos (different content, so no duplicate detection between them)."""
    d = tmp_path_factory.mktemp("clips")
    return [make_video(d / "seed.mp4", seconds=1, tone_hz=330), make_video(d / "other.mp4", seconds=1, tone_hz=550)]


# --- one probe per policy action -----------------------------------------------------------------

@dataclass
class Seed:
    owner: TenantCtx
    video_id: str
    job_id: str
    target_user_id: str  # a plain member whose role the member probes change
    other_clip: object


@dataclass
class Probe:
    action: str
    call: Callable  # (client, headers, seed) -> response
    ok: int


PROBES = [
    Probe("tenant:read", lambda c, h, s: c.get("/api/v1/tenant", headers=h), 200),
    Probe("video:read", lambda c, h, s: c.get("/api/v1/videos", headers=h), 200),
    Probe("video:read", lambda c, h, s: c.get(f"/api/v1/videos/{s.video_id}", headers=h), 200),
    Probe("job:read", lambda c, h, s: c.get(f"/api/v1/jobs/{s.job_id}", headers=h), 200),
    Probe("usage:read", lambda c, h, s: c.get("/api/v1/usage", headers=h), 200),
    Probe("video:write", lambda c, h, s: c.patch(f"/api/v1/videos/{s.video_id}", headers=h,
                                                 json={"title": "changed"}), 200),
    Probe("video:write", lambda c, h, s: upload_as(c, h, s.other_clip), 201),
    Probe("job:write", lambda c, h, s: c.post(f"/api/v1/jobs/{s.job_id}/cancel", headers=h), 200),
    Probe("video:delete", lambda c, h, s: c.delete(f"/api/v1/videos/{s.video_id}", headers=h), 204),
    Probe("member:read", lambda c, h, s: c.get("/api/v1/members", headers=h), 200),
    Probe("member:read", lambda c, h, s: c.get("/api/v1/invitations", headers=h), 200),
    Probe("member:manage", lambda c, h, s: c.post("/api/v1/invitations", headers=h,
                                                  json={"email": "probe@example.com", "role": "viewer"}), 201),
    Probe("member:manage", lambda c, h, s: c.patch(f"/api/v1/members/{s.target_user_id}", headers=h,
                                                   json={"role": "viewer"}), 200),
    Probe("apikey:manage", lambda c, h, s: c.get("/api/v1/api-keys", headers=h), 200),
    Probe("apikey:manage", lambda c, h, s: c.post("/api/v1/api-keys", headers=h,
                                                  json={"name": "probe", "scopes": ["read"]}), 201),
    Probe("audit:read", lambda c, h, s: c.get("/api/v1/audit", headers=h), 200),
    Probe("compliance:manage", lambda c, h, s: c.put("/api/v1/compliance/default", headers=h,
                                                      json={"policy": "kids"}), 200),
    Probe("tenant:update", lambda c, h, s: c.patch("/api/v1/tenant", headers=h, json={"name": "Renamed"}), 200),
    Probe("member:manage_owner", lambda c, h, s: c.patch(f"/api/v1/members/{s.target_user_id}", headers=h,
                                                         json={"role": "owner"}), 200),
    Probe("tenant:export", lambda c, h, s: c.get("/api/v1/tenant/export", headers=h), 200),
    # allowed: past the policy to the confirmation, which a wrong slug fails (the tenant stays)
    Probe("tenant:delete", lambda c, h, s: c.delete("/api/v1/tenant", headers=h, params={"confirm": "not-it"}), 422),
]


def upload_as(client, headers, path):
    with open(path, "rb") as f:
        return client.post("/api/v1/videos", headers=headers, files={"file": (path.name, f, "video/mp4")})


def test_every_policy_action_has_a_probe():
    assert {p.action for p in PROBES} == set(ALL_ACTIONS)
    assert set(ROLE_ACTIONS) == set(ROLES)


def make_seed(client, platform, clips, owner: TenantCtx) -> Seed:
    v = upload(client, owner, clips[0], title="seed")
    assert v.status_code == 201, v.text
    video = v.json()
    job = client.get(f"/api/v1/jobs?video_id={video['id']}", headers=owner.headers).json()["items"][0]
    add_user(platform, owner.id, f"target@{owner.slug}.example.com", "member")
    members = client.get("/api/v1/members", headers=owner.headers).json()["items"]
    target = next(m["user_id"] for m in members if m["email"].startswith("target@"))
    return Seed(owner, video["id"], job["id"], target, clips[1])


def run_probes(client, headers, seed: Seed, allowed: frozenset[str], who: str) -> None:
    for p in PROBES:
        r = p.call(client, headers, seed)
        if p.action in allowed:
            assert r.status_code == p.ok, (who, p.action, r.text)
        else:
            assert r.status_code == 403, (who, p.action, r.text)
            assert r.json()["code"] in ("auth.forbidden", "member.owner_only"), (who, p.action, r.text)
    if "video:write" not in allowed and "video:delete" not in allowed:
        # nothing changed behind the refusals
        v = client.get(f"/api/v1/videos/{seed.video_id}", headers=seed.owner.headers).json()
        assert v["title"] == "seed" and v["status"] == "queued"
        assert len(client.get("/api/v1/videos", headers=seed.owner.headers).json()["items"]) == 1


@pytest.mark.parametrize("role", ROLES)
def test_roles_follow_the_policy_table(client, platform, clips, role):
    owner = new_tenant(platform, client, "Roles")
    seed = make_seed(client, platform, clips, owner)
    if role == "owner":
        headers = owner.headers
    else:
        email = f"{role}@{owner.slug}.example.com"
        add_user(platform, owner.id, email, role)
        headers = bearer(login(client, email)["access_token"])
    run_probes(client, headers, seed, ROLE_ACTIONS[role], role)


def test_api_key_scopes_follow_the_policy_table(client, platform, clips, tenant_a):
    seed = make_seed(client, platform, clips, tenant_a)
    for scopes in (["read"], ["read", "write"]):
        r = client.post("/api/v1/api-keys", headers=tenant_a.headers, json={"name": "bot", "scopes": scopes})
        assert r.status_code == 201, r.text
        allowed = frozenset().union(*(SCOPE_ACTIONS[s] for s in scopes))
        assert not allowed & {"member:read", "member:manage", "apikey:manage", "audit:read", "tenant:update"}
        run_probes(client, bearer(r.json()["secret"]), seed, allowed, f"key {scopes}")


# --- API keys -------------------------------------------------------------------------------------

def test_api_key_secret_is_shown_once_and_stored_hashed(client, platform, tenant_a):
    r = client.post("/api/v1/api-keys", headers=tenant_a.headers, json={"name": "ingest bot", "scopes": ["read"]})
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["secret"]
    assert secret.startswith("cdx_") and created["scopes"] == ["read"] and created["name"] == "ingest bot"
    random_part = secret.split("_", 2)[2]
    assert len(random_part) >= 32

    listed = client.get("/api/v1/api-keys", headers=tenant_a.headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == created["id"] and "secret" not in item and random_part not in listed.text

    # raw SQL, every column, past the ORM (and RLS-scoped on PostgreSQL)
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        rows = [dict(row._mapping) for row in s.execute(text("SELECT * FROM api_keys"))]
    assert len(rows) == 1
    for value in rows[0].values():
        stored = str(value)
        assert secret not in stored and random_part not in stored
        assert not any(random_part[i:i + 12] in stored for i in range(len(random_part) - 11))

    # the secret is not in the audit log either
    audit = client.get("/api/v1/audit", headers=tenant_a.headers).text
    assert random_part not in audit and "apikey.created" in audit


def test_api_key_lifecycle(client, platform, tenant_a, tenant_b):
    h = tenant_a.headers
    rw = client.post("/api/v1/api-keys", headers=h, json={"name": "rw", "scopes": ["read", "write"]}).json()
    key = bearer(rw["secret"])
    assert client.get("/api/v1/videos", headers=key).status_code == 200
    used = client.get("/api/v1/api-keys", headers=h).json()["items"][0]
    assert used["last_used_at"] is not None

    # keys never manage people, keys, the tenant, or act as a user
    assert client.post("/api/v1/api-keys", headers=key, json={"name": "x", "scopes": ["read"]}).status_code == 403
    assert client.delete(f"/api/v1/api-keys/{rw['id']}", headers=key).status_code == 403
    assert client.post("/api/v1/invitations", headers=key, json={"email": "x@example.com"}).status_code == 403
    assert_problem(client.get("/api/v1/auth/me", headers=key), 403, "auth.forbidden")
    assert_problem(client.post("/api/v1/auth/switch", headers=key, json={"tenant": tenant_b.slug}), 403,
               "auth.forbidden")
    assert_problem(client.get("/api/v1/admin/tenants", headers=key), 403, "auth.operator_only")

    # another tenant cannot see or revoke it
    assert client.delete(f"/api/v1/api-keys/{rw['id']}", headers=tenant_b.headers).status_code == 404
    assert client.get("/api/v1/api-keys", headers=tenant_b.headers).json()["items"] == []
    assert client.get("/api/v1/videos", headers=key).status_code == 200

    # look-alikes are refused
    prefix = rw["secret"].split("_")[1]
    for fake in (f"cdx_{prefix}_{'A' * 43}", f"cdx_{'0' * 12}_{'A' * 43}", "cdx_", "cdx_a_b_c", rw["secret"] + "x"):
        assert_problem(client.get("/api/v1/videos", headers=bearer(fake)), 401, "auth.invalid_token")

    # revoked
    assert client.delete(f"/api/v1/api-keys/{rw['id']}", headers=h).status_code == 204
    assert_problem(client.get("/api/v1/videos", headers=key), 401, "auth.invalid_token")
    assert client.get("/api/v1/api-keys", headers=h).json()["items"][0]["revoked_at"] is not None

    # expired
    ro = client.post("/api/v1/api-keys", headers=h, json={"name": "ro", "scopes": ["read"]}).json()
    assert client.get("/api/v1/videos", headers=bearer(ro["secret"])).status_code == 200
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(update(ApiKey).where(ApiKey.id == uuid.UUID(ro["id"])).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert_problem(client.get("/api/v1/videos", headers=bearer(ro["secret"])), 401, "auth.invalid_token")


def test_api_key_creation_is_validated(client, tenant_a):
    h = tenant_a.headers
    assert_problem(client.post("/api/v1/api-keys", headers=h, json={"name": "x", "scopes": ["read", "admin"]}), 422,
               "apikey.unknown_scope")
    assert_problem(client.post("/api/v1/api-keys", headers=h, json={"name": "x", "scopes": []}), 422,
               "request.invalid")
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    assert client.post("/api/v1/api-keys", headers=h,
                       json={"name": "x", "scopes": ["read"], "expires_at": past}).status_code == 422
    future = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    r = client.post("/api/v1/api-keys", headers=h, json={"name": "x", "scopes": ["write", "read", "read"],
                                                          "expires_at": future})
    assert r.status_code == 201 and r.json()["scopes"] == ["read", "write"] and r.json()["expires_at"]
    assert client.get("/api/v1/videos", headers=bearer(r.json()["secret"])).status_code == 200


# --- members and owners ---------------------------------------------------------------------------

def test_owner_role_rules_and_last_owner(client, platform, tenant_a, tenant_b):
    owner_id = user_id_of(client, tenant_a.headers)
    add_user(platform, tenant_a.id, "admin@example.com", "admin")
    add_user(platform, tenant_a.id, "mem@example.com", "member")
    admin = bearer(login(client, "admin@example.com")["access_token"])
    members = {m["email"]: m["user_id"] for m in client.get("/api/v1/members", headers=admin).json()["items"]}
    mem_id, admin_id = members["mem@example.com"], members["admin@example.com"]

    # admins manage non-owners, never the owner role
    r = client.patch(f"/api/v1/members/{mem_id}", headers=admin, json={"role": "viewer"})
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    assert_problem(client.patch(f"/api/v1/members/{mem_id}", headers=admin, json={"role": "owner"}), 403,
               "member.owner_only")
    assert_problem(client.patch(f"/api/v1/members/{admin_id}", headers=admin, json={"role": "owner"}), 403,
               "member.owner_only")
    assert_problem(client.patch(f"/api/v1/members/{owner_id}", headers=admin, json={"role": "viewer"}), 403,
               "member.owner_only")
    assert_problem(client.delete(f"/api/v1/members/{owner_id}", headers=admin), 403, "member.owner_only")
    assert_problem(client.post("/api/v1/invitations", headers=admin, json={"email": "o@example.com", "role": "owner"}),
               403, "member.owner_only")
    assert client.patch(f"/api/v1/members/{mem_id}", headers=admin, json={"role": "root"}).status_code == 422
    # members of other tenants and unknown ids look the same: not found
    b_owner = user_id_of(client, tenant_b.headers)
    assert_problem(client.patch(f"/api/v1/members/{b_owner}", headers=tenant_a.headers, json={"role": "viewer"}), 404,
               "resource.not_found")
    assert_problem(client.delete(f"/api/v1/members/{uuid.uuid4()}", headers=tenant_a.headers), 404,
               "resource.not_found")

    # the only owner can neither step down nor leave
    assert_problem(client.patch(f"/api/v1/members/{owner_id}", headers=tenant_a.headers, json={"role": "admin"}), 409,
               "member.last_owner")
    assert_problem(client.delete(f"/api/v1/members/{owner_id}", headers=tenant_a.headers), 409, "member.last_owner")

    # an owner makes another owner; then either may step down, but not both
    r = client.patch(f"/api/v1/members/{admin_id}", headers=tenant_a.headers, json={"role": "owner"})
    assert r.status_code == 200 and r.json()["role"] == "owner"
    r = client.patch(f"/api/v1/members/{owner_id}", headers=tenant_a.headers, json={"role": "admin"})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    new_owner = bearer(login(client, "admin@example.com")["access_token"])
    assert_problem(client.patch(f"/api/v1/members/{admin_id}", headers=new_owner, json={"role": "member"}), 409,
               "member.last_owner")
    assert_problem(client.delete(f"/api/v1/members/{admin_id}", headers=new_owner), 409, "member.last_owner")
    roles = {m["email"]: m["role"] for m in client.get("/api/v1/members", headers=new_owner).json()["items"]}
    assert roles == {tenant_a.email: "admin", "admin@example.com": "owner", "mem@example.com": "viewer"}
    # the demoted owner's token now carries admin rights only
    assert_problem(client.patch("/api/v1/tenant", headers=tenant_a.headers, json={"name": "x"}), 403, "auth.forbidden")
    assert client.delete(f"/api/v1/members/{mem_id}", headers=tenant_a.headers).status_code == 204


# --- invitations ----------------------------------------------------------------------------------

def test_invitation_creates_account_and_membership_once(client, platform, tenant_a):
    add_user(platform, tenant_a.id, "admin@example.com", "admin")
    admin = bearer(login(client, "admin@example.com")["access_token"])
    r = client.post("/api/v1/invitations", headers=admin, json={"email": "New.Person@Example.com", "role": "member"})
    assert r.status_code == 201, r.text
    inv = r.json()
    token = inv["token"]
    assert token.startswith("inv_") and inv["email"] == "new.person@example.com" and inv["role"] == "member"
    listed = client.get("/api/v1/invitations", headers=admin)
    assert [i["id"] for i in listed.json()["items"]] == [inv["id"]] and token not in listed.text
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        row = s.scalar(select(Invitation).where(Invitation.id == uuid.UUID(inv["id"])))
        assert token not in row.token_hash

    accept = "/api/v1/invitations/accept"
    assert_problem(client.post(accept, json={"token": token}), 422, "auth.password_required")
    assert_problem(client.post(accept, json={"token": token, "password": "short"}), 422, "auth.weak_password")
    assert_problem(client.post(accept, json={"token": "inv_" + "x" * 43, "password": PASSWORD}), 400,
               "invitation.invalid")
    r = client.post(accept, json={"token": token, "password": PASSWORD, "name": "New Person"})
    assert r.status_code == 204, r.text
    assert_problem(client.post(accept, json={"token": token, "password": PASSWORD}), 400, "invitation.invalid")

    joined = login(client, "new.person@example.com")
    assert joined["tenant"]["id"] == str(tenant_a.id) and joined["role"] == "member"
    members = {m["email"]: m for m in client.get("/api/v1/members", headers=admin).json()["items"]}
    assert members["new.person@example.com"]["role"] == "member"
    assert members["new.person@example.com"]["name"] == "New Person"
    assert client.get("/api/v1/invitations", headers=admin).json()["items"] == []

    # a member may not invite
    member = bearer(joined["access_token"])
    assert_problem(client.post("/api/v1/invitations", headers=member, json={"email": "y@example.com"}), 403,
               "auth.forbidden")


def test_existing_account_must_prove_its_password(client, platform, tenant_a, tenant_b):
    inv = client.post("/api/v1/invitations", headers=tenant_a.headers,
                      json={"email": tenant_b.email, "role": "viewer"}).json()
    accept = "/api/v1/invitations/accept"
    assert_problem(client.post(accept, json={"token": inv["token"]}), 400, "invitation.password_required")
    assert_problem(client.post(accept, json={"token": inv["token"], "password": "a wrong password"}), 400,
               "invitation.password_required")
    # the failed attempts did not attach the account
    assert_problem(client.post("/api/v1/auth/login", json={"email": tenant_b.email, "password": PASSWORD,
                                                       "tenant": tenant_a.slug}), 403, "auth.no_membership")
    assert client.post(accept, json={"token": inv["token"], "password": PASSWORD}).status_code == 204
    joined = login(client, tenant_b.email, tenant=tenant_a.slug)
    assert joined["role"] == "viewer" and joined["tenant"]["id"] == str(tenant_a.id)
    # the account keeps its own tenant and password
    assert login(client, tenant_b.email, tenant=tenant_b.slug)["role"] == "owner"


def test_accepting_an_invitation_never_lowers_an_existing_role(client, platform, tenant_a):
    # an admin may not demote the owner directly, so an invitation must not do it either: otherwise the
    # only owner who follows the link ends up a viewer and the tenant has no owner at all
    add_user(platform, tenant_a.id, "admin@example.com", "admin")
    admin = bearer(login(client, "admin@example.com")["access_token"])
    inv = client.post("/api/v1/invitations", headers=admin, json={"email": tenant_a.email, "role": "viewer"}).json()
    r = client.post("/api/v1/invitations/accept", json={"token": inv["token"], "password": PASSWORD})
    assert r.status_code == 204, r.text
    roles = {m["email"]: m["role"] for m in client.get("/api/v1/members", headers=admin).json()["items"]}
    assert roles[tenant_a.email] == "owner"
    assert client.patch("/api/v1/tenant", headers=tenant_a.headers, json={"name": "Still mine"}).status_code == 200


def test_withdrawn_and_expired_invitations_are_invalid(client, platform, tenant_a):
    h = tenant_a.headers
    withdrawn = client.post("/api/v1/invitations", headers=h, json={"email": "w@example.com"}).json()
    assert client.delete(f"/api/v1/invitations/{withdrawn['id']}", headers=h).status_code == 204
    expired = client.post("/api/v1/invitations", headers=h, json={"email": "e@example.com"}).json()
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(update(Invitation).where(Invitation.id == uuid.UUID(expired["id"])).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    for inv in (withdrawn, expired):
        assert_problem(client.post("/api/v1/invitations/accept", json={"token": inv["token"], "password": PASSWORD}),
                   400, "invitation.invalid")


# --- the platform operator ------------------------------------------------------------------------

def make_operator(platform, client) -> dict[str, str]:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        tenants.get_or_create_user(s, "ops@clipdex.example.com", PASSWORD, operator=True)
    tok = login(client, "ops@clipdex.example.com")
    assert tok["tenant"] is None and tok["role"] is None
    return bearer(tok["access_token"])


def test_operator_manages_tenants(client, platform, tenant_a):
    op = make_operator(platform, client)
    me = client.get("/api/v1/auth/me", headers=op).json()
    assert me["is_operator"] is True and me["tenants"] == [] and me["tenant"] is None
    assert_problem(client.post("/api/v1/auth/login", json={"email": "ops@clipdex.example.com", "password": PASSWORD,
                                                       "tenant": tenant_a.slug}), 403, "auth.no_membership")
    # an operator token has no tenant, so it reaches no tenant's content
    assert client.get("/api/v1/videos", headers=op).status_code in (403, 404)

    assert {t["name"] for t in client.get("/api/v1/admin/tiers", headers=op).json()} >= {"free", "pro"}
    listed = client.get("/api/v1/admin/tenants", headers=op).json()["items"]
    assert [t["slug"] for t in listed] == [tenant_a.slug]

    slug = f"delta-{uuid.uuid4().hex[:6]}"
    r = client.post("/api/v1/admin/tenants", headers=op, json={
        "name": "Delta", "slug": slug, "tier": "free", "owner_email": "boss@delta.example.com",
        "owner_password": PASSWORD})
    assert r.status_code == 201, r.text
    delta = r.json()
    assert delta["slug"] == slug and delta["tier"] == "free" and delta["status"] == "active"
    owner_tok = login(client, "boss@delta.example.com")
    assert owner_tok["tenant"]["slug"] == slug and owner_tok["role"] == "owner"
    owner = bearer(owner_tok["access_token"])
    key = client.post("/api/v1/api-keys", headers=owner, json={"name": "k", "scopes": ["read"]}).json()["secret"]
    assert_problem(client.post("/api/v1/admin/tenants", headers=op, json={
        "name": "Delta", "slug": slug, "owner_email": "x@delta.example.com", "owner_password": PASSWORD}), 409,
        "tenant.slug_taken")
    assert_problem(client.post("/api/v1/admin/tenants", headers=op, json={
        "name": "Echo", "tier": "platinum", "owner_email": "x@echo.example.com", "owner_password": PASSWORD}), 422,
        "tenant.unknown_tier")

    r = client.patch(f"/api/v1/admin/tenants/{delta['id']}", headers=op, json={"tier": "pro"})
    assert r.status_code == 200 and r.json()["tier"] == "pro"
    assert client.get("/api/v1/tenant", headers=owner).json()["tier"] == "pro"
    assert_problem(client.patch(f"/api/v1/admin/tenants/{delta['id']}", headers=op, json={"tier": "platinum"}), 422,
               "tenant.unknown_tier")
    assert_problem(client.patch(f"/api/v1/admin/tenants/{uuid.uuid4()}", headers=op, json={"status": "suspended"}),
               404, "resource.not_found")

    r = client.patch(f"/api/v1/admin/tenants/{delta['id']}", headers=op, json={"status": "suspended"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    # a bearer of a suspended tenant gets the uniform 401 (tests/security/test_forged_tokens.py); sign-in says why
    assert_problem(client.get("/api/v1/videos", headers=owner), 401, "auth.invalid_token")
    assert_problem(client.get("/api/v1/videos", headers=bearer(key)), 401, "auth.invalid_token")
    assert_problem(client.post("/api/v1/auth/login", json={"email": "boss@delta.example.com", "password": PASSWORD}),
               403, "tenant.suspended")
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": owner_tok["refresh_token"]}), 403,
               "tenant.suspended")
    # other tenants are unaffected
    assert client.get("/api/v1/videos", headers=tenant_a.headers).status_code == 200

    assert client.patch(f"/api/v1/admin/tenants/{delta['id']}", headers=op,
                        json={"status": "active"}).json()["status"] == "active"
    assert client.get("/api/v1/videos", headers=owner).status_code == 200
    # the refresh token was not spent by the refused attempt
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": owner_tok["refresh_token"]}).status_code == 200

    actions = [e["action"] for e in client.get("/api/v1/audit", headers=owner).json()["items"]]
    assert {"tenant.created", "member.added", "tenant.tier_changed", "tenant.status_changed"} <= set(actions)


def test_failed_owner_creation_leaves_no_tenant_behind(client, platform):
    op = make_operator(platform, client)
    slug = f"foxtrot-{uuid.uuid4().hex[:6]}"
    body = {"name": "Foxtrot", "slug": slug, "tier": "free", "owner_email": "boss@foxtrot.example.com"}
    # a new owner account needs a (strong enough) password; the refusal must not half-create the tenant
    assert_problem(client.post("/api/v1/admin/tenants", headers=op, json=body), 422, "auth.password_required")
    assert_problem(client.post("/api/v1/admin/tenants", headers=op, json={**body, "owner_password": "short"}), 422,
               "auth.weak_password")
    assert client.get("/api/v1/admin/tenants", headers=op).json()["items"] == []
    r = client.post("/api/v1/admin/tenants", headers=op, json={**body, "owner_password": PASSWORD})
    assert r.status_code == 201, r.text
    assert login(client, "boss@foxtrot.example.com")["tenant"]["slug"] == slug


def test_admin_routes_are_for_operators_only(client, platform, tenant_a):
    for headers in (tenant_a.headers, {}):
        expected = ("auth.operator_only", 403) if headers else ("auth.unauthenticated", 401)
        for method, path, body in (("get", "/api/v1/admin/tenants", None), ("get", "/api/v1/admin/tiers", None),
                                   ("post", "/api/v1/admin/tenants", {"name": "x", "owner_email": "a@b.example.com"}),
                                   ("patch", f"/api/v1/admin/tenants/{tenant_a.id}", {"status": "suspended"})):
            r = client.request(method, path, headers=headers, json=body)
            assert_problem(r, expected[1], expected[0])
    assert client.get("/api/v1/tenant", headers=tenant_a.headers).json()["status"] == "active"


# --- audit log ------------------------------------------------------------------------------------

def test_audit_log_is_per_tenant(client, platform, tenant_a, tenant_b):
    h = tenant_a.headers
    key = client.post("/api/v1/api-keys", headers=h, json={"name": "k", "scopes": ["read"]}).json()
    assert client.delete(f"/api/v1/api-keys/{key['id']}", headers=h).status_code == 204
    add_user(platform, tenant_a.id, "m@example.com", "member")
    member_tok = login(client, "m@example.com")
    member_id = user_id_of(client, bearer(member_tok["access_token"]))
    assert client.patch(f"/api/v1/members/{member_id}", headers=h, json={"role": "admin"}).status_code == 200
    client.post("/api/v1/auth/login", json={"email": tenant_a.email, "password": "wrong wrong wrong"})
    b_key = client.post("/api/v1/api-keys", headers=tenant_b.headers, json={"name": "b", "scopes": ["read"]}).json()

    r = client.get("/api/v1/audit", headers=h)
    assert r.status_code == 200
    events = r.json()["items"]
    actions = [e["action"] for e in events]
    assert {"auth.login", "apikey.created", "apikey.revoked", "member.role_changed"} <= set(actions)
    assert "auth.login_failed" not in actions  # platform-level events stay out of tenant logs
    assert [e["target"] for e in events if e["action"].startswith("apikey.")] == [f"api_key:{key['id']}"] * 2
    changed = next(e for e in events if e["action"] == "member.role_changed")
    assert changed["target"] == f"user:{member_id}" and changed["details"] == {"old": "member", "new": "admin"}
    assert changed["actor"] == f"user:{user_id_of(client, h)}" and changed["request_id"]
    assert actions.count("auth.login") == 2  # the owner's and the member's sign-ins into A
    assert b_key["id"] not in r.text and tenant_b.email not in r.text

    only = client.get("/api/v1/audit?action=apikey.revoked", headers=h).json()["items"]
    assert [e["action"] for e in only] == ["apikey.revoked"]
    page = client.get("/api/v1/audit?limit=2", headers=h).json()
    assert len(page["items"]) == 2 and page["next_cursor"]

    b_events = client.get("/api/v1/audit", headers=tenant_b.headers).json()["items"]
    assert {e["action"] for e in b_events} == {"tenant.created", "auth.login", "apikey.created"}
    assert key["id"] not in str(b_events)

    # rights follow the membership, not the token: demoted again, the same token loses the audit log
    assert client.get("/api/v1/audit", headers=bearer(member_tok["access_token"])).status_code == 200
    assert client.patch(f"/api/v1/members/{member_id}", headers=h, json={"role": "member"}).status_code == 200
    assert_problem(client.get("/api/v1/audit", headers=bearer(member_tok["access_token"])), 403, "auth.forbidden")


def test_intranet_mail_domains_are_accepted_but_not_localhost(client, tenant_a):
    """Self-hosted deployments invite people at corp.local; special-use names like localhost stay refused."""
    for email in ("ops@corp.local", "qa@acme.test"):
        r = client.post("/api/v1/invitations", headers=tenant_a.headers, json={"email": email, "role": "viewer"})
        assert r.status_code == 201, r.text
    r = client.post("/api/v1/invitations", headers=tenant_a.headers, json={"email": "x@localhost", "role": "viewer"})
    assert r.status_code == 422
