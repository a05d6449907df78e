"""Forged, replayed and dead credentials (RFC 8725, OWASP API2:2023): one suite, one answer.

Every case is a bearer credential that must open no session. Each is sent to a real route and must
get ``401`` with the same body, byte for byte apart from ``request_id`` (``tokens.invalid_credential``),
so a probe cannot tell a good signature from a bad one, an expired token from a forged one, or a live
account from a removed one. A read-only API key that writes gets ``403``, the same body as a viewer
that writes. The real token and key work (the control), so the refusals are the checks and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import select, update

from clipdex.models import ApiKey, Membership, Tenant, User
from tests.conftest import (PASSWORD, add_user, api_client, bearer, login, migrated_sqlite_settings, new_tenant,
                            open_platform)

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS384/512 on purpose
V = "/api/v1"
READ = ("GET", f"{V}/videos", None)
WRITE = ("PUT", f"{V}/glossary", {"terms": ["forgedwrite"]})
TYP = {"typ": "at+jwt"}


@dataclass
class World:
    platform: object
    client: object
    token: str  # a genuine access token of A's owner
    tenant_id: uuid.UUID
    slug: str
    other_tenant: uuid.UUID
    other_user: uuid.UUID

    @property
    def secret(self) -> str:
        return self.platform.settings.resolved_secret_key

    def claims(self, **over) -> dict:
        good = jwt.decode(self.token, options={"verify_signature": False})
        good.update(over)
        return {k: v for k, v in good.items() if v is not None}

    def sign(self, claims: dict | None = None, headers: dict | None = TYP, alg: str = "HS256", key=None) -> str:
        return jwt.encode(self.claims() if claims is None else claims, self.secret if key is None else key,
                          algorithm=alg, headers=headers)

    def fresh_member(self, role: str = "member") -> tuple[str, dict]:
        """A new member of A signed in: (e-mail, login body)."""
        email = f"{role}-{uuid.uuid4().hex[:8]}@{self.slug}.example.com"
        add_user(self.platform, self.tenant_id, email, role)
        return email, login(self.client, email, tenant=self.slug)

    def api_key(self, scopes: list[str], tenant_token: str | None = None) -> dict:
        r = self.client.post(f"{V}/api-keys", headers=bearer(tenant_token or self.token),
                             json={"name": f"k-{uuid.uuid4().hex[:6]}", "scopes": scopes})
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("forged")
    with open_platform(migrated_sqlite_settings(tmp)) as p, api_client(p) as c:
        a, b = new_tenant(p, c, "Alpha"), new_tenant(p, c, "Bravo")
        with p.db.tenant(b.id) as s:  # users and tenants are not tenant rows: no system session needed
            b_owner = s.scalar(select(User.id).where(User.email == b.email))
        yield World(p, c, a.token, a.id, a.slug, b.id, b_owner)


# --- building the credentials -----------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def hmac_signed(header: dict, claims: dict, key: bytes) -> str:
    """HS256 with any key, including ones PyJWT refuses (empty, short, a public value)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims, default=str).encode())}"
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def unsigned(header: dict, claims: dict, sig: str = "") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{sig}"


def with_payload(token: str, **over) -> str:
    """The genuine header and signature around a changed payload."""
    head, payload, sig = token.split(".")
    return f"{head}.{_b64(json.dumps({**json.loads(_unb64(payload)), **over}).encode())}.{sig}"


