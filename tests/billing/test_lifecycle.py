"""Subscribe -> pro limits -> payment fails -> grace -> suspended (reads work, uploads refused) -> paid -> active."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clipdex.billing.reconcile import reconcile
from clipdex.db.types import utcnow
from clipdex.models import BillingAccount
from clipdex.tenancy.system import SystemReason
from tests.billing.conftest import deliver, subscribe
from tests.conftest import drain, new_tenant, upload
from tests.media import make_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("billing")
    return [make_video(d / f"clip{i}.mp4", seconds=1, size="160x120", tone_hz=300 + 100 * i) for i in range(3)]


def _billing(client, t) -> dict:
    r = client.get("/api/v1/billing", headers=t.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_subscription_lifecycle_drives_limits_and_suspension(bplatform, bclient, stripe_server, clips):
    fake = stripe_server.fake
    t = new_tenant(bplatform, bclient, "Cycle", tier="free")
    assert bclient.get("/api/v1/usage", headers=t.headers).json()["limits"]["processing_minutes_per_month"] == 120

    # subscribe: Checkout completed -> active, pro limits
    sub_id, events = subscribe(bclient, stripe_server, t, "pro")
    deliver(bclient, events)
    assert _billing(bclient, t)["state"] == "active" and _billing(bclient, t)["plan"] == "pro"
    usage = bclient.get("/api/v1/usage", headers=t.headers).json()
    assert usage["tier"] == "pro" and usage["limits"]["processing_minutes_per_month"] == 6000
    first = upload(bclient, t, clips[0], title="Quarterly all-hands")
    assert first.status_code == 201, first.text
    video_id = first.json()["id"]
    drain(bplatform)

    # the card fails at renewal: grace, with the date the console's banner shows; work goes on
    deliver(bclient, fake.fail_payment(sub_id))
    info = _billing(bclient, t)
    assert info["state"] == "grace" and info["grace_until"] is not None
    assert info["subscription_status"] == "past_due" and info["tier"] == "pro"
    during_grace = upload(bclient, t, clips[2], title="Uploaded in grace")
    assert during_grace.status_code == 201, during_grace.text  # grace is a warning, not a stop
    waiting_id = during_grace.json()["id"]

    # grace runs out (moved into the past instead of waiting a week): enforcement sees it at once,
    # reconcile writes it down and audits it
    with bplatform.db.system(reason=SystemReason.OPERATOR) as s:
        account = s.scalar(select(BillingAccount).where(BillingAccount.tenant_id == t.id))
        account.grace_until = utcnow() - timedelta(seconds=1)
    refused = upload(bclient, t, clips[1], title="Refused")
    assert refused.status_code == 402 and refused.json()["code"] == "billing.suspended"
    result = reconcile(bplatform)
    assert str(t.id) in result.suspended
    assert _billing(bclient, t)["state"] == "suspended"
    tus = bclient.post("/api/v1/uploads", headers={**t.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "1000"})
    assert tus.status_code == 402 and tus.json()["code"] == "billing.suspended"
    job_id = bclient.get("/api/v1/jobs", headers=t.headers, params={"video_id": video_id}).json()["items"][0]["id"]
    retry = bclient.post(f"/api/v1/jobs/{job_id}/retry", headers=t.headers)
    assert retry.status_code == 402 and retry.json()["code"] == "billing.suspended"

    # queued work waits instead of running, and is not lost
    assert drain(bplatform) == 0
    assert bclient.get(f"/api/v1/videos/{waiting_id}", headers=t.headers).json()["status"] == "queued"

    # nothing is lost and everything stays readable and searchable
    assert bclient.get(f"/api/v1/videos/{video_id}", headers=t.headers).status_code == 200
    listed = bclient.get("/api/v1/videos", headers=t.headers, params={"q": "all-hands"}).json()["items"]
    assert [v["id"] for v in listed] == [video_id]
    assert bclient.get(f"/api/v1/videos/{video_id}/download", headers=t.headers, follow_redirects=False
                       ).status_code in (200, 302, 307)
    assert bclient.get("/api/v1/search", headers=t.headers, params={"q": "all-hands"}).status_code == 200
    assert bclient.get("/api/v1/usage", headers=t.headers).status_code == 200
    assert bclient.get("/api/v1/billing/invoices", headers=t.headers).status_code == 200

    # paid: restored
    deliver(bclient, fake.pay(sub_id))
    assert _billing(bclient, t)["state"] == "active"
    assert drain(bplatform) > 0
    assert bclient.get(f"/api/v1/videos/{waiting_id}", headers=t.headers).json()["status"] == "ready"
    again = upload(bclient, t, clips[1], title="Back in business")
    assert again.status_code == 201, again.text
    audit = bclient.get("/api/v1/audit", headers=t.headers, params={"limit": 100}).json()["items"]
    actions = [e["action"] for e in audit]
    transitions = [a for a in actions if a == "billing.state_changed"]
    assert len(transitions) == 4  # none->active, active->grace, grace->suspended, suspended->active


def test_cancel_returns_the_tenant_to_the_default_tier(bplatform, bclient, stripe_server):
    t = new_tenant(bplatform, bclient, "Leaver", tier="free")
    sub_id, events = subscribe(bclient, stripe_server, t, "enterprise")
    deliver(bclient, events)
    assert bclient.get("/api/v1/usage", headers=t.headers).json()["tier"] == "enterprise"
    deliver(bclient, stripe_server.fake.cancel(sub_id))
    assert bclient.get("/api/v1/usage", headers=t.headers).json()["tier"] == "free"
    assert _billing(bclient, t)["state"] == "canceled"
    # and may subscribe again
    assert bclient.post("/api/v1/billing/checkout", headers=t.headers, json={"plan": "pro"}).status_code == 201


def _tenant_events(platform, target: str) -> list:
    from clipdex.models import AuditEvent

    with platform.db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.deleted",
                                                      AuditEvent.target == target)))


def test_deleting_a_tenant_deletes_its_stripe_customer_and_cancels_the_subscription(bplatform, bclient,
                                                                                    stripe_server):
    """A deleted tenant is never charged again: its Stripe customer goes (Stripe cancels the subscription
    with it) before any row does; if Stripe cannot be reached, nothing is deleted and the owner retries."""
    fake = stripe_server.fake
    t = new_tenant(bplatform, bclient, "Closing", tier="free")
    sub_id, events = subscribe(bclient, stripe_server, t, "pro")
    deliver(bclient, events)
    customer = fake.objects["subscription"][sub_id]["customer"]

    key, fake.api_key = fake.api_key, "sk_test_rotated"  # Stripe refuses our key: the deletion must not start
    r = bclient.delete("/api/v1/tenant", headers=t.headers, params={"confirm": t.slug})
    fake.api_key = key
    assert r.status_code == 502 and r.json()["code"] == "billing.stripe_unavailable", r.text
    assert bclient.get("/api/v1/tenant", headers=t.headers).status_code == 200
    assert fake.objects["subscription"][sub_id]["status"] == "active"

    assert bclient.delete("/api/v1/tenant", headers=t.headers, params={"confirm": t.slug}).status_code == 204
    assert fake.objects["customer"][customer] == {"id": customer, "object": "customer", "deleted": True}
    assert fake.objects["subscription"][sub_id]["status"] == "canceled"
    assert ("DELETE", f"/v1/customers/{customer}", None) in fake.requests
    # Stripe's webhooks about the cancelled subscription arrive for a tenant that no longer exists
    assert deliver(bclient, fake.deliver_pending()), "the deletion caused no events"
    (event,) = _tenant_events(bplatform, f"tenant:{t.id}")
    assert event.details["stripe_customer"] == "deleted"
