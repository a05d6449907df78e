"""Sign-in, tokens, API keys, passwords and the links sent by mail."""

from __future__ import annotations

from clipdex.errors.base import (
    BadRequest,
    Forbidden,
    Invalid,
    Missing,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)


class AuthRequired(Unauthenticated):
    code = "auth.unauthenticated"
    hint = "Send `Authorization: Bearer <access token or API key>`."


class InvalidCredentials(Unauthenticated):
    code, title = "auth.invalid_credentials", "Wrong e-mail or password"
    hint = "Check the e-mail and password; repeated failures are rate-limited."


class InvalidToken(Unauthenticated):
    """The one answer to any bearer credential that opens no session (forged, expired, revoked, an
    unknown API key, a removed member, a suspended tenant), so a probe learns nothing from it."""

    code, title = "auth.invalid_token", "Credential not valid"
    hint = "Refresh the session or sign in again; for an API key, check it is not revoked or expired."


class InvalidRefreshToken(Unauthenticated):
    code, title = "auth.invalid_refresh_token", "Refresh token not valid"
    hint = "Sign in again."


class RefreshTokenReused(Unauthenticated):
    code, title = "auth.refresh_token_reused", "Refresh token reused"
    hint = "The session was revoked because a refresh token was used twice: sign in again."


class ActionForbidden(Forbidden):
    code = "auth.forbidden"
    hint = "Ask an admin or owner of the tenant for a role (or API key scope) that allows this."


class NoMembership(Forbidden):
    code, title = "auth.no_membership", "Not a member"
    hint = "Sign in to a tenant this account belongs to, or ask for an invitation."


class OperatorOnly(Forbidden):
    code, title = "auth.operator_only", "Platform operators only"
    hint = "Use an account with the platform operator role."


class TooManySignIns(TooManyRequests):
    code, title = "auth.too_many_attempts", "Too many sign-in attempts"
    hint = "Wait for the seconds in Retry-After, then sign in again."


class WeakPassword(Invalid):
    code, title = "auth.weak_password", "Password too weak"
    hint = "Choose a longer password (the minimum is in `detail`)."


class PasswordRequired(Invalid):
    code, title = "auth.password_required", "Password required"
    hint = "Send a password: a new account needs one."


class InvalidResetToken(BadRequest):
    code, title = "auth.invalid_reset_token", "Reset link not valid"
    hint = "Ask for a new password-reset link."


class ResetTokenExpired(InvalidResetToken):
    code, title = "auth.reset_token_expired", "Reset link expired"
    hint = "Ask for a new password-reset link and use it within its lifetime."


class UserNotFound(Missing):
    code, title = "user.not_found", "No such user"
    hint = "Operator CLI only: check the e-mail address."


class UnknownScope(Invalid):
    code, title = "apikey.unknown_scope", "Unknown API key scope"
    hint = "Use only the scopes listed in the API reference."


class ApiKeyExpiry(Invalid):
    code, title = "apikey.expired", "Expiry in the past"
    hint = "Set expires_at in the future, or leave it out."


class MailFailed(Unavailable):
    code, title = "mail.unavailable", "Mail not sent"
    hint = "Retry later; the operator should check the mail server settings."


class InvalidDownloadLink(Forbidden):
    code, title = "download.invalid_link", "Download link not valid"
    hint = "Ask the API for a fresh download link; links expire."
