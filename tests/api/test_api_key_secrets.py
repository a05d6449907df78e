"""API key secrets authenticate whatever characters their random tail holds."""

from __future__ import annotations

import secrets

import pytest


@pytest.mark.parametrize("tail", ["abc_def_ghi-jkl", "_leading", "trailing_", "no-underscore-at-all"])
def test_api_key_with_underscores_in_tail_authenticates(client, tenant_a, monkeypatch, tail):
    # base64url (secrets.token_urlsafe) produces "_" in about half of all keys; force the cases.
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: tail)
    r = client.post("/api/v1/api-keys", headers=tenant_a.headers, json={"name": "bot", "scopes": ["read"]})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert secret.endswith(tail)
    r = client.get("/api/v1/videos", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200, r.text


def test_api_key_with_wrong_tail_is_refused(client, tenant_a):
    r = client.post("/api/v1/api-keys", headers=tenant_a.headers, json={"name": "bot", "scopes": ["read"]})
    secret = r.json()["secret"]
    forged = secret.rsplit("_", 1)[0] + "_x_y"
    r = client.get("/api/v1/videos", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    assert r.json()["code"] == "auth.invalid_token"
