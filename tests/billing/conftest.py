"""Billing fixtures: the Stripe-compatible server, a platform with billing on, signed webhook delivery."""

from __future__ import annotations

import json

import pytest

from clipdex.billing.plans import load_plans
from clipdex.billing.stripe_client import client_for
from clipdex.billing.sync import sync_plans
from tests.billing.stripe_server import StripeServer, sign
from tests.conftest import api_client, make_settings, migrated_sqlite_settings, open_platform, truncate_all

API_KEY = "sk_test_clipdex_billing_0123456789"
WEBHOOK_SECRET = "whsec_test_clipdex_billing_secret"
HOOK = "/api/v1/billing/webhook"


@pytest.fixture
def stripe_server():
    server = StripeServer(API_KEY).start()
    yield server
    server.stop()


def billing_overrides(server: StripeServer, **extra) -> dict:
    return dict(stripe_api_key=API_KEY, stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=server.url,
                billing_grace_s=3600, **extra)


@pytest.fixture
def bplatform(request, backend, tmp_path, stripe_server):
    """A platform with billing on (SQLite, and PostgreSQL where reachable), plans synced to the server."""
    overrides = billing_overrides(stripe_server)
    if backend == "postgres":
        url = request.getfixturevalue("pg_database")
        truncate_all(url)
        settings = make_settings(tmp_path, database_url=url, **overrides)
    else:
        settings = migrated_sqlite_settings(tmp_path, **overrides)
    with open_platform(settings) as p:
        sync_plans(client_for(settings), load_plans(settings), settings.billing_currency)
        yield p


@pytest.fixture
def bclient(bplatform):
    with api_client(bplatform) as c:
        yield c


def deliver(client, events: list[dict], secret: str = WEBHOOK_SECRET) -> list[str]:
    """POST each event as Stripe does (signed raw JSON); the results the endpoint acknowledged."""
    out = []
    for event in events:
        body = json.dumps(event)
        r = client.post(HOOK, content=body, headers={"Content-Type": "application/json",
                                                     "Stripe-Signature": sign(body, secret)})
        assert r.status_code == 200, r.text
        out.append(r.json()["result"])
    return out


def subscribe(client, server: StripeServer, ctx, plan: str = "pro") -> tuple[str, list[dict]]:
    """Checkout started through the API and paid at the (fake) Stripe: (subscription id, events)."""
    r = client.post("/api/v1/billing/checkout", headers=ctx.headers, json={"plan": plan})
    assert r.status_code == 201, r.text
    session_id = r.json()["id"]
    events = server.fake.complete_checkout(session_id)
    return server.fake.objects["checkout.session"][session_id]["subscription"], events
