"""The Stripe webhook: signature on the raw body, tolerance, each event once, order-independence."""

from __future__ import annotations

import json
import random
import time

import pytest
from sqlalchemy import func, select

from clipdex.billing.webhook import HANDLED
from clipdex.models import AuditEvent, BillingAccount, StripeEvent, Tenant
from clipdex.tenancy.system import SystemReason
from tests.billing.conftest import HOOK, WEBHOOK_SECRET, deliver, subscribe
from tests.billing.stripe_server import sign
from tests.conftest import new_tenant


def _state(platform, tenant_id) -> dict:
    with platform.db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        account = s.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
        tier = s.scalar(select(Tenant.tier).where(Tenant.id == tenant_id))
        events = s.scalar(select(func.count()).select_from(StripeEvent))
        audits = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id == tenant_id))
        return {"tier": tier, "events": events, "audits": audits, "account": None if account is None else {
            "state": account.state, "plan": account.plan, "status": account.subscription_status,
            "sub": account.stripe_subscription_id, "grace": account.grace_until}}


def test_rejected_webhooks_change_nothing(bplatform, bclient, stripe_server):
    t = new_tenant(bplatform, bclient, "Hooked", tier="free")
    _, events = subscribe(bclient, stripe_server, t)
    before = _state(bplatform, t.id)
    body = json.dumps(events[0])
    now = int(time.time())
    cases = {
        "unsigned": {},
        "empty signature": {"Stripe-Signature": ""},
        "garbage signature": {"Stripe-Signature": "nonsense"},
        "wrong secret": {"Stripe-Signature": sign(body, "whsec_someone_else")},
        "stale timestamp": {"Stripe-Signature": sign(body, WEBHOOK_SECRET, now - 301)},
        "other scheme only": {"Stripe-Signature": sign(body, WEBHOOK_SECRET).replace("v1=", "v0=")},
    }
    for name, headers in cases.items():
        r = bclient.post(HOOK, content=body, headers={"Content-Type": "application/json", **headers})
        assert r.status_code == 400, name
        assert r.json()["code"] == "billing.webhook_invalid", name
        assert WEBHOOK_SECRET not in r.text
    signed = sign(body, WEBHOOK_SECRET)
    tampered = body.replace(events[0]["id"], events[0]["id"][:-1] + "x")
    signed_headers = {"Content-Type": "application/json", "Stripe-Signature": signed}
    for name, content in (("modified body", tampered), ("reformatted body", json.dumps(events[0], indent=1)),
                          ("trailing byte", body + " ")):
        r = bclient.post(HOOK, content=content, headers=signed_headers)
        assert r.status_code == 400 and r.json()["code"] == "billing.webhook_invalid", name
    assert _state(bplatform, t.id) == before
    # inside the tolerance (and the very same bytes) it is accepted
    fresh = sign(body, WEBHOOK_SECRET, now - 250)
    r = bclient.post(HOOK, content=body, headers={"Content-Type": "application/json", "Stripe-Signature": fresh})
    assert r.status_code == 200 and r.json()["result"] == "applied"


SCENARIOS = {
    "recovered": ["fail_payment", "pay"],
    "canceled": ["fail_payment", "cancel"],
    "past_due": ["fail_payment"],
    "paid_through": [],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_event_five_times_shuffled_ends_like_one_ordered_delivery(bplatform, bclient, stripe_server, scenario):
    fake = stripe_server.fake
    ordered_t = new_tenant(bplatform, bclient, "Ordered", tier="free")
    shuffled_t = new_tenant(bplatform, bclient, "Shuffled", tier="free")
    streams = {}
    for t in (ordered_t, shuffled_t):
        sub_id, events = subscribe(bclient, stripe_server, t)
        for step in SCENARIOS[scenario]:
            events += getattr(fake, step)(sub_id)
        streams[t.id] = events
    if scenario == "canceled":  # together the scenarios deliver every event type the endpoint handles
        seen = {e["type"] for s in SCENARIOS for e in streams[ordered_t.id]}
        assert seen <= HANDLED

    results = deliver(bclient, streams[ordered_t.id])
    assert set(results) == {"applied"}
    ordered = _state(bplatform, ordered_t.id)

    storm = [e for e in streams[shuffled_t.id] for _ in range(5)]
    random.Random(15).shuffle(storm)
    results = deliver(bclient, storm)
    assert results.count("applied") == len(streams[shuffled_t.id])  # each event id applied exactly once
    assert results.count("duplicate") == 4 * len(streams[shuffled_t.id])
    shuffled = _state(bplatform, shuffled_t.id)

    a, b = ordered["account"], shuffled["account"]
    assert (a["state"], a["plan"], a["status"], ordered["tier"]) == \
        (b["state"], b["plan"], b["status"], shuffled["tier"])
    expected = {"recovered": ("active", "pro"), "canceled": ("canceled", "free"), "past_due": ("grace", "pro"),
                "paid_through": ("active", "pro")}[scenario]
    assert (b["state"], shuffled["tier"]) == expected
    assert (a["grace"] is None) == (b["grace"] is None)


def test_all_handled_event_types_are_produced_by_the_scenarios(bplatform, bclient, stripe_server):
    fake = stripe_server.fake
    t = new_tenant(bplatform, bclient, "Types", tier="free")
    sub_id, events = subscribe(bclient, stripe_server, t)
    events += fake.fail_payment(sub_id) + fake.pay(sub_id) + fake.fail_payment(sub_id) + fake.cancel(sub_id)
    assert {e["type"] for e in events} == HANDLED
    deliver(bclient, events)
    assert _state(bplatform, t.id)["account"]["state"] == "canceled"


def test_a_stale_payload_cannot_override_stripes_current_state(bplatform, bclient, stripe_server):
    """An old 'active' event arriving after the failure: the subscription is re-read, so it stays past due."""
    fake = stripe_server.fake
    t = new_tenant(bplatform, bclient, "Late", tier="free")
    sub_id, created = subscribe(bclient, stripe_server, t)
    failed = fake.fail_payment(sub_id)
    deliver(bclient, failed)
    assert _state(bplatform, t.id)["account"]["state"] == "grace"
    deliver(bclient, created)  # checkout.session.completed, subscription.created (status active), invoice.paid
    state = _state(bplatform, t.id)
    assert state["account"]["state"] == "grace" and state["account"]["status"] == "past_due"


def test_events_of_unknown_customers_and_types_are_recorded_not_applied(bplatform, bclient, stripe_server):
    fake = stripe_server.fake
    t = new_tenant(bplatform, bclient, "Known", tier="free")
    _, events = subscribe(bclient, stripe_server, t)
    stranger = fake.create_customer({"name": "not ours"})
    fake.objects["checkout.session"][events[0]["data"]["object"]["id"]]["customer"] = stranger["id"]
    fake.objects["subscription"][events[1]["data"]["object"]["id"]]["customer"] = stranger["id"]
    assert deliver(bclient, events[:1]) == ["ignored:unknown_customer"]
    other = dict(events[0], id="evt_other_type", type="customer.created")
    assert deliver(bclient, [other, other]) == ["ignored:unhandled_type", "duplicate"]
    assert _state(bplatform, t.id)["account"]["state"] == "none"
