"""Prompt injection in the console: HTML and JS in a video's title, transcript and on-screen text are
shown as text on the library, video, search and answer pages; no element of them is made and none of
it runs (no dialog, no ``window.__pwned``). Answers come from a model (a local server speaking the
OpenAI protocol) that obeys every injection: what it adds that the video does not say is not shown.
Driven by console/e2e/injection.spec.ts; run it alone (the console specs share
console/test-results/screenshots)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from clipdex.models import Tenant
from clipdex.platform import Platform
from clipdex.settings import Settings
from tests.e2e.test_console import browser_ready, CONSOLE, _cli, _free_port, run_playwright, serving
from tests.security.canaries import write_talk
from tests.search.answer_support import ChatServer
from tests.security.test_prompt_injection import _obedient_model, _video

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
XSS = '<img src=x onerror="window.__pwned=1;alert(1)">'
SAID = [f"{XSS} The launch is planned for March.",
        "<script>window.__pwned=2;alert(2)</script> The budget review starts on Monday.",
        "<svg onload=window.__pwned=3> Send the signed contract to legal today.",
        "[Click here](javascript:window.__pwned=4) for the secret project notes."]
SCREEN = ["<iframe src=javascript:window.__pwned=5>", "<b onmouseover=window.__pwned=6>Budget</b>"]


def _seed(settings: Settings, slug: str) -> str:
    """A ready video of the tenant with the payloads in its title, transcript, on-screen text and index."""
    p = Platform.from_settings(settings)
    try:
        with p.db.tenant(uuid.uuid4()) as s:  # tenants are not tenant rows: any scope may read them
            tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == slug))
        vid = _video(p, tenant_id, f"Launch notes {XSS}")
        write_talk(p, tenant_id, vid, SAID, ocr=SCREEN, tags=["office"])
        with p.db.tenant(tenant_id) as s:  # answers come from the model that obeys every injection
            t = s.get(Tenant, tenant_id)
            t.settings = {**(t.settings or {}), "answer_backend": "openai"}
        return str(vid)
    finally:
        p.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_ready()
    tmp = tmp_path_factory.mktemp("console-injection")
    url = f"http://127.0.0.1:{_free_port()}"
    secret = "e2e-inject-" * 4
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(tmp / "data"), "CLIPDEX_SECRET_KEY": secret,
           "CLIPDEX_PUBLIC_URL": url, "CLIPDEX_ENV": "test", "CLIPDEX_POLL_INTERVAL_S": "0.5",
           "CLIPDEX_WORKER_THREADS": "1", "CLIPDEX_LOG_LEVEL": "WARNING"}
    env.pop("CLIPDEX_DATABASE_URL", None)
    env.pop("CLIPDEX_STORAGE_URL", None)
    _cli(env, "migrate")
    _cli(env, "admin", "create-tenant", "Inject", "--slug", "inject", "--owner", "ivy@inject.test",
         "--password", "ivy-e2e-pass")
    with ChatServer(_obedient_model) as llm:
        env |= {"CLIPDEX_LLM_BASE_URL": llm.base_url, "CLIPDEX_LLM_MODEL": "stub"}
        video_id = _seed(Settings(data_dir=tmp / "data", secret_key=secret, env="test", llm_base_url=llm.base_url,
                              llm_model="stub"), "inject")
        with serving(env, url, tmp / "serve.log", ready_timeout_s=240):
            yield {"url": url, "chromium": chromium, "log": tmp / "serve.log", "video": video_id, "llm": llm}


def test_injected_markup_stays_text_in_the_console(server):
    shots = CONSOLE / "test-results" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLIPDEX_E2E_URL": server["url"], "CHROMIUM_PATH": server["chromium"],
           "E2E_USER": "ivy@inject.test", "E2E_PASS": "ivy-e2e-pass", "E2E_VIDEO_ID": server["video"],
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": os.environ.get("CI", "")}
    asked = len(server["llm"].requests)
    run_playwright("e2e/injection.spec.ts", env, server["log"])
    assert len(server["llm"].requests) > asked  # the answer came from the obedient model
    for name in ("injection-video", "injection-search", "injection-ask"):
        assert (shots / f"{name}.png").is_file(), f"no screenshot of {name}"
