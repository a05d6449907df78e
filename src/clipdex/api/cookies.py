"""The console's session cookie: the refresh token kept where page scripts cannot read it.

API clients keep using bearer tokens and refresh tokens in JSON bodies. The console asks for cookie
mode with the ``X-Clipdex-Client: console`` header: its refresh token then travels only in an
HttpOnly, SameSite=Strict cookie scoped to ``/api/v1/auth`` (Secure unless the deployment is served
over plain HTTP on loopback), and its access token lives in page memory. A cross-site page can
neither send the custom header without a CORS preflight (which clipdex never grants) nor get the
strict cookie attached, so cookie refreshes need no extra CSRF token.
"""

from __future__ import annotations

from fastapi import Request, Response

from clipdex.errors import InvalidRefreshToken

CLIENT_HEADER = "x-clipdex-client"
REFRESH_COOKIE = "clipdex_refresh"
COOKIE_PATH = "/api/v1/auth"


def console_mode(request: Request) -> bool:
    return request.headers.get(CLIENT_HEADER, "").lower() == "console"


def _secure(settings) -> bool:
    url = settings.public_url.lower()
    return url.startswith("https://") or not any(h in url for h in ("://127.0.0.1", "://localhost", "://[::1]"))


def set_refresh(response: Response, settings, token: str) -> None:
    response.set_cookie(REFRESH_COOKIE, token, max_age=settings.refresh_token_ttl_s, path=COOKIE_PATH,
                        httponly=True, secure=_secure(settings), samesite="strict")


def clear_refresh(response: Response, settings) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, httponly=True, secure=_secure(settings),
                           samesite="strict")


def refresh_token_of(request: Request, body_token: str | None) -> str:
    """The refresh token from the body (API clients) or, for the console, from its cookie."""
    token = body_token or (request.cookies.get(REFRESH_COOKIE) if console_mode(request) else None)
    if not token:
        raise InvalidRefreshToken("The refresh token is not valid.")
    return token
