"""The subscription state machine: a Stripe subscription, as read from Stripe, drives the tenant.

    active / trialing        -> state active, tenant tier = the plan's tier
    past_due                 -> state grace until past_due_since + grace, then suspended
    unpaid / paused          -> state suspended
    canceled / inc._expired  -> state canceled, tenant back on the default tier
    incomplete               -> no change (Checkout has not been paid yet)

Suspension refuses uploads and processing (``billing.suspended``) and keeps every read. The
input is always the current subscription fetched from Stripe, never an event payload, so events
delivered twice or out of order converge on Stripe's present state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipdex.billing.plans import Plan
from clipdex.db.types import utcnow
from clipdex.errors import BillingSuspended
from clipdex.models import BillingAccount, Tenant
from clipdex.settings import Settings
from clipdex.tenancy import audit
from clipdex.tenancy.access import owned_by

ACTIVE = ("active", "trialing")
ENDED = ("canceled", "incomplete_expired")
SUSPENDING = ("unpaid", "paused")


def effective_state(account: BillingAccount | None, now: datetime | None = None) -> str:
    """The state to enforce now: a grace period that ran out counts as suspended even before it is written."""
    if account is None:
        return "none"
    if account.state == "grace" and account.grace_until is not None and (now or utcnow()) >= account.grace_until:
        return "suspended"
    return account.state


def ensure_processing_allowed(s: Session, settings: Settings, tenant_id) -> None:
    """Raise ``billing.suspended`` for a suspended tenant; nothing at all when billing is off."""
    if not settings.billing_enabled:
        return
    account = s.scalar(select(BillingAccount).where(owned_by(BillingAccount, tenant_id)))
    if effective_state(account) == "suspended":
        raise BillingSuspended()


def suspended_among(s: Session, settings: Settings, tenant_ids, now: datetime | None = None) -> set:
    """Which of ``tenant_ids`` are billing-suspended now (the scheduler gives them no new stages)."""
    if not settings.billing_enabled or not tenant_ids:
        return set()
    accounts = s.scalars(select(BillingAccount).where(BillingAccount.tenant_id.in_(list(tenant_ids)),
                                                      BillingAccount.state.in_(("grace", "suspended")))).all()
    return {a.tenant_id for a in accounts if effective_state(a, now) == "suspended"}


def plan_of(subscription: Any, plans: dict[str, Plan]) -> Plan | None:
    for item in subscription["items"]["data"]:
        meta = item["price"].get("metadata") or {}
        if meta.get("clipdex_part", "base") == "base" and meta.get("clipdex_plan") in plans:
            return plans[meta["clipdex_plan"]]
    return None


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=utcnow().tzinfo) if value else None


def apply_subscription(s: Session, settings: Settings, plans: dict[str, Plan], account: BillingAccount,
                       subscription: Any, *, actor: str, now: datetime | None = None) -> list[str]:
    """Bring ``account`` and its tenant in line with ``subscription`` (fresh from Stripe). Returns what changed."""
    now = now or utcnow()
    sub_id, status = subscription["id"], subscription["status"]
    if account.stripe_subscription_id not in (None, sub_id) and status not in ACTIVE:
        return []  # an older subscription's news: the tenant has moved on to another one
    plan = plan_of(subscription, plans)
    old = (account.state, account.plan, account.subscription_status)
    account.stripe_subscription_id = sub_id
    account.subscription_status = status
    items = subscription["items"]["data"]
    if items:
        account.current_period_start = _ts(items[0].get("current_period_start"))
        account.current_period_end = _ts(items[0].get("current_period_end"))
    if status in ACTIVE:
        account.state, account.past_due_since, account.grace_until = "active", None, None
    elif status == "past_due":
        if account.past_due_since is None:
            account.past_due_since = now
            account.grace_until = now + timedelta(seconds=settings.billing_grace_s)
        account.state = "grace"
        account.state = effective_state(account, now)  # a grace period already spent: suspended
    elif status in SUSPENDING:
        account.state = "suspended"
    elif status in ENDED:
        account.state, account.past_due_since, account.grace_until = "canceled", None, None
    if plan is not None:
        account.plan = plan.key
    if account.state in ("active", "grace", "suspended"):
        account.metered_from = account.metered_from or now
    changes = []
    if (account.state, account.plan, account.subscription_status) != old:
        changes.append(f"state:{old[0]}->{account.state}")
        audit.record(s, "billing.state_changed", actor=actor, tenant_id=account.tenant_id,
                     target=f"subscription:{sub_id}", old=old[0], new=account.state, plan=account.plan,
                     subscription_status=status, grace_until=account.grace_until.isoformat()
                     if account.grace_until else None)
    tier = _tier_for(settings, plans, account)
    if tier is not None:
        changes += _set_tier(s, account.tenant_id, tier, actor)
    return changes


def _tier_for(settings: Settings, plans: dict[str, Plan], account: BillingAccount) -> str | None:
    if account.state == "canceled":
        return settings.default_tier
    if account.state in ("active", "grace", "suspended") and account.plan in plans:
        return plans[account.plan].tier
    return None


def _set_tier(s: Session, tenant_id, tier: str, actor: str) -> list[str]:
    tenant = s.get(Tenant, tenant_id)
    if tenant is None or tenant.tier == tier:
        return []
    old, tenant.tier = tenant.tier, tier
    audit.record(s, "tenant.tier_changed", actor=actor, tenant_id=tenant_id, target=f"tenant:{tenant_id}",
                 old=old, new=tier, source="billing")
    return [f"tier:{old}->{tier}"]


def expire_grace(s: Session, now: datetime | None = None) -> list[BillingAccount]:
    """Write down suspensions whose grace ran out (enforcement already treats them so). System session."""
    now = now or utcnow()
    due = s.scalars(select(BillingAccount).where(BillingAccount.state == "grace",
                                                 BillingAccount.grace_until <= now)).all()
    for account in due:
        account.state = "suspended"
        audit.record(s, "billing.state_changed", actor="system:billing", tenant_id=account.tenant_id,
                     target=f"subscription:{account.stripe_subscription_id}", old="grace", new="suspended",
                     reason="grace_expired")
    return list(due)
