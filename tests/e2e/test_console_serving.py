"""`clipdex serve` serves the built console at / with a fallback for client-side routes; the API keeps its answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clipdex.api import console
from clipdex.app import create_app
from tests.conftest import make_settings

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    monkeypatch.setattr(console, "console_dir", lambda: dist)
    return dist


def _client(tmp_path) -> TestClient:
    return TestClient(create_app(make_settings(tmp_path), embedded_workers=0))


def test_console_routes(tmp_path, fake_dist):
    with _client(tmp_path) as c:
        for path in ("/", "/videos/123?t=4", "/search?q=x", "/team"):
            r = c.get(path, headers=HTML)
            assert r.status_code == 200 and "id=root" in r.text, path
            assert r.headers["cache-control"] == "no-cache"
        assert c.get("/assets/app-1234.js").text == "console.log(1)"
        assert c.get("/favicon.svg").status_code == 200
        assert c.get("/assets/missing.js", headers=HTML).status_code == 404  # no HTML for a missing bundle
        # the API and machine endpoints keep their own answers, even for a browser
        r = c.get("/api/v1/no/such/route", headers=HTML)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        assert c.get("/api/v1/auth/login", headers=HTML).status_code == 405
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/docs", headers=HTML).status_code == 200
        assert c.get("/not-a-page", headers={"accept": "application/json"}).status_code == 404  # scripts get a 404


def test_landing_page_without_a_build(tmp_path, monkeypatch):
    monkeypatch.setattr(console, "console_dir", lambda: None)
    with _client(tmp_path) as c:
        r = c.get("/")
        assert r.status_code == 200 and "make setup" in r.text
        assert c.get("/team", headers=HTML).status_code == 404


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/problem+json", "text/plain"])
def test_root_serves_the_console_whatever_the_accept_header(tmp_path, fake_dist, accept):
    with _client(tmp_path) as c:
        headers = {"accept": accept} if accept else {}
        for method in ("GET", "HEAD"):
            r = c.request(method, "/", headers=headers)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), (method, accept)
        assert "id=root" in c.get("/", headers=headers).text
        # unknown API paths keep their problem+json 404 for the same client
        r = c.get("/api/v1/no/such/route", headers=headers)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
