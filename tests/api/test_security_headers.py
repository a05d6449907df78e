"""Every response carries the browser hardening headers; the console gets a strict CSP."""

from __future__ import annotations


def test_console_and_api_responses_are_hardened(sq):
    _, client = sq
    for path in ("/", "/api/v1/videos", "/healthz", "/api/v1/nope"):
        r = client.get(path)
        h = {k.lower(): v for k, v in r.headers.items()}
        assert h["x-content-type-options"] == "nosniff", path
        assert h["x-frame-options"] == "DENY", path
        assert h["referrer-policy"] == "no-referrer", path
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        assert "script-src 'self';" in csp and "unsafe-eval" not in csp, path
    docs = client.get("/docs").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs  # the reference page may load Swagger UI, nothing frames it


def test_object_storage_origin_is_allowed_for_media(tmp_path):
    from clipdex.api.middleware import store_origin
    from clipdex.settings import Settings

    st = Settings(data_dir=tmp_path, secret_key="x" * 40, storage_url="s3://bucket/prefix",
                  s3_endpoint_url="http://127.0.0.1:9000/")
    assert store_origin(st) == " http://127.0.0.1:9000"
    assert store_origin(Settings(data_dir=tmp_path, secret_key="x" * 40)) == ""
