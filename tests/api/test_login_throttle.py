"""Password spraying from one address is throttled across accounts, not only per account."""

from __future__ import annotations

from tests.conftest import PASSWORD, add_user


def test_one_address_is_locked_after_failures_across_many_accounts(client, platform, tenant_a):
    platform.settings.login_max_failures_per_ip = 4
    for i in range(4):  # four different accounts, one wrong password each: no per-account lock
        r = client.post("/api/v1/auth/login", json={"email": f"victim{i}@example.com", "password": "Winter2026!"})
        assert r.status_code == 401 and r.json()["code"] == "auth.invalid_credentials"
    add_user(platform, tenant_a.id, "fresh@example.com", "member")
    locked = client.post("/api/v1/auth/login", json={"email": "fresh@example.com", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "auth.too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0
