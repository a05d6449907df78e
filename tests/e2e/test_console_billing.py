"""The console's billing page end to end: a real `clipdex serve` with billing on, the Stripe-compatible
test server hosting Checkout and the portal and sending signed webhooks, Playwright in the system Chromium.

The spec is console/e2e/billing.spec.ts; screenshots land in console/test-results/screenshots/billing-*.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.billing.stripe_server import StripeServer
from tests.e2e.test_console import browser_ready, _free_port, run_playwright, serving

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
BIN = Path(sys.executable).parent
API_KEY = "sk_test_e2e_billing"
SECRET = "whsec_e2e_billing"

pytestmark = pytest.mark.slow


def _cli(env: dict, *args: str) -> None:
    r = subprocess.run([str(BIN / "clipdex"), *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_ready()
    tmp = tmp_path_factory.mktemp("billing-e2e")
    stripe = StripeServer(API_KEY).start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(tmp / "data"), "CLIPDEX_SECRET_KEY": "e2e-secret-" * 4,
           "CLIPDEX_PUBLIC_URL": url, "CLIPDEX_ENV": "test", "CLIPDEX_WORKER_THREADS": "0",
           "CLIPDEX_LOG_LEVEL": "WARNING", "CLIPDEX_STRIPE_API_KEY": API_KEY,
           "CLIPDEX_STRIPE_WEBHOOK_SECRET": SECRET, "CLIPDEX_STRIPE_API_BASE": stripe.url}
    env.pop("CLIPDEX_DATABASE_URL", None)
    env.pop("CLIPDEX_STORAGE_URL", None)
    _cli(env, "migrate")
    _cli(env, "billing", "sync")
    _cli(env, "admin", "create-tenant", "Acme Media", "--slug", "acme", "--tier", "free", "--owner",
         "alice@acme.test", "--password", "alice-e2e-pass")
    _cli(env, "admin", "create-user", "vic@acme.test", "--tenant", "acme", "--role", "viewer",
         "--password", "vic-e2e-password")
    stripe.fake.webhook_url, stripe.fake.webhook_secret = f"{url}/api/v1/billing/webhook", SECRET
    try:
        with serving(env, url, tmp / "serve.log"):
            yield {"url": url, "chromium": chromium, "log": tmp / "serve.log", "stripe": stripe}
    finally:
        stripe.stop()


def test_console_billing(server):
    shots = CONSOLE / "test-results" / "screenshots"
    for old in shots.glob("billing-*.png"):
        old.unlink()
    env = {**os.environ, "CLIPDEX_E2E_URL": server["url"], "CHROMIUM_PATH": server["chromium"],
           "E2E_BILLING": "1", "E2E_STRIPE_URL": server["stripe"].url,
           "E2E_USER_A": "alice@acme.test", "E2E_PASS_A": "alice-e2e-pass",
           "E2E_USER_V": "vic@acme.test", "E2E_PASS_V": "vic-e2e-password",
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": os.environ.get("CI", "")}
    run_playwright("e2e/billing.spec.ts", env, server["log"])
    for name in ("billing-plans", "billing-checkout", "billing-active", "billing-grace", "billing-grace-library",
                 "billing-viewer"):
        assert (shots / f"{name}.png").is_file(), f"no screenshot {name}"
    fake = server["stripe"].fake
    assert [e["type"] for e in fake.events].count("invoice.payment_failed") == 1
    subscriptions = list(fake.objects["subscription"].values())
    assert len(subscriptions) == 1 and subscriptions[0]["status"] == "active"
