"""The subscription state machine on its own: every Stripe status, grace arithmetic, older subscriptions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clipdex.billing.plans import load_plans
from clipdex.billing.state import BillingSuspended, apply_subscription, effective_state, ensure_processing_allowed
from clipdex.db.types import utcnow
from clipdex.models import BillingAccount, Tenant
from clipdex.tenancy import service as tenants
from clipdex.tenancy.system import SystemReason
from tests.conftest import make_settings


def _sub(status: str, plan: str = "pro", sub_id: str = "sub_1") -> dict:
    price = {"id": "price_1", "metadata": {"clipdex_plan": plan, "clipdex_part": "base"}}
    return {"id": sub_id, "status": status, "customer": "cus_1",
            "items": {"data": [{"price": price, "current_period_start": 1_800_000_000,
                                "current_period_end": 1_802_592_000}]}}


@pytest.fixture
def world(sqlite_platform):
    settings = make_settings(sqlite_platform.settings.data_dir.parent, billing_grace_s=600,
                             stripe_api_key="sk_test_x", stripe_webhook_secret="whsec_x")
    tenant = tenants.create_tenant(sqlite_platform, "States", "free", slug="states")
    with sqlite_platform.db.system(reason=SystemReason.OPERATOR) as s:
        s.add(BillingAccount(tenant_id=tenant.id, stripe_customer_id="cus_1"))
    return sqlite_platform, settings, tenant.id


def _apply(platform, settings, tenant_id, sub, now=None) -> tuple[str, str, list[str]]:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        account = s.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
        changes = apply_subscription(s, settings, load_plans(settings), account, sub, actor="test", now=now)
        return account.state, s.get(Tenant, tenant_id).tier, changes


@pytest.mark.parametrize("status,state,tier", [
    ("active", "active", "pro"), ("trialing", "active", "pro"), ("past_due", "grace", "pro"),
    ("unpaid", "suspended", "pro"), ("paused", "suspended", "pro"), ("canceled", "canceled", "free"),
    ("incomplete_expired", "canceled", "free"), ("incomplete", "none", "free"),  # not paid yet: no tier change
])
def test_each_stripe_status(world, status, state, tier):
    platform, settings, tenant_id = world
    assert _apply(platform, settings, tenant_id, _sub(status))[:2] == (state, tier)


def test_grace_runs_out_and_payment_restores(world):
    platform, settings, tenant_id = world
    t0 = utcnow()
    assert _apply(platform, settings, tenant_id, _sub("past_due"), t0)[0] == "grace"
    # redelivered or re-read later: the grace period counts from the first sighting, not the latest
    assert _apply(platform, settings, tenant_id, _sub("past_due"), t0 + timedelta(seconds=599))[0] == "grace"
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        account = s.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
        assert effective_state(account, t0 + timedelta(seconds=601)) == "suspended"
    assert _apply(platform, settings, tenant_id, _sub("past_due"), t0 + timedelta(seconds=601))[0] == "suspended"
    with platform.db.tenant(tenant_id) as s, pytest.raises(BillingSuspended):
        ensure_processing_allowed(s, settings, tenant_id)
    with platform.db.tenant(tenant_id) as s:  # billing off: the stored state is not enforced at all
        ensure_processing_allowed(s, platform.settings, tenant_id)
    assert _apply(platform, settings, tenant_id, _sub("active"))[0] == "active"
    with platform.db.tenant(tenant_id) as s:
        ensure_processing_allowed(s, settings, tenant_id)


def test_news_of_an_older_subscription_is_ignored(world):
    platform, settings, tenant_id = world
    _apply(platform, settings, tenant_id, _sub("active", "enterprise", "sub_new"))
    assert _apply(platform, settings, tenant_id, _sub("canceled", "pro", "sub_old")) == ("active", "enterprise", [])
