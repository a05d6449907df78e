"""Billing routes with billing on: every principal of A against a subscribed B sees and changes nothing of B's."""

from __future__ import annotations

from sqlalchemy import select

from clipdex.models import BillingAccount, Tenant
from clipdex.tenancy.system import SystemReason
from tests.billing.conftest import deliver, subscribe
from tests.conftest import add_user, login, new_tenant

ROUTES = [("GET", "/api/v1/billing", None), ("POST", "/api/v1/billing/checkout", {"plan": "enterprise"}),
          ("POST", "/api/v1/billing/portal", None), ("GET", "/api/v1/billing/invoices", None)]


def _b_state(platform, tenant_id) -> tuple:
    with platform.db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        account = s.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
        return (s.scalar(select(Tenant.tier).where(Tenant.id == tenant_id)), account.state, account.plan,
                account.stripe_customer_id, account.stripe_subscription_id)


def test_a_never_sees_or_changes_bs_billing(bplatform, bclient, stripe_server):
    fake = stripe_server.fake
    a = new_tenant(bplatform, bclient, "Alpha", tier="free")
    b = new_tenant(bplatform, bclient, "Bravo", tier="free")
    _, events_a = subscribe(bclient, stripe_server, a, "pro")
    b_sub, events_b = subscribe(bclient, stripe_server, b, "enterprise")
    deliver(bclient, events_a + events_b + fake.fail_payment(b_sub))
    b_before = _b_state(bplatform, b.id)
    b_invoices = [i for i in fake.objects["invoice"].values() if i["customer"] == b_before[3]]
    b_secrets = {b_before[3], b_sub} | {i["id"] for i in b_invoices} | {i["number"] for i in b_invoices}

    headers = {"owner": a.headers}
    for role in ("admin", "member", "viewer"):
        email = f"{role}@{a.slug}.example.com"
        add_user(bplatform, a.id, email, role)
        headers[role] = {"Authorization": f"Bearer {login(bclient, email, tenant=a.slug)['access_token']}"}
    for scopes in (["read"], ["read", "write"]):
        key = bclient.post("/api/v1/api-keys", headers=a.headers, json={"name": "k", "scopes": scopes}).json()
        headers["key:" + "+".join(scopes)] = {"Authorization": f"Bearer {key['secret']}"}

    sessions_before = len(fake.objects["checkout.session"])
    for who, h in headers.items():
        for method, path, body in ROUTES:
            r = bclient.request(method, path, headers=h, json=body)
            assert r.status_code < 500, (who, path, r.text)
            assert not [s for s in b_secrets if s in r.text], (who, path)
            if who != "owner" and method == "POST":
                assert r.status_code == 403, (who, path, r.status_code)
            if who == "owner" and path.endswith("checkout"):
                assert r.json()["code"] == "billing.already_subscribed"  # A's own subscription, not B's
    assert len(fake.objects["checkout.session"]) == sessions_before
    portal_customers = {s["customer"] for s in fake.objects["billing_portal.session"].values()}
    assert b_before[3] not in portal_customers
    overview = bclient.get("/api/v1/billing", headers=a.headers).json()
    assert (overview["plan"], overview["state"]) == ("pro", "active")  # B is in grace; A is not
    assert _b_state(bplatform, b.id) == b_before
