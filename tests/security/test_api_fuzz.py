"""Schemathesis over the whole OpenAPI document, as a tenant owner (JWT) and with an API key.

Every operation gets a bounded number of generated examples (``CLIPDEX_FUZZ_EXAMPLES``, default 5;
run more by hand). Each response must not be a server error, must match the documented schema,
status codes and content type, and no body may carry a stack trace or a server path. Operations
that end the caller's own session (logout, switching tenant, removing keys or members) are fuzzed
too; the credentials are renewed after them.
"""

from __future__ import annotations

import os
import re
import traceback
import uuid

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks as st_checks

from clipdex.app import create_app
from tests.conftest import login, migrated_sqlite_settings, new_tenant, open_platform
from tests.media import make_video

EXAMPLES = int(os.environ.get("CLIPDEX_FUZZ_EXAMPLES", "5"))
LEAKS = re.compile(r"Traceback \(most recent call last\)|File \"/|/work/|/tmp/|site-packages|\.py\", line")
RENEW_AFTER = ("/auth/logout", "/auth/switch", "/api-keys/{key_id}", "/members/{user_id}", "/auth/refresh",
               "/tenant")
CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_schema_conformance]


@schemathesis.serializer("application/offset+octet-stream")
def _tus_chunk(ctx, value) -> bytes:  # tus PATCH bodies are raw bytes
    return value if isinstance(value, bytes) else str(value).encode()


class Fuzz:
    def __init__(self, platform, client: TestClient) -> None:
        self.platform, self.client = platform, client
        self.owner = new_tenant(platform, client, "Fuzz")
        self.renew()
        r = client.post("/api/v1/videos", headers=self.owner.headers,
                        files={"file": ("a.mp4", open(self._clip(), "rb"), "video/mp4")})
        assert r.status_code == 201, r.text
        # the first /ask, /summarize and /search load their models: warm them outside the fuzzing clock
        for path, body in (("/api/v1/ask", {"question": "warm up"}), ("/api/v1/summarize", {"text": "warm up"})):
            client.post(path, headers=self.owner.headers, json=body)
        client.get("/api/v1/search", headers=self.owner.headers, params={"q": "warm up"})
        self.calls = 0
        self.statuses: dict[int, int] = {}

    def _clip(self):
        return make_video(self.platform.settings.data_dir / "fuzz.mp4", seconds=1, size="96x64")

    def renew(self) -> None:
        tok = login(self.client, self.owner.email, tenant=self.owner.slug)
        self.token = tok["access_token"]
        r = self.client.post("/api/v1/api-keys", headers={"Authorization": f"Bearer {self.token}"},
                             json={"name": f"fuzz-{uuid.uuid4().hex[:6]}", "scopes": ["read", "write"]})
        assert r.status_code in (200, 201), r.text
        self.api_key = r.json()["secret"]


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    settings_ = migrated_sqlite_settings(tmp_path_factory.mktemp("fuzz"))
    with open_platform(settings_) as platform:
        app = create_app(platform=platform, embedded_workers=0)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Fuzz(platform, client), app


def _run(case, f: Fuzz, header: str) -> None:
    headers = {"Authorization": header}
    response = case.call(headers=headers, timeout=60)
    f.calls += 1
    f.statuses[response.status_code] = f.statuses.get(response.status_code, 0) + 1
    body = response.content.decode("utf-8", "replace")  # binary bodies too: the export is a ZIP
    assert not LEAKS.search(body), f"{case.method} {case.path}: stack trace or path in body: {body[:400]}"
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    finally:
        if any(case.path.endswith(p) for p in RENEW_AFTER) or response.status_code == 401:
            f.renew()


_settings = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                     phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                     report_multiple_bugs=False)


def _fuzz_all(fuzz, credential) -> None:
    f, app = fuzz
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if os.environ.get("CLIPDEX_FUZZ_ONLY", "") not in op.path:
            continue
        operations += 1

        @given(case=op.as_strategy())
        @_settings
        def one(case):
            _run(case, f, credential())

        try:
            one()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001  (schemathesis raises a BaseExceptionGroup; collect all)
            detail = "".join(traceback.format_exception(e)) if os.environ.get("CLIPDEX_FUZZ_REPORT") else str(e)
            failures.append(f"{op.method.upper()} {op.path}: {detail[-3000:]}")
    print(f"fuzzed {operations} operations, {f.calls} calls, statuses {sorted(f.statuses.items())}")
    if os.environ.get("CLIPDEX_FUZZ_REPORT"):
        with open(os.environ["CLIPDEX_FUZZ_REPORT"], "a") as out:
            out.write(f"{operations} operations, {f.calls} calls, statuses {sorted(f.statuses.items())}\n")
            out.write("\n\n".join(failures) + "\n")
    assert operations >= (1 if os.environ.get("CLIPDEX_FUZZ_ONLY") else 100)
    assert not failures, f"{len(failures)} operations failed:\n" + "\n\n".join(failures)


@pytest.mark.slow
def test_fuzz_as_owner(fuzz):
    _fuzz_all(fuzz, lambda: f"Bearer {fuzz[0].token}")


@pytest.mark.slow
def test_fuzz_with_api_key(fuzz):
    _fuzz_all(fuzz, lambda: f"Bearer {fuzz[0].api_key}")
