"""Sign-in, token rotation, tenant switching, API keys, and turning credentials into Principals."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from clipdex.auth import tokens
from clipdex.auth.passwords import verify_password
from clipdex.auth.principal import Principal
from clipdex.db.types import utcnow
from clipdex.errors import (
    ActionForbidden,
    AuthRequired,
    ClipdexError,
    InvalidCredentials,
    InvalidRefreshToken,
    NoMembership,
    RefreshTokenReused,
    TenantSuspended,
    TooManySignIns,
)
from clipdex.models import ApiKey, LoginFailure, Membership, RefreshToken, Tenant, User
from clipdex.platform import Platform
from clipdex.tenancy import audit
from clipdex.tenancy.scope import owned_by
from clipdex.tenancy.system import SystemReason, system_session

API_KEY_PREFIX = "cdx"


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    tenant: Tenant | None
    role: str | None


def _failure_key(email: str, ip: str) -> str:
    return hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()


def _ip_key(ip: str) -> str:
    """One counter per client address across all e-mails (password spraying)."""
    return hashlib.sha256(f"ip|{ip}".encode()).hexdigest()


def _check_throttle(s: Session, platform: Platform, key: str) -> None:
    row = s.get(LoginFailure, key)
    now = utcnow()
    if row and row.locked_until and row.locked_until > now:
        retry = int((row.locked_until - now).total_seconds()) + 1
        raise TooManySignIns("Too many failed sign-ins. Try again later.", headers={"Retry-After": str(retry)})


def _record_failure(s: Session, platform: Platform, key: str, limit: int | None = None) -> None:
    st = platform.settings
    limit = limit or st.login_max_failures
    now = utcnow()
    row = s.get(LoginFailure, key)
    if row is None or now - row.window_start > timedelta(seconds=st.login_window_s):
        row = row or LoginFailure(key=key, count=0, window_start=now)
        row.count, row.window_start, row.locked_until = 0, now, None
        s.add(row)
    row.count += 1
    if row.count >= limit:
        row.locked_until = now + timedelta(seconds=st.login_window_s)


def _tenants_of(user_id: uuid.UUID) -> Select:
    """(Tenant, role) rows of every tenant the user belongs to: sign-in work, across tenants by design."""
    return select(Tenant, Membership.role).join(Membership, owned_by(Membership, Tenant.id)).where(
        Membership.user_id == user_id)


def _resolve_tenant(s: Session, user: User, tenant_ref: str | None) -> tuple[Tenant | None, str | None]:
    q = _tenants_of(user.id)
    if tenant_ref:
        try:
            q = q.where(Tenant.id == uuid.UUID(tenant_ref))
        except ValueError:
            q = q.where(Tenant.slug == tenant_ref.lower())
    row = s.execute(q.order_by(Membership.created_at)).first()
    if row is None:
        if user.is_operator and not tenant_ref:
            return None, None
        raise NoMembership("This account is not a member of that tenant.")
    tenant, role = row
    if tenant.status != "active":
        raise TenantSuspended("This tenant is suspended.")
    return tenant, role


def _issue(s: Session, platform: Platform, user: User, tenant: Tenant | None, role: str | None,
           family: uuid.UUID | None = None) -> TokenPair:
    st = platform.settings
    family = family or uuid.uuid4()
    access, ttl = tokens.issue_access_token(
        st.resolved_secret_key, issuer=st.jwt_issuer, audience=st.jwt_audience,
        ttl_s=st.access_token_ttl_s, user_id=user.id, tenant_id=tenant.id if tenant else None, session_id=family)
    refresh = tokens.new_opaque_token("rt")
    s.add(RefreshToken(
        tenant_id=tenant.id if tenant else None, user_id=user.id, family_id=family,
        token_hash=tokens.token_hash(refresh),
        expires_at=utcnow() + timedelta(seconds=st.refresh_token_ttl_s)))
    return TokenPair(access, refresh, ttl, tenant, role)


def login(platform: Platform, email: str, password: str, tenant_ref: str | None, ip: str) -> TokenPair:
    key, ip_key = _failure_key(email, ip), _ip_key(ip)
    with system_session(platform, SystemReason.SIGN_IN) as s:
        _check_throttle(s, platform, key)
        _check_throttle(s, platform, ip_key)
        user = s.scalar(select(User).where(User.email == email.strip().lower()))
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            _record_failure(s, platform, key)
            _record_failure(s, platform, ip_key, platform.settings.login_max_failures_per_ip)
            audit.record(s, "auth.login_failed", actor=f"email:{email.strip().lower()[:100]}")
            failed = True
        else:
            failed = False
            s.execute(update(LoginFailure).where(LoginFailure.key == key).values(count=0, locked_until=None))
            tenant, role = _resolve_tenant(s, user, tenant_ref)
            pair = _issue(s, platform, user, tenant, role)
            audit.record(s, "auth.login", actor=f"user:{user.id}", tenant_id=tenant.id if tenant else None)
    if failed:  # raised after the commit so the failure counter sticks
        raise InvalidCredentials("E-mail or password is wrong.")
    return pair


def refresh(platform: Platform, refresh_token: str) -> TokenPair:
    reused = False
    with system_session(platform, SystemReason.SIGN_IN) as s:
        row = s.scalar(select(RefreshToken).where(RefreshToken.token_hash == tokens.token_hash(refresh_token)))
        now = utcnow()
        if row is None or row.revoked_at or row.expires_at < now:
            raise InvalidRefreshToken("The refresh token is not valid.")
        claimed = s.execute(update(RefreshToken).where(
            RefreshToken.id == row.id, RefreshToken.used_at.is_(None)).values(used_at=now)).rowcount
        if not claimed:
            # A rotated token came back: someone holds a stolen copy. Revoke the whole family.
            s.execute(update(RefreshToken).where(RefreshToken.family_id == row.family_id,
                                                 RefreshToken.revoked_at.is_(None)).values(revoked_at=now))
            audit.record(s, "auth.refresh_reuse_detected", actor=f"user:{row.user_id}",
                         tenant_id=row.tenant_id)
            reused = True
        else:
            user = s.get(User, row.user_id)
            if user is None or user.disabled:
                raise InvalidRefreshToken("The refresh token is not valid.")
            tenant, role = _resolve_tenant(s, user, str(row.tenant_id) if row.tenant_id else None)
            pair = _issue(s, platform, user, tenant, role, family=row.family_id)
    if reused:
        raise RefreshTokenReused("The refresh token was already used; the session has been revoked.")
    return pair


def logout(platform: Platform, refresh_token: str) -> None:
    with system_session(platform, SystemReason.SIGN_IN) as s:
        row = s.scalar(select(RefreshToken).where(RefreshToken.token_hash == tokens.token_hash(refresh_token)))
        if row is None:
            return
        s.execute(update(RefreshToken).where(RefreshToken.family_id == row.family_id,
                                             RefreshToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
        audit.record(s, "auth.logout", actor=f"user:{row.user_id}", tenant_id=row.tenant_id)


def switch_tenant(platform: Platform, principal: Principal, tenant_ref: str) -> TokenPair:
    if principal.actor_type != "user":
        raise ActionForbidden("API keys are bound to one tenant.")
    with system_session(platform, SystemReason.SIGN_IN) as s:
        user = s.get(User, principal.actor_id)
        tenant, role = _resolve_tenant(s, user, tenant_ref)
        pair = _issue(s, platform, user, tenant, role)
        audit.record(s, "auth.switch_tenant", actor=principal.actor, tenant_id=tenant.id if tenant else None)
    return pair


# --- API keys -------------------------------------------------------------------------------

def _key_hash(platform: Platform, key: str) -> str:
    return hmac.new(platform.settings.resolved_secret_key.encode(), key.encode(), hashlib.sha256).hexdigest()


def create_api_key(platform: Platform, s: Session, principal: Principal, name: str, scopes: list[str],
                   expires_at: datetime | None) -> tuple[ApiKey, str]:
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(tenant_id=principal.tenant_id, name=name, prefix=prefix, key_hash=_key_hash(platform, secret),
                 scopes=sorted(set(scopes)), expires_at=expires_at, created_by=principal.actor_id)
    s.add(key)
    s.flush()
    audit.record(s, "apikey.created", actor=principal.actor, tenant_id=principal.tenant_id,
                 target=f"api_key:{key.id}", scopes=key.scopes)
    return key, secret


def principal_from_api_key(platform: Platform, secret: str) -> Principal:
    # The random tail is base64url and may itself contain "_": split off the two known fields only.
    parts = secret.split("_", 2)
    invalid = tokens.invalid_credential()
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        raise invalid
    with system_session(platform, SystemReason.SIGN_IN, readonly=True) as s:  # no write lock on the hot path
        key = s.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
        now = utcnow()
        if key is None or not hmac.compare_digest(key.key_hash, _key_hash(platform, secret)):
            raise invalid
        if key.revoked_at or (key.expires_at and key.expires_at < now):
            raise invalid
        tenant = s.get(Tenant, key.tenant_id)
        if tenant is None or tenant.status != "active":  # sign-in says "suspended"; a bearer learns nothing
            raise invalid
        stale = key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1)
        principal = Principal(tenant_id=key.tenant_id, actor_type="api_key", actor_id=key.id,
                              scopes=tuple(key.scopes), tenant_tier=tenant.tier)
    if stale:  # at most one short write a minute per key
        with system_session(platform, SystemReason.SIGN_IN) as s:
            s.execute(update(ApiKey).where(ApiKey.id == principal.actor_id).values(last_used_at=now))
    return principal


def _session_live(s: Session, session_id: uuid.UUID) -> bool:
    """Whether the token's session (refresh family) is still open: sign-out and refresh-token reuse
    revoke the family, and with it every access token issued in it, at once."""
    return s.scalar(select(RefreshToken.id).where(RefreshToken.family_id == session_id,
                                                  RefreshToken.revoked_at.is_(None)).limit(1)) is not None


def principal_from_access_token(platform: Platform, token: str) -> Principal:
    st = platform.settings
    claims = tokens.decode_access_token(st.resolved_secret_key, token, issuer=st.jwt_issuer,
                                        audience=st.jwt_audience, max_ttl_s=st.access_token_ttl_s)
    # Every request comes here: never take the write lock.
    with system_session(platform, SystemReason.SIGN_IN, readonly=True) as s:
        user = s.get(User, claims.user_id)
        if user is None or user.disabled or not _session_live(s, claims.session_id):
            raise tokens.invalid_credential()
        if claims.tenant_id is None:
            return Principal(tenant_id=None, actor_type="user", actor_id=user.id, is_operator=user.is_operator)
        row = s.execute(_tenants_of(user.id).where(Tenant.id == claims.tenant_id)).first()
        if row is None:
            raise tokens.invalid_credential()
        tenant, role = row
        if tenant.status != "active":  # sign-in and refresh say "suspended"; a bearer learns nothing
            raise tokens.invalid_credential()
        return Principal(tenant_id=tenant.id, actor_type="user", actor_id=user.id, role=role,
                         is_operator=user.is_operator, tenant_tier=tenant.tier)


@dataclass
class Profile:
    """The signed-in user with every tenant they belong to, and the token's current one."""

    user: User
    tenants: list[tuple[Tenant, str]]
    tenant: Tenant | None
    role: str | None


def profile(platform: Platform, principal: Principal) -> Profile:
    if principal.actor_type != "user":
        raise ActionForbidden("API keys have no user profile.")
    with system_session(platform, SystemReason.SIGN_IN, readonly=True) as s:
        user = s.get(User, principal.actor_id)
        rows = [(t, r) for t, r in s.execute(_tenants_of(user.id).order_by(Tenant.name)).all()]
    tenant, role = next(((t, r) for t, r in rows if t.id == principal.tenant_id), (None, None))
    return Profile(user, rows, tenant, role)


def authenticate(platform: Platform, bearer: str | None) -> Principal:
    if not bearer:
        raise AuthRequired("Send a bearer access token or API key.")
    if bearer.startswith(f"{API_KEY_PREFIX}_"):
        return principal_from_api_key(platform, bearer)
    return principal_from_access_token(platform, bearer)


def ensure(principal: Principal, action: str) -> None:
    if not principal.can(action):
        raise ActionForbidden("Your role does not allow this action.")


def reject_weak(password: str) -> None:
    from clipdex.auth.passwords import check_strength

    check_strength(password)


__all__ = ["ClipdexError", "TokenPair", "authenticate", "create_api_key", "ensure", "login", "logout",
           "refresh", "switch_tenant"]
