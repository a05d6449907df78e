"""Health, readiness, metrics, request ids, OpenAPI quality."""

from __future__ import annotations

from clipdex.app import create_app
from tests.conftest import upload
from tests.media import make_video


def test_health_ready_metrics(client, tenant_a, tmp_path):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and set(ready["checks"]) == {"database", "storage", "ffprobe"}
    client.get("/api/v1/videos", headers=tenant_a.headers)
    upload(client, tenant_a, make_video(tmp_path / "q.mp4", seconds=1))  # a ready stage on the cpu queue
    metrics = client.get("/metrics").text
    assert "clipdex_http_requests_total" in metrics
    assert f'clipdex_queue_depth{{queue="cpu",tenant_id="{tenant_a.id}"}} 1.0' in metrics  # per pool


def test_request_id_is_echoed_or_generated(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc12345-trace"})
    assert r.headers["x-request-id"] == "abc12345-trace"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 16
    problem = client.get("/api/v1/videos")
    assert problem.status_code == 401
    assert problem.json()["request_id"] == problem.headers["x-request-id"]


def test_openapi_documents_every_route_with_summary_and_problem_errors(platform):
    spec = create_app(platform=platform, embedded_workers=0).openapi()
    ops = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(ops) >= 35
    for path, method, op in ops:
        assert op.get("summary"), f"{method} {path} has no summary"
        if path.startswith("/api/v1") and "/blobs/" not in path and "accept" not in path:
            assert "401" in op["responses"] or "security" in op or method == "options" or "/auth/" in path, path
    schemas = spec["components"]["schemas"]
    assert "Problem" in schemas and "example" in schemas["Problem"]
    assert "example" in schemas["VideoPublic"] and "example" in schemas["LoginRequest"]
    upload = spec["paths"]["/api/v1/videos"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
