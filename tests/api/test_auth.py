"""Sign-in, JWT access tokens (RFC 8725 checks), refresh rotation, throttling and tenant switching."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from clipdex.models import AuditEvent, RefreshToken, User
from clipdex.tenancy.system import SystemReason
from tests.api.ingest_support import assert_problem
from tests.conftest import PASSWORD, add_user, bearer, login

LOGIN = "/api/v1/auth/login"


def audit_actions(platform, action: str) -> list[AuditEvent]:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- sign-in -----------------------------------------------------------------------------------

def test_login_returns_tokens_tenant_and_role(client, platform, tenant_a):
    body = login(client, tenant_a.email)
    assert set(body) >= {"access_token", "refresh_token", "tenant", "role", "expires_in"}
    assert body["tenant"]["id"] == str(tenant_a.id) and body["tenant"]["slug"] == tenant_a.slug
    assert body["role"] == "owner" and body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["refresh_token"].startswith("rt_") and body["refresh_token"].count(".") == 0  # opaque, not a JWT
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()
    assert me["email"] == tenant_a.email and me["role"] == "owner" and me["tenant"]["slug"] == tenant_a.slug
    # e-mail matching is case-insensitive and ignores surrounding blanks
    assert login(client, f"  {tenant_a.email.upper()} ")["tenant"]["slug"] == tenant_a.slug
    assert audit_actions(platform, "auth.login")


def test_wrong_password_and_unknown_email_are_indistinguishable(client, platform, tenant_a):
    wrong = client.post(LOGIN, json={"email": tenant_a.email, "password": "not the password at all"})
    unknown = client.post(LOGIN, json={"email": "nobody@nowhere.example.com", "password": PASSWORD})
    a = assert_problem(wrong, 401, "auth.invalid_credentials")
    b = assert_problem(unknown, 401, "auth.invalid_credentials")
    assert (a["title"], a["detail"]) == (b["title"], b["detail"])
    assert "access_token" not in wrong.text and "access_token" not in unknown.text
    failed = audit_actions(platform, "auth.login_failed")
    assert len(failed) == 2 and all(e.tenant_id is None for e in failed)


def test_user_in_two_tenants_default_named_and_switch(client, platform, tenant_a, tenant_b):
    email = "both@example.com"
    add_user(platform, tenant_a.id, email, "viewer")  # first membership
    add_user(platform, tenant_b.id, email, "admin")

    default = login(client, email)
    assert default["tenant"]["id"] == str(tenant_a.id) and default["role"] == "viewer"
    named = login(client, email, tenant=tenant_b.slug)
    assert named["tenant"]["id"] == str(tenant_b.id) and named["role"] == "admin"
    by_id = login(client, email, tenant=str(tenant_b.id))
    assert by_id["tenant"]["id"] == str(tenant_b.id)
    me = client.get("/api/v1/auth/me", headers=bearer(default["access_token"])).json()
    assert {t["slug"]: t["role"] for t in me["tenants"]} == {tenant_a.slug: "viewer", tenant_b.slug: "admin"}

    old = default["access_token"]
    r = client.post("/api/v1/auth/switch", headers=bearer(old), json={"tenant": tenant_b.slug})
    assert r.status_code == 200, r.text
    switched = r.json()
    assert switched["tenant"]["id"] == str(tenant_b.id) and switched["role"] == "admin"
    assert switched["refresh_token"] != default["refresh_token"]

    # each token sees only the tenant it was issued for
    assert client.get("/api/v1/tenant", headers=bearer(switched["access_token"])).json()["id"] == str(tenant_b.id)
    assert client.get("/api/v1/tenant", headers=bearer(old)).json()["id"] == str(tenant_a.id)
    # the viewer token of A still has viewer rights only; the switched admin token manages B
    assert client.get("/api/v1/members", headers=bearer(old)).status_code == 403
    members = client.get("/api/v1/members", headers=bearer(switched["access_token"])).json()["items"]
    assert {m["email"] for m in members} == {tenant_b.email, email}
    # refreshing the switched session stays in B
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": switched["refresh_token"]}).json()
    assert again["tenant"]["id"] == str(tenant_b.id) and again["role"] == "admin"

    assert audit_actions(platform, "auth.switch_tenant")

    # signing in to, or switching to, a tenant one is not a member of is refused (by slug, id or nonsense)
    refs = (tenant_b.slug, str(tenant_b.id), "no-such-tenant", str(uuid.uuid4()))
    for ref in refs[::2]:  # every sign-in costs an argon2 verification; switching covers all four
        r = client.post(LOGIN, json={"email": tenant_a.email, "password": PASSWORD, "tenant": ref})
        assert_problem(r, 403, "auth.no_membership")
    for ref in refs:
        assert_problem(client.post("/api/v1/auth/switch", headers=tenant_a.headers, json={"tenant": ref}), 403,
                   "auth.no_membership")


def test_removed_membership_invalidates_access_token(client, platform, tenant_a):
    add_user(platform, tenant_a.id, "leaver@example.com", "member")
    tok = login(client, "leaver@example.com")
    user_id = client.get("/api/v1/auth/me", headers=bearer(tok["access_token"])).json()["id"]
    assert client.delete(f"/api/v1/members/{user_id}", headers=tenant_a.headers).status_code == 204
    assert_problem(client.get("/api/v1/videos", headers=bearer(tok["access_token"])), 401, "auth.invalid_token")
    # removing the member deletes their sessions for this tenant (tenancy/deletion.member_residue)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tok["refresh_token"]})
    assert_problem(r, 401, "auth.invalid_refresh_token")


def test_removed_member_api_keys_are_revoked(client, platform, tenant_a):
    """A removed admin saw each key's secret once and may still hold it: their keys stop working, the
    owner's keep working, and the audit log says why."""
    add_user(platform, tenant_a.id, "keymaker@example.com", "admin")
    tok = login(client, "keymaker@example.com")
    h = bearer(tok["access_token"])
    user_id = client.get("/api/v1/auth/me", headers=h).json()["id"]
    theirs = client.post("/api/v1/api-keys", headers=h, json={"name": "their bot", "scopes": ["read"]}).json()
    ours = client.post("/api/v1/api-keys", headers=tenant_a.headers,
                       json={"name": "our bot", "scopes": ["read"]}).json()
    assert client.get("/api/v1/videos", headers=bearer(theirs["secret"])).status_code == 200
    assert client.delete(f"/api/v1/members/{user_id}", headers=tenant_a.headers).status_code == 204
    assert_problem(client.get("/api/v1/videos", headers=bearer(theirs["secret"])), 401, "auth.invalid_token")
    assert client.get("/api/v1/videos", headers=bearer(ours["secret"])).status_code == 200
    listed = {k["id"]: k for k in client.get("/api/v1/api-keys", headers=tenant_a.headers).json()["items"]}
    assert listed[theirs["id"]]["revoked_at"] and not listed[ours["id"]]["revoked_at"]
    events = client.get("/api/v1/audit", headers=tenant_a.headers, params={"action": "apikey.revoked"}).json()["items"]
    assert [e["target"] for e in events] == [f"api_key:{theirs['id']}"]
    assert events[0]["details"]["reason"] == "creator removed from the tenant"


