"""Setting and resetting passwords: the operator's CLI, and reset links (e-mailed or operator-made).

A reset link carries a signed token (JWT, its own ``typ``) naming the user and a fingerprint of the
password hash it was issued against, so it works once: setting any new password changes the hash
and retires every link issued before. No table is needed. The token travels in the URL fragment
(``#token=``), which browsers never send to servers, so it stays out of access logs and Referers.
Setting a password revokes the user's refresh tokens (every signed-in session).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clipdex.auth import mail
from clipdex.auth.passwords import check_strength, hash_password
from clipdex.db.types import utcnow
from clipdex.errors import InvalidResetToken, ResetTokenExpired, UserNotFound
from clipdex.models import RefreshToken, User
from clipdex.platform import Platform
from clipdex.tenancy import audit
from clipdex.tenancy.system import SystemReason, system_session

RESET_TYP = "pwreset+jwt"


def set_password(s: Session, user: User, password: str, *, actor: str) -> None:
    """A new password for ``user`` (strength-checked); every signed-in session of the user ends."""
    check_strength(password)
    user.password_hash = hash_password(password)
    s.execute(update(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
              .values(revoked_at=utcnow()))
    audit.record(s, "auth.password_set", actor=actor, target=f"user:{user.id}")


def find_user(s: Session, email: str) -> User:
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:  # the operator's CLI only: telling them the e-mail is unknown is the point
        raise UserNotFound(f"No account has the e-mail {email.strip().lower()!r}.")
    return user


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.id}|{user.password_hash}".encode()).hexdigest()[:32]


def issue_token(platform: Platform, user: User) -> str:
    st = platform.settings
    now = datetime.now(timezone.utc)
    claims = {"iss": st.jwt_issuer, "aud": f"{st.jwt_audience}:password-reset", "sub": str(user.id),
              "pwf": _fingerprint(user), "iat": now, "exp": now + timedelta(seconds=st.password_reset_ttl_s)}
    return jwt.encode(claims, st.resolved_secret_key, algorithm="HS256", headers={"typ": RESET_TYP})


def link_for(platform: Platform, token: str) -> str:
    return f"{platform.settings.public_url.rstrip('/')}/reset-password#token={token}"


def operator_link(platform: Platform, email: str, *, actor: str = "cli") -> str:
    """A reset link for ``email``, for an operator to hand over (no mail server needed)."""
    with system_session(platform, SystemReason.OPERATOR) as s:
        user = find_user(s, email)
        token = issue_token(platform, user)
        audit.record(s, "auth.password_reset_link", actor=actor, target=f"user:{user.id}")
    return link_for(platform, token)


def delivery(platform: Platform) -> str:
    """``email`` when reset links are mailed, else ``operator`` (ask an administrator for one)."""
    return "email" if platform.settings.smtp_host else "operator"


REQUESTS_PER_WINDOW = 10  # reset requests from one address per login window (mail bombing)


def request_reset(platform: Platform, email: str, ip: str = "") -> str:
    """Mail a reset link when a mail server is configured and the account exists; the answer is the
    same either way (no account discovery). Returns the delivery mode."""
    from clipdex.auth.service import _check_throttle, _record_failure

    mode = delivery(platform)
    if mode != "email":
        return mode
    key = hashlib.sha256(f"reset|{ip}".encode()).hexdigest()
    with system_session(platform, SystemReason.SIGN_IN) as s:
        _check_throttle(s, platform, key)
        _record_failure(s, platform, key, REQUESTS_PER_WINDOW)
    with system_session(platform, SystemReason.SIGN_IN) as s:
        user = s.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or user.disabled:
            return mode
        link = link_for(platform, issue_token(platform, user))
        audit.record(s, "auth.password_reset_requested", actor=f"user:{user.id}")
        address = user.email
    mail.send(platform.settings, address, "Reset your clipdex password",
              f"Someone asked to reset the password of {address} on clipdex.\n\n"
              f"Choose a new password here (the link works once, for "
              f"{platform.settings.password_reset_ttl_s // 60} minutes):\n\n{link}\n\n"
              "If this was not you, ignore this message; your password stays as it is.\n")
    return mode


def confirm_reset(platform: Platform, token: str, password: str) -> None:
    """Set the password a valid, unused reset token names."""
    st = platform.settings
    try:
        if jwt.get_unverified_header(token).get("typ") != RESET_TYP:
            raise jwt.InvalidTokenError("not a reset token")
        claims = jwt.decode(token, st.resolved_secret_key, algorithms=["HS256"], issuer=st.jwt_issuer,
                            audience=f"{st.jwt_audience}:password-reset", options={"require": ["exp", "sub", "pwf"]})
        user_id = uuid.UUID(claims["sub"])
    except jwt.ExpiredSignatureError:
        raise ResetTokenExpired("This reset link has expired; ask for a new one.") from None
    except (jwt.InvalidTokenError, ValueError, KeyError):
        raise InvalidResetToken("This reset link is not valid.") from None
    check_strength(password)
    with system_session(platform, SystemReason.SIGN_IN) as s:
        user = s.get(User, user_id)
        if user is None or user.disabled or claims["pwf"] != _fingerprint(user):
            raise InvalidResetToken("This reset link was already used or is no longer valid; ask for a new one.")
        set_password(s, user, password, actor=f"user:{user.id}")
