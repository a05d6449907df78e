"""Billing routes: off without keys, plans synced idempotently, owners only, invoices per tenant."""

from __future__ import annotations

import pytest

from clipdex.billing.plans import load_plans
from clipdex.billing.stripe_client import client_for
from clipdex.billing.sync import sync_plans
from tests.billing.conftest import API_KEY, WEBHOOK_SECRET, deliver, subscribe
from tests.conftest import add_user, login, new_tenant


def test_billing_off_without_keys_answers_not_configured(sq):
    platform, client = sq
    t = new_tenant(platform, client, "Plain", tier="free")
    for method, path, body in (("GET", "/api/v1/billing", None), ("POST", "/api/v1/billing/checkout", {"plan": "pro"}),
                               ("POST", "/api/v1/billing/portal", None), ("GET", "/api/v1/billing/invoices", None),
                               ("POST", "/api/v1/billing/webhook", {"id": "evt_1"})):
        r = client.request(method, path, headers=t.headers, json=body)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["code"] == "billing.not_configured"
    # tiers stay the operator's: usage shows the tier set by hand, uploads are not gated by billing
    assert client.get("/api/v1/usage", headers=t.headers).json()["tier"] == "free"


def test_sync_is_idempotent_and_versions_changed_prices(bplatform, stripe_server):
    settings, fake = bplatform.settings, stripe_server.fake
    counts = {k: len(v) for k, v in fake.objects.items()}
    second = sync_plans(client_for(settings), load_plans(settings), settings.billing_currency)
    assert second.created == [] and second.updated == []
    assert {k: len(v) for k, v in fake.objects.items()} == counts
    assert counts["product"] == 2 and counts["meter"] == 2  # pro and enterprise; free is not sold
    pro = [p for p in fake.objects["price"].values() if p["metadata"]["clipdex_plan"] == "pro"]
    metered = next(p for p in pro if p["metadata"]["clipdex_part"] == "processing_minutes")
    assert metered["recurring"]["usage_type"] == "metered" and metered["tiers"][0]["up_to"] == 6000
    assert metered["tiers"][0]["unit_amount"] == 0 and metered["tiers"][1]["unit_amount_decimal"] == "2"

    settings.billing_plans = {"pro": {"monthly_price_cents": 5900}}
    third = sync_plans(client_for(settings), load_plans(settings), settings.billing_currency)
    new_base_price = "price:" + load_plans(settings)["pro"].lookup_key("base", "usd")
    assert [c for c in third.created if c.startswith("price:")] == [new_base_price]
    assert len(fake.objects["price"]) == counts["price"] + 1


def test_checkout_is_for_owners_and_never_leaks_secrets(bplatform, bclient, stripe_server):
    t = new_tenant(bplatform, bclient, "Owned", tier="free")
    for role in ("admin", "member", "viewer"):
        add_user(bplatform, t.id, f"{role}@{t.slug}.example.com", role)
        token = login(bclient, f"{role}@{t.slug}.example.com", tenant=t.slug)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for path, body in (("/api/v1/billing/checkout", {"plan": "pro"}), ("/api/v1/billing/portal", None)):
            r = bclient.post(path, headers=headers, json=body)
            assert r.status_code == 403 and r.json()["code"] == "billing.owner_only", (role, path, r.text)
        assert bclient.get("/api/v1/billing/invoices", headers=headers).status_code == 403
        overview = bclient.get("/api/v1/billing", headers=headers)
        assert overview.status_code == 200 and overview.json()["can_manage"] is False
    key = bclient.post("/api/v1/api-keys", headers=t.headers, json={"name": "ci", "scopes": ["read", "write"]}).json()
    key_headers = {"Authorization": f"Bearer {key['secret']}"}
    r = bclient.post("/api/v1/billing/checkout", headers=key_headers, json={"plan": "pro"})
    assert r.status_code == 403
    assert stripe_server.fake.objects["checkout.session"] == {}

    r = bclient.post("/api/v1/billing/checkout", headers=t.headers, json={"plan": "pro"})
    assert r.status_code == 201 and r.json()["url"].startswith(stripe_server.url)
    assert bclient.post("/api/v1/billing/checkout", headers=t.headers, json={"plan": "free"}).json()["code"] == \
        "billing.unknown_plan"
    for r in (bclient.get("/api/v1/billing", headers=t.headers), bclient.get("/openapi.json")):
        assert API_KEY not in r.text and WEBHOOK_SECRET not in r.text


def test_invoices_and_subscription_are_per_tenant(bplatform, bclient, stripe_server):
    a = new_tenant(bplatform, bclient, "Acme", tier="free")
    b = new_tenant(bplatform, bclient, "Bolt", tier="free")
    _, events_a = subscribe(bclient, stripe_server, a, "pro")
    _, events_b = subscribe(bclient, stripe_server, b, "enterprise")
    deliver(bclient, events_a + events_b)
    inv_a = bclient.get("/api/v1/billing/invoices", headers=a.headers).json()["items"]
    inv_b = bclient.get("/api/v1/billing/invoices", headers=b.headers).json()["items"]
    assert len(inv_a) == 1 and len(inv_b) == 1 and inv_a[0]["id"] != inv_b[0]["id"]
    assert inv_a[0]["amount_paid"] == 4900 and inv_b[0]["amount_paid"] == 99900
    assert inv_a[0]["invoice_pdf"] and inv_a[0]["status"] == "paid"
    assert bclient.get("/api/v1/billing", headers=a.headers).json()["plan"] == "pro"
    assert bclient.get("/api/v1/billing", headers=b.headers).json()["plan"] == "enterprise"
    portal = bclient.post("/api/v1/billing/portal", headers=a.headers)
    assert portal.status_code == 201
    session = stripe_server.fake.objects["billing_portal.session"]
    assert [s["customer"] for s in session.values()] == [
        next(i for i in stripe_server.fake.objects["invoice"].values() if i["id"] == inv_a[0]["id"])["customer"]]
    # a second Checkout while subscribed is refused: plan changes go through the portal
    r = bclient.post("/api/v1/billing/checkout", headers=a.headers, json={"plan": "enterprise"})
    assert r.status_code == 409 and r.json()["code"] == "billing.already_subscribed"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_audit_log_records_billing_changes(bplatform, bclient, stripe_server):
    t = new_tenant(bplatform, bclient, "Audited", tier="free")
    sub_id, events = subscribe(bclient, stripe_server, t)
    deliver(bclient, events)
    deliver(bclient, stripe_server.fake.fail_payment(sub_id))
    actions = [e["action"] for e in bclient.get("/api/v1/audit", headers=t.headers).json()["items"]]
    for action in ("billing.customer_created", "billing.checkout_started", "billing.state_changed",
                   "tenant.tier_changed"):
        assert action in actions
    assert sum(a == "billing.state_changed" for a in actions) == 2  # none -> active, active -> grace


@pytest.mark.parametrize("backend", ["sqlite"])
def test_secrets_never_reach_the_logs(bplatform, bclient, stripe_server, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    t = new_tenant(bplatform, bclient, "Quiet", tier="free")
    sub_id, events = subscribe(bclient, stripe_server, t)
    deliver(bclient, events + stripe_server.fake.fail_payment(sub_id))
    bclient.post("/api/v1/billing/webhook", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    bclient.get("/api/v1/billing/invoices", headers=t.headers)
    assert caplog.records  # something was logged (the rejected webhook at least)
    assert API_KEY not in caplog.text and WEBHOOK_SECRET not in caplog.text
    assert repr(bplatform.settings).count(API_KEY) == 0 and WEBHOOK_SECRET not in repr(bplatform.settings)