def test_disabled_account_loses_every_credential(client, platform, tenant_a):
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(update(User).where(User.email == tenant_a.email).values(disabled=True))
    assert_problem(client.get("/api/v1/videos", headers=tenant_a.headers), 401, "auth.invalid_token")
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": tenant_a.refresh}), 401,
               "auth.invalid_refresh_token")
    assert_problem(client.post(LOGIN, json={"email": tenant_a.email, "password": PASSWORD}), 401,
               "auth.invalid_credentials")


# --- JWT access tokens (RFC 8725) --------------------------------------------------------------

def test_access_token_shape(client, platform, tenant_a):
    header = jwt.get_unverified_header(tenant_a.token)
    assert header["alg"] == "HS256" and header["typ"] == "at+jwt"
    claims = jwt.decode(tenant_a.token, options={"verify_signature": False})
    for claim in ("iss", "aud", "exp", "iat", "sub", "jti"):
        assert claims.get(claim), claim
    st = platform.settings
    assert claims["iss"] == st.jwt_issuer and claims["aud"] == st.jwt_audience
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert claims["tid"] == str(tenant_a.id)
    me = client.get("/api/v1/auth/me", headers=tenant_a.headers).json()
    assert claims["sub"] == me["id"]
    # no secrets or profile data in a token anyone can read
    assert tenant_a.email not in str(claims) and PASSWORD not in str(claims)
    # every token gets its own id
    other = login(client, tenant_a.email)["access_token"]
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


# Forged, tampered, expired and revoked credentials: tests/security/test_forged_tokens.py (one
# parametrized suite that also checks every refusal has the same body).


# --- refresh rotation --------------------------------------------------------------------------

def test_refresh_rotates_and_reuse_revokes_the_family(client, platform, tenant_a):
    first = login(client, tenant_a.email)
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["tenant"]["id"] == str(tenant_a.id) and second["role"] == "owner"
    assert client.get("/api/v1/videos", headers=bearer(second["access_token"])).status_code == 200

    # the old refresh token comes back: a stolen copy is in play
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reused, 401, "auth.refresh_token_reused")
    # ... so the legitimate holder's newer token is dead too, and so are the session's access tokens
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(r, 401, "auth.invalid_refresh_token")
    for access in (first["access_token"], second["access_token"]):
        assert_problem(client.get("/api/v1/videos", headers=bearer(access)), 401, "auth.invalid_token")
    events = audit_actions(platform, "auth.refresh_reuse_detected")
    assert len(events) == 1 and events[0].tenant_id == tenant_a.id

    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        rows = list(s.scalars(select(RefreshToken).where(RefreshToken.family_id == select(
            RefreshToken.family_id).where(RefreshToken.token_hash == _hash(first["refresh_token"])).scalar_subquery())))
        assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
        # only hashes are stored
        assert not any(first["refresh_token"] in row.token_hash for row in rows)

    # other sessions of the same user are untouched
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tenant_a.refresh}).status_code == 200


