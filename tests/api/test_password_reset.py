"""Lost passwords: the operator's CLI (set-password, create-user on an existing user, reset-link),
reset links e-mailed through SMTP or made by an operator, and the demo's sign-in printed last."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from typer.testing import CliRunner

from clipdex.auth import reset
from clipdex.cli import app as cli
from clipdex.tenancy.system import SystemReason
from tests.api.ingest_support import assert_problem
from tests.api.smtp_server import SmtpServer
from tests.conftest import PASSWORD, api_client, migrated_sqlite_settings, new_tenant, open_platform

NEW = "a brand new passphrase"


def _login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """The CLI and a test client on one migrated SQLite data folder."""
    settings = migrated_sqlite_settings(tmp_path)
    monkeypatch.setenv("CLIPDEX_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CLIPDEX_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("CLIPDEX_DISABLED_STAGES", ",".join(settings.disabled_stages))
    monkeypatch.delenv("CLIPDEX_DATABASE_URL", raising=False)
    _cli("admin", "create-tenant", "Acme", "--owner", "boss@example.com", "--password", PASSWORD)
    return settings


def _cli(*args, input=None):
    r = CliRunner().invoke(cli, list(args), input=input)
    assert r.exit_code == 0, r.output
    return r.output


def test_create_user_on_an_existing_user_sets_the_password_for_real(cli_env):
    _cli("admin", "create-user", "ana@example.com", "--tenant", "acme", "--password", PASSWORD)
    with open_platform(cli_env) as platform, api_client(platform) as client:
        old = _login(client, "ana@example.com", PASSWORD).json()["refresh_token"]
        out = _cli("admin", "create-user", "ana@example.com", "--password", NEW)
        assert "password set" in out and "updated" not in out
        assert _login(client, "ana@example.com", PASSWORD).status_code == 401  # the old one no longer works
        assert _login(client, "ana@example.com", NEW).status_code == 200
        # the sessions signed in with the old password are over
        assert client.post("/api/v1/auth/refresh", json={"refresh_token": old}).status_code == 401
        out = _cli("admin", "create-user", "ana@example.com")
        assert "password unchanged" in out and "set-password" in out
        assert _login(client, "ana@example.com", NEW).status_code == 200


def test_set_password_with_option_or_prompt(cli_env):
    _cli("admin", "create-user", "bo@example.com", "--tenant", "acme", "--password", PASSWORD)
    with open_platform(cli_env) as platform, api_client(platform) as client:
        _cli("admin", "set-password", "bo@example.com", "--password", NEW)
        assert _login(client, "bo@example.com", NEW).status_code == 200
        _cli("admin", "set-password", "BO@example.com", input=f"{PASSWORD}\n{PASSWORD}\n")  # prompted, hidden
        assert _login(client, "bo@example.com", PASSWORD).status_code == 200
        assert _login(client, "bo@example.com", NEW).status_code == 401
    weak = CliRunner().invoke(cli, ["admin", "set-password", "bo@example.com", "--password", "short"])
    assert weak.exit_code == 1 and "at least" in weak.output
    unknown = CliRunner().invoke(cli, ["admin", "set-password", "nobody@example.com", "--password", NEW])
    assert unknown.exit_code == 1 and "No account" in unknown.output


def _token(link: str) -> str:
    frag = urllib.parse.urlparse(link).fragment
    return urllib.parse.parse_qs(frag)["token"][0]


def test_operator_reset_link_without_a_mail_server(cli_env):
    _cli("admin", "create-user", "cy@example.com", "--tenant", "acme", "--password", PASSWORD)
    out = _cli("admin", "reset-link", "cy@example.com")
    link = next(x for x in out.split() if "/reset-password#token=" in x)
    assert link.startswith(cli_env.public_url)
    with open_platform(cli_env) as platform, api_client(platform) as client:
        # the console's "forgot password" says to ask an administrator: no mail goes anywhere
        r = client.post("/api/v1/auth/password-reset", json={"email": "cy@example.com"})
        assert r.status_code == 202 and r.json() == {"delivery": "operator"}
        assert_problem(client.post("/api/v1/auth/password-reset/confirm",
                                   json={"token": _token(link), "password": "short"}), 422, "auth.weak_password")
        r = client.post("/api/v1/auth/password-reset/confirm", json={"token": _token(link), "password": NEW})
        assert r.status_code == 204, r.text
        assert _login(client, "cy@example.com", NEW).status_code == 200
        assert _login(client, "cy@example.com", PASSWORD).status_code == 401
        # a link works once
        assert_problem(client.post("/api/v1/auth/password-reset/confirm",
                                   json={"token": _token(link), "password": PASSWORD}), 400, "auth.invalid_reset_token")
        assert_problem(client.post("/api/v1/auth/password-reset/confirm",
                                   json={"token": "x" * 40, "password": PASSWORD}), 400, "auth.invalid_reset_token")


def test_expired_and_forged_reset_tokens_are_refused(tmp_path):
    settings = migrated_sqlite_settings(tmp_path, password_reset_ttl_s=300)
    with open_platform(settings) as platform, api_client(platform) as client:
        t = new_tenant(platform, client, "Delta")
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            user = reset.find_user(s, t.email)
            good = reset.issue_token(platform, user)
        import jwt
        claims = jwt.decode(good, options={"verify_signature": False})
        expired = jwt.encode({**claims, "exp": claims["iat"] - 10}, settings.resolved_secret_key, algorithm="HS256",
                             headers={"typ": reset.RESET_TYP})
        forged = jwt.encode(claims, "another-secret-key-of-enough-length", algorithm="HS256",
                            headers={"typ": reset.RESET_TYP})
        r = client.post("/api/v1/auth/password-reset/confirm", json={"token": expired, "password": NEW})
        assert_problem(r, 400, "auth.reset_token_expired")
        r = client.post("/api/v1/auth/password-reset/confirm", json={"token": forged, "password": NEW})
        assert_problem(r, 400, "auth.invalid_reset_token")
        # an access token is not a reset token
        r = client.post("/api/v1/auth/password-reset/confirm", json={"token": t.token, "password": NEW})
        assert_problem(r, 400, "auth.invalid_reset_token")
        assert _login(client, t.email, PASSWORD).status_code == 200


def test_reset_link_by_email_through_smtp(tmp_path):
    smtp = SmtpServer()
    settings = migrated_sqlite_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                                        smtp_from="clipdex <noreply@clipdex.test>",
                                        public_url="https://clipdex.example.com")
    try:
        with open_platform(settings) as platform, api_client(platform) as client:
            t = new_tenant(platform, client, "Echo")
            r = client.post("/api/v1/auth/password-reset", json={"email": t.email.upper()})
            assert r.status_code == 202 and r.json() == {"delivery": "email"}
            # an unknown address gets the same answer, and no mail
            r = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
            assert r.status_code == 202 and r.json() == {"delivery": "email"}
            assert len(smtp.messages) == 1
            sender, rcpts, msg = smtp.messages[0]
            assert rcpts == [t.email] and sender == "noreply@clipdex.test" and "password" in msg["Subject"]
            link = re.search(r"https://clipdex\.example\.com/reset-password#token=\S+", msg.get_content()).group()
            r = client.post("/api/v1/auth/password-reset/confirm", json={"token": _token(link), "password": NEW})
            assert r.status_code == 204
            assert _login(client, t.email, NEW).status_code == 200
            # the session that existed before the reset is signed out
            assert client.post("/api/v1/auth/refresh", json={"refresh_token": t.refresh}).status_code == 401
    finally:
        smtp.shutdown()


def test_reset_mail_failure_is_a_clear_error(tmp_path):
    settings = migrated_sqlite_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=1, smtp_security="none")
    with open_platform(settings) as platform, api_client(platform) as client:
        t = new_tenant(platform, client, "Foxtrot")
        r = client.post("/api/v1/auth/password-reset", json={"email": t.email})
        body = assert_problem(r, 503, "mail.unavailable")
        assert "127.0.0.1" not in r.text and "Errno" not in body["detail"]


def test_demo_prints_the_sign_in_last_on_every_run(cli_env):
    from clipdex.demo import DEMO_EMAIL

    first = _cli("demo").strip().splitlines()
    assert first[-2].split() == ["email:", DEMO_EMAIL] and first[-1].startswith("  password: ")
    password = first[-1].split()[-1]
    with open_platform(cli_env) as platform, api_client(platform) as client:
        assert _login(client, DEMO_EMAIL, password).status_code == 200
    again = _cli("demo").strip().splitlines()
    assert "already uploaded" in "\n".join(again) and again[-1] == first[-1]  # shown again, still last
    _cli("admin", "set-password", DEMO_EMAIL, "--password", NEW)
    changed = _cli("demo").strip().splitlines()
    assert password not in "\n".join(changed) and f"set-password {DEMO_EMAIL}" in changed[-1]
    assert oct((cli_env.data_dir / "demo-owner-password.txt").stat().st_mode & 0o777) == "0o600"
