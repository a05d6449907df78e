"""JWT access tokens (RFC 8725 checks) and opaque rotating refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from clipdex.errors import InvalidToken, Unauthenticated

ALGORITHM = "HS256"
MAX_ACCESS_TTL_S = 900  # no access token lives longer, whatever it says
ACCESS_TYP = "at+jwt"  # RFC 9068 media type, checked so other JWTs cannot pass as access tokens


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    jti: str
    session_id: uuid.UUID  # the refresh-token family: revoking it ends the access tokens at once


def issue_access_token(secret: str, *, issuer: str, audience: str, ttl_s: int,
                       user_id: uuid.UUID, tenant_id: uuid.UUID | None, session_id: uuid.UUID) -> tuple[str, int]:
    now = datetime.now(timezone.utc)
    ttl_s = min(ttl_s, MAX_ACCESS_TTL_S)
    claims = {
        "iss": issuer, "aud": audience, "sub": str(user_id),
        "tid": str(tenant_id) if tenant_id else None,
        "iat": now, "nbf": now, "exp": now + timedelta(seconds=ttl_s), "jti": secrets.token_hex(8),
        "sid": str(session_id),
    }
    token = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"typ": ACCESS_TYP})
    return token, ttl_s


def decode_access_token(secret: str, token: str, *, issuer: str, audience: str,
                        max_ttl_s: int = MAX_ACCESS_TTL_S) -> AccessClaims:
    """Verify an access token; one minted with a lifetime (``exp - iat``) above ``max_ttl_s`` is
    refused even when its signature is good, so a leaked signing key or a bug that mints long-lived
    tokens cannot outlast the configured session length."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM or header.get("typ") != ACCESS_TYP:
            raise jwt.InvalidTokenError("unexpected header")
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "sid"]}, leeway=5,
        )
        if not isinstance(claims["iat"], (int, float)) or not isinstance(claims["exp"], (int, float)) \
                or claims["exp"] - claims["iat"] > min(max_ttl_s, MAX_ACCESS_TTL_S) \
                or claims["iat"] > datetime.now(timezone.utc).timestamp() + 5:
            raise jwt.InvalidTokenError("lifetime above the maximum")
        tid = claims.get("tid")
        return AccessClaims(uuid.UUID(claims["sub"]), uuid.UUID(tid) if tid else None, claims["jti"],
                            uuid.UUID(claims["sid"]))
    except (jwt.InvalidTokenError, ValueError, KeyError):  # expired included: see invalid_credential
        raise invalid_credential() from None


def invalid_credential() -> Unauthenticated:
    """The one answer to every bearer credential that opens no session: forged, expired, revoked,
    of a removed member or a suspended tenant, an unknown API key. Byte-for-byte the same body, so
    a probe cannot tell a good signature from a bad one or a live account from a gone one
    (tests/security/test_forged_tokens.py)."""
    return InvalidToken("The credential is not valid.")


def new_opaque_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is a safe, fast at-rest hash."""
    return hashlib.sha256(token.encode()).hexdigest()