def flip_signature(token: str) -> str:
    head, payload, sig = token.split(".")
    raw = bytearray(_unb64(sig))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{_b64(bytes(raw))}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _rsa_jwk_token(w: World) -> str:
    """RS256 signed by the attacker's own key, which the header carries (``jwk``) and points at (``jku``)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return jwt.encode(w.claims(), key, algorithm="RS256",
                      headers={**TYP, "jwk": jwk, "jku": "http://127.0.0.1:9/jwks.json", "kid": "attacker"})


def _es256_token(w: World) -> str:
    return jwt.encode(w.claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=TYP)


def _rs_header_hs_signature(w: World) -> str:
    """Key confusion the other way round: an RS256 header over an HMAC made with the real secret."""
    return hmac_signed({"alg": "RS256", "typ": "at+jwt"}, w.claims(), w.secret.encode())


def _removed_member(w: World) -> str:
    email, tok = w.fresh_member()
    with w.platform.db.tenant(w.tenant_id) as s:
        uid = s.scalar(select(User.id).where(User.email == email))
    r = w.client.delete(f"{V}/members/{uid}", headers=bearer(w.token))
    assert r.status_code == 204, r.text
    return tok["access_token"]


def _disabled_user(w: World) -> str:
    email, tok = w.fresh_member()
    with w.platform.db.tenant(w.tenant_id) as s:
        s.execute(update(User).where(User.email == email).values(disabled=True))
    return tok["access_token"]


def _suspended(w: World, use_key: bool) -> str:
    """A credential of a tenant the operator suspended afterwards (a tenant of its own: A stays active)."""
    t = new_tenant(w.platform, w.client, "Suspended")
    cred = w.api_key(["read"], t.token)["secret"] if use_key else t.token
    with w.platform.db.tenant(w.tenant_id) as s:
        s.get(Tenant, t.id).status = "suspended"
    return cred


def _revoked_key(w: World) -> str:
    key = w.api_key(["read", "write"])
    assert w.client.delete(f"{V}/api-keys/{key['id']}", headers=bearer(w.token)).status_code == 204
    return key["secret"]


def _expired_key(w: World) -> str:
    key = w.api_key(["read"])
    with w.platform.db.tenant(w.tenant_id) as s:
        s.execute(update(ApiKey).where(ApiKey.id == uuid.UUID(key["id"])).values(expires_at=_now() - timedelta(1)))
    return key["secret"]


def _forged_key(w: World) -> str:
    prefix = w.api_key(["read"])["secret"].split("_")[1]
    return f"cdx_{prefix}_{_b64(uuid.uuid4().bytes * 2)}"


def _logged_out(w: World) -> str:
    _, tok = w.fresh_member()
    assert w.client.post(f"{V}/auth/logout", json={"refresh_token": tok["refresh_token"]}).status_code == 204
    return tok["access_token"]


def _reused_refresh(w: World) -> str:
    """A stolen refresh token is replayed after the holder rotated it: the whole session dies."""
    _, tok = w.fresh_member()
    rotated = w.client.post(f"{V}/auth/refresh", json={"refresh_token": tok["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    replay = w.client.post(f"{V}/auth/refresh", json={"refresh_token": tok["refresh_token"]})
    assert replay.status_code == 401, replay.text
    return rotated.json()["access_token"]


def _reset_token_as_access(w: World) -> str:
    from clipdex.auth import reset

    with w.platform.db.tenant(w.tenant_id) as s:
        user = s.scalar(select(User).join(Membership, Membership.user_id == User.id)
                        .where(Membership.tenant_id == w.tenant_id))
        return reset.issue_token(w.platform, user)


def _refresh_as_access(w: World) -> str:
    return w.fresh_member()[1]["refresh_token"]


Builder = Callable[[World], str]

# name -> how to build the credential; each must answer the uniform 401 on a read route
CASES: dict[str, Builder] = {
    "alg none": lambda w: jwt.encode(w.claims(), None, algorithm="none", headers=TYP),
    "alg none without the signature dot": lambda w: jwt.encode(w.claims(), None, algorithm="none",
                                                               headers=TYP).rstrip("."),
    "alg None (capitalised) with the genuine signature": lambda w: unsigned(
        {"alg": "None", "typ": "at+jwt"}, w.claims(), w.token.split(".")[2]),
    "no alg in the header": lambda w: unsigned({"typ": "at+jwt"}, w.claims(), w.token.split(".")[2]),
    "HS256 keyed with the issuer (a public value)": lambda w: hmac_signed(
        {"alg": "HS256", "typ": "at+jwt"}, w.claims(), w.platform.settings.jwt_issuer.encode()),
    "HS256 keyed with the audience (a public value)": lambda w: hmac_signed(
        {"alg": "HS256", "typ": "at+jwt"}, w.claims(), w.platform.settings.jwt_audience.encode()),
    "HS256 keyed with the public URL": lambda w: hmac_signed(
        {"alg": "HS256", "typ": "at+jwt"}, w.claims(), w.platform.settings.public_url.encode()),
    "HS256 with an empty key": lambda w: hmac_signed({"alg": "HS256", "typ": "at+jwt"}, w.claims(), b""),
    "HS256 with another secret": lambda w: w.sign(key="x" * 40),
    "HS512 with the real secret": lambda w: w.sign(alg="HS512"),
    "HS384 with the real secret": lambda w: w.sign(alg="HS384"),
    "RS256 by the attacker's key carried in jwk/jku": _rsa_jwk_token,
    "ES256 by the attacker's key": _es256_token,
    "RS256 header over an HMAC with the real secret (key confusion)": _rs_header_hs_signature,
    "kid path traversal, HMAC with an empty key": lambda w: hmac_signed(
        {"alg": "HS256", "typ": "at+jwt", "kid": "../../../../dev/null"}, w.claims(), b""),
    "wrong iss": lambda w: w.sign(w.claims(iss="https://evil.example.com")),
    "wrong aud": lambda w: w.sign(w.claims(aud="someone-else")),
    "typ JWT": lambda w: w.sign(headers={"typ": "JWT"}),
    "no typ": lambda w: w.sign(headers=None),
    "password-reset token (its own typ and aud) as access": _reset_token_as_access,
    "refresh token as access": _refresh_as_access,
    "expired": lambda w: w.sign(w.claims(iat=_now() - timedelta(hours=2), nbf=_now() - timedelta(hours=2),
                                         exp=_now() - timedelta(hours=1))),
    "not yet valid (nbf in an hour)": lambda w: w.sign(w.claims(nbf=_now() + timedelta(hours=1))),
    "issued in the future (iat in an hour)": lambda w: w.sign(w.claims(
        iat=_now() + timedelta(hours=1), nbf=_now(), exp=_now() + timedelta(hours=1, minutes=5))),
    "lifetime a year (over the cap)": lambda w: w.sign(w.claims(exp=_now() + timedelta(days=365))),
    "lifetime one minute over the configured cap": lambda w: w.sign(w.claims(
        iat=_now(), exp=_now() + timedelta(seconds=w.platform.settings.access_token_ttl_s + 60))),
    "no exp": lambda w: w.sign(w.claims(exp=None)),
    "no sid (no session to check)": lambda w: w.sign(w.claims(sid=None)),
    "no jti": lambda w: w.sign(w.claims(jti=None)),
    "sub not a uuid": lambda w: w.sign(w.claims(sub="admin")),
    "unknown user": lambda w: w.sign(w.claims(sub=str(uuid.uuid4()))),
    "signed for a tenant the user is not in": lambda w: w.sign(w.claims(tid=str(w.other_tenant))),
    "signed as another tenant's owner in a made-up session": lambda w: w.sign(w.claims(
        sub=str(w.other_user), tid=str(w.other_tenant), sid=str(uuid.uuid4()))),
    "tampered payload: tid of another tenant": lambda w: with_payload(w.token, tid=str(w.other_tenant)),
    "tampered payload: sub of another user": lambda w: with_payload(w.token, sub=str(w.other_user)),
    "tampered payload: exp pushed a day out": lambda w: with_payload(
        w.token, exp=int((_now() + timedelta(days=1)).timestamp())),
    "tampered signature (one bit)": lambda w: flip_signature(w.token),
    "signature of another genuine token": lambda w: w.token.rsplit(".", 1)[0] + "." + login(
        w.client, w.fresh_member()[0], tenant=w.slug)["access_token"].rsplit(".", 1)[1],
    "truncated by ten characters": lambda w: w.token[:-10],
    "truncated to header.payload": lambda w: w.token.rsplit(".", 1)[0],
    "truncated to the header": lambda w: w.token.split(".")[0],
    "an extra segment": lambda w: w.token + ".e30",
    "five segments (JWE shape)": lambda w: w.token + ".e30.e30",
    "garbage": lambda w: "not-a-jwt-at-all",
    "three dots of garbage": lambda w: "a.b.c",
    "user removed from the tenant": _removed_member,
    "disabled user": _disabled_user,
    "suspended tenant (access token)": lambda w: _suspended(w, use_key=False),
    "suspended tenant (API key)": lambda w: _suspended(w, use_key=True),
    "revoked API key": _revoked_key,
    "expired API key": _expired_key,
    "API key with the right prefix and a forged secret": _forged_key,
    "API key prefix alone": lambda w: "cdx_",
    "logged-out session": _logged_out,
    "session revoked by refresh-token reuse": _reused_refresh,
}

_REQUEST_ID = re.compile(rb'"request_id":\s*(?:"[^"]*"|null)')


def _canonical(r) -> bytes:
    """The response as a client sees it, with the one field that must vary per request blanked."""
    return _REQUEST_ID.sub(b'"request_id":"-"', r.content)


def _send(w: World, credential: str, call=READ):
    method, path, body = call
    return w.client.request(method, path, headers=bearer(credential), json=body)


@pytest.fixture(scope="module")
def reference(world) -> tuple[bytes, str]:
    """The uniform refusal, taken from the plainest forgery; the genuine token works (control)."""
    assert _send(world, world.token).status_code == 200
    r = _send(world, "not-a-jwt-at-all")
    assert r.status_code == 401 and r.json()["code"] == "auth.invalid_token", r.text
    return _canonical(r), r.headers["content-type"]


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", list(CASES))
def test_forged_credential_gets_the_uniform_401(world, reference, name):
    credential = CASES[name](world)
    body, ctype = reference
    for call in (READ, WRITE):
        r = _send(world, credential, call)
        assert r.status_code == 401, (name, call[:2], r.text)
        assert r.headers["content-type"] == ctype
        assert _canonical(r) == body, (name, r.text)
        assert r.json()["request_id"]  # the varying field is there and is the request's own


def test_read_scope_key_that_writes_gets_the_same_403_as_a_viewer(world):
    key = world.api_key(["read"])["secret"]
    assert _send(world, key).status_code == 200  # the key itself is good
    by_key = _send(world, key, WRITE)
    by_viewer = _send(world, world.fresh_member("viewer")[1]["access_token"], WRITE)
    assert by_key.status_code == by_viewer.status_code == 403, (by_key.text, by_viewer.text)
    assert by_key.json()["code"] == "auth.forbidden"
    assert _canonical(by_key) == _canonical(by_viewer)
    write_key = world.api_key(["read", "write"])["secret"]
    assert _send(world, write_key, WRITE).status_code == 200  # the write itself is allowed to writers


def test_the_refresh_endpoint_refuses_replays_and_access_tokens(world):
    _, tok = world.fresh_member()
    assert world.client.post(f"{V}/auth/refresh", json={"refresh_token": tok["refresh_token"]}).status_code == 200
    for presented in (tok["refresh_token"], tok["access_token"], "rt_" + _b64(uuid.uuid4().bytes)):
        r = world.client.post(f"{V}/auth/refresh", json={"refresh_token": presented})
        assert r.status_code == 401, r.text
        assert r.json()["code"] in ("auth.refresh_token_reused", "auth.invalid_refresh_token")


def test_no_credential_and_other_schemes_are_401(world):
    for headers in ({}, {"Authorization": f"Basic {world.token}"}, {"Authorization": "Bearer"},
                    {"Authorization": f"Token {world.token}"}):
        r = world.client.get(f"{V}/videos", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "auth.unauthenticated", (headers, r.text)


def test_suspended_tenant_is_told_at_sign_in(world):
    """A bearer learns nothing, but a member who proves the password hears why (the console shows it)."""
    t = new_tenant(world.platform, world.client, "Paused")
    with world.platform.db.tenant(t.id) as s:
        s.get(Tenant, t.id).status = "suspended"
    r = world.client.post(f"{V}/auth/login", json={"email": t.email, "password": PASSWORD, "tenant": t.slug})
    assert r.status_code == 403 and r.json()["code"] == "tenant.suspended", r.text