def _hash(token: str) -> str:
    from clipdex.auth.tokens import token_hash

    return token_hash(token)


def test_logout_revokes_the_family(client, platform, tenant_a):
    first = login(client, tenant_a.email)
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert client.get("/api/v1/videos", headers=bearer(second["access_token"])).status_code == 200
    # signing out with the original token ends the rotated session as well
    assert client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]}).status_code == 204
    # its access tokens stop working at once, not 15 minutes later; other sessions go on
    assert_problem(client.get("/api/v1/videos", headers=bearer(second["access_token"])), 401, "auth.invalid_token")
    assert client.get("/api/v1/videos", headers=tenant_a.headers).status_code == 200
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(r, 401, "auth.invalid_refresh_token")
    # logging out twice, or with an unknown token, is harmless and reveals nothing
    assert client.post("/api/v1/auth/logout", json={"refresh_token": second["refresh_token"]}).status_code == 204
    assert client.post("/api/v1/auth/logout", json={"refresh_token": "rt_unknown"}).status_code == 204
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_unknown"}), 401,
               "auth.invalid_refresh_token")
    assert audit_actions(platform, "auth.logout")

    # an expired refresh token is refused like an unknown one
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(update(RefreshToken).where(RefreshToken.token_hash == _hash(tenant_a.refresh)).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": tenant_a.refresh}), 401,
               "auth.invalid_refresh_token")


# --- throttling --------------------------------------------------------------------------------

def test_failed_logins_lock_the_email_and_ip(client, platform, tenant_a):
    platform.settings.login_max_failures = 3  # the limit is read from settings; a small one keeps this fast
    wrong = {"email": tenant_a.email, "password": "nope nope nope"}
    # a success in between starts the count again
    for _ in range(2):
        assert_problem(client.post(LOGIN, json=wrong), 401, "auth.invalid_credentials")
    login(client, tenant_a.email)
    for i in range(3):
        email = tenant_a.email.upper() if i % 2 else tenant_a.email  # case does not make a new counter
        r = client.post(LOGIN, json={"email": email, "password": f"wrong password {i}"})
        assert_problem(r, 401, "auth.invalid_credentials")
    r = client.post(LOGIN, json={"email": tenant_a.email, "password": PASSWORD})
    assert_problem(r, 429, "auth.too_many_attempts")
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= platform.settings.login_window_s + 1
    assert "access_token" not in r.text

    # the lock is per e-mail and address: the same account from another address still signs in ...
    elsewhere = TestClient(client.app, client=("203.0.113.7", 40000))
    assert elsewhere.post(LOGIN, json={"email": tenant_a.email, "password": PASSWORD}).status_code == 200
    # ... and tokens issued before the lock keep working
    assert client.get("/api/v1/videos", headers=tenant_a.headers).status_code == 200


# --- errors ------------------------------------------------------------------------------------

LEAKS = ("Traceback", 'File "', "/work/", "site-packages", ".py", "sqlalchemy", "SELECT ", "INSERT ",
         "psycopg", "sqlite3")


def assert_clean_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] and body["status"] == status and body["title"]
    for leak in LEAKS:
        assert leak not in r.text, (leak, r.text)
    return body


def test_validation_error_does_not_echo_the_password(client):
    secret = "hunter2-very-secret-value"
    r = client.post(LOGIN, json={"email": ["not", "a", "string"], "password": secret, "tenant": {"x": 1}})
    body = assert_clean_problem(r, 422)
    assert body["code"] == "request.invalid" and body["errors"]
    assert secret not in r.text
    assert any(e["loc"][-1] == "email" for e in body["errors"])
    r = client.post(LOGIN, json={"email": "a@example.com", "password": secret * 100})  # over max_length
    assert_clean_problem(r, 422)
    assert secret not in r.text
    r = client.post(LOGIN, content=b"{not json", headers={"content-type": "application/json"})
    assert_clean_problem(r, 422)


def test_unknown_route_and_method_are_problems(client, tenant_a):
    body = assert_clean_problem(client.get("/api/v1/no/such/route"), 404)
    assert body["code"] == "resource.not_found"
    body = assert_clean_problem(client.get(f"/api/v1/videos/{uuid.uuid4()}", headers=tenant_a.headers), 404)
    assert body["code"] == "resource.not_found"
    assert_clean_problem(client.get("/api/v1/videos/not-a-uuid", headers=tenant_a.headers), 422)
    body = assert_clean_problem(client.put(LOGIN, json={}), 405)
    assert body["code"] == "request.method_not_allowed"


def test_protected_routes_need_credentials(client):
    for path in ("/api/v1/videos", "/api/v1/members", "/api/v1/audit", "/api/v1/api-keys", "/api/v1/admin/tenants",
                 "/api/v1/auth/me"):
        assert_problem(client.get(path), 401, "auth.unauthenticated")
