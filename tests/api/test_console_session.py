"""The console's session: refresh token in an HttpOnly, SameSite=Strict cookie, never in page-readable
JSON; API clients keep bearer tokens and JSON refresh tokens."""

from __future__ import annotations

from tests.api.ingest_support import assert_problem
from tests.conftest import PASSWORD, bearer

CONSOLE = {"X-Clipdex-Client": "console"}


def _set_cookie(r) -> str:
    return "; ".join(v for k, v in r.headers.multi_items() if k.lower() == "set-cookie")


def test_console_refresh_token_lives_only_in_an_httponly_cookie(sq):
    from tests.conftest import new_tenant

    platform, client = sq
    t = new_tenant(platform, client, "Cookie")
    client.cookies.clear()
    r = client.post("/api/v1/auth/login", json={"email": t.email, "password": PASSWORD}, headers=CONSOLE)
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] is None and r.json()["access_token"]
    cookie = _set_cookie(r)
    assert "clipdex_refresh=" in cookie
    low = cookie.lower()
    assert "httponly" in low and "samesite=strict" in low and "path=/api/v1/auth" in low
    first = client.cookies.get("clipdex_refresh")
    assert first and first not in r.text

    # without the console header the cookie is ignored (a cross-site form cannot set that header)
    assert_problem(client.post("/api/v1/auth/refresh", json={}), 401, "auth.invalid_refresh_token")
    r2 = client.post("/api/v1/auth/refresh", headers=CONSOLE)
    assert r2.status_code == 200, r2.text
    assert r2.json()["refresh_token"] is None
    second = client.cookies.get("clipdex_refresh")
    assert second and second != first
    assert client.get("/api/v1/videos", headers=bearer(r2.json()["access_token"])).status_code == 200

    # the rotated-away cookie value is a reused token: it revokes the family
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401)
    assert_problem(client.post("/api/v1/auth/refresh", headers=CONSOLE), 401)

    # sign in again, then sign out: the cookie is cleared and its session revoked
    client.post("/api/v1/auth/login", json={"email": t.email, "password": PASSWORD}, headers=CONSOLE)
    third = client.cookies.get("clipdex_refresh")
    out = client.post("/api/v1/auth/logout", headers=CONSOLE)
    assert out.status_code == 204
    assert "clipdex_refresh=" in _set_cookie(out) and not client.cookies.get("clipdex_refresh")
    assert_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": third}), 401)


def test_api_clients_keep_json_refresh_tokens(sq):
    from tests.conftest import new_tenant

    platform, client = sq
    t = new_tenant(platform, client, "Api")
    client.cookies.clear()
    r = client.post("/api/v1/auth/login", json={"email": t.email, "password": PASSWORD})
    assert r.json()["refresh_token"] and "set-cookie" not in {k.lower() for k in r.headers}
    r2 = client.post("/api/v1/auth/refresh", json={"refresh_token": r.json()["refresh_token"]})
    assert r2.status_code == 200 and r2.json()["refresh_token"]
