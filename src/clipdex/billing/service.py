"""What the billing routes do: overview, Checkout, customer portal, invoices.

Changing billing (Checkout, portal) is for the tenant's owners and platform operators; the
overview is for anyone who may read usage; invoices for those who may change billing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clipdex.auth.principal import Principal
from clipdex.auth.service import ensure
from clipdex.billing import stripe_client
from clipdex.billing.plans import Plan, load_plans
from clipdex.billing.state import effective_state
from clipdex.billing.sync import price_ids
from clipdex.db.types import utcnow
from clipdex.errors import AlreadySubscribed, BillingOwnerOnly, Forbidden, NoCustomer, PlansNotSynced, UnknownPlan
from clipdex.models import BillingAccount, Tenant, UsageRecord
from clipdex.platform import Platform
from clipdex.tenancy import access, audit

MANAGE_ACTION = "tenant:update"  # owners; operators are let through explicitly


def ensure_manager(principal: Principal) -> None:
    """Only owners (and platform operators acting in a tenant) change billing or see invoices."""
    if principal.actor_type == "user" and (principal.is_operator or principal.can(MANAGE_ACTION)):
        return
    raise BillingOwnerOnly("Only the tenant's owners can manage billing.")


def account_of(s: Session, tenant_id: uuid.UUID) -> BillingAccount | None:
    return s.scalar(select(BillingAccount).where(access.owned_by(BillingAccount, tenant_id)))


def usage_between(s: Session, tenant_id: uuid.UUID, start: datetime, end: datetime) -> dict[str, float]:
    rows = s.execute(select(UsageRecord.metric, func.sum(UsageRecord.quantity)).where(
        access.owned_by(UsageRecord, tenant_id), UsageRecord.created_at >= start, UsageRecord.created_at < end)
        .group_by(UsageRecord.metric)).all()
    return {m: float(q or 0) for m, q in rows}


def _month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def overview(platform: Platform, principal: Principal) -> dict[str, Any]:
    stripe_client.require_billing(platform.settings)
    ensure(principal, "usage:read")
    plans = load_plans(platform.settings)
    now = utcnow()
    with access.session_for(platform, principal, readonly=True) as s:
        account = account_of(s, principal.tenant_id)
        tier = s.scalar(select(Tenant.tier).where(Tenant.id == principal.tenant_id))
        start, end = ((account.current_period_start, account.current_period_end)
                      if account and account.current_period_start and account.current_period_end
                      else _month_bounds(now))
        used = usage_between(s, principal.tenant_id, start, end)
        state = effective_state(account, now)
        plan = plans.get(account.plan) if account and account.plan and state != "canceled" else plans.get(tier)
        return {
            "state": state, "plan": plan.key if plan else None, "tier": tier,
            "subscription_status": account.subscription_status if account else None,
            "grace_until": account.grace_until if account and state == "grace" else None,
            "period_start": start, "period_end": end, "has_customer": bool(account and account.stripe_customer_id),
            "can_manage": _may_manage(principal),
            "usage": [{"metric": m, "used": round(used.get(m, 0.0), 3), "included": plan.included.get(m, 0.0)
                       if plan else 0.0} for m in ("processing_minutes", "training_minutes")],
            "plans": [_plan_out(p) for p in plans.values()],
        }


def _may_manage(principal: Principal) -> bool:
    try:
        ensure_manager(principal)
        return True
    except Forbidden:
        return False


def _plan_out(plan: Plan) -> dict[str, Any]:
    return {"key": plan.key, "name": plan.name, "tier": plan.tier, "monthly_price_cents": plan.monthly_price_cents,
            "included": plan.included, "overage_cents": plan.overage_cents, "storage_bytes": plan.storage_bytes,
            "purchasable": plan.purchasable}


def start_checkout(platform: Platform, principal: Principal, plan_key: str) -> dict[str, str]:
    """A Stripe Checkout session for ``plan_key``; the tenant comes back to the console's billing page."""
    settings = platform.settings
    stripe_client.require_billing(settings)
    ensure_manager(principal)
    plan = load_plans(settings).get(plan_key)
    if plan is None or not plan.purchasable:
        raise UnknownPlan(f"No plan {plan_key!r} can be bought.")
    tenant_id = access.tenant_of(principal)
    client = stripe_client.client_for(settings)
    customer = _ensure_customer(platform, client, principal)
    with stripe_client.stripe_errors():
        prices = price_ids(client, plan, settings.billing_currency)
        if not prices:
            raise PlansNotSynced("Plans are not synced to Stripe yet (run `clipdex billing sync`).")
        base = settings.public_url.rstrip("/")
        session = client.v1.checkout.sessions.create({
            "mode": "subscription", "customer": customer, "client_reference_id": str(tenant_id),
            "line_items": [{"price": prices[0], "quantity": 1}] + [{"price": p} for p in prices[1:]],
            "metadata": {"tenant_id": str(tenant_id), "plan": plan.key},
            "subscription_data": {"metadata": {"tenant_id": str(tenant_id), "plan": plan.key}},
            "success_url": f"{base}/billing?checkout=success", "cancel_url": f"{base}/billing?checkout=cancel"})
    with platform.db.tenant(tenant_id) as s:
        audit.record(s, "billing.checkout_started", actor=principal.actor, tenant_id=tenant_id,
                     target=f"checkout:{session.id}", plan=plan.key)
    return {"id": session.id, "url": session.url}


def _ensure_customer(platform: Platform, client, principal: Principal) -> str:
    tenant_id = access.tenant_of(principal)
    with platform.db.tenant(tenant_id) as s:
        account = account_of(s, tenant_id)
        if account is not None and account.stripe_customer_id:
            if effective_state(account) in ("active", "grace", "suspended"):
                raise AlreadySubscribed("The tenant already has a subscription: change or cancel it in the "
                                        "customer portal.")
            return account.stripe_customer_id
        name = s.scalar(select(Tenant.name).where(Tenant.id == tenant_id))
    with stripe_client.stripe_errors():
        # the idempotency key makes two racing first Checkouts share one customer
        customer = client.v1.customers.create({"name": name, "metadata": {"tenant_id": str(tenant_id)}},
                                              {"idempotency_key": f"clipdex-customer-{tenant_id}"})
    with platform.db.tenant(tenant_id) as s:
        account = account_of(s, tenant_id) or BillingAccount(tenant_id=tenant_id)
        account.stripe_customer_id = account.stripe_customer_id or customer.id
        s.add(account)
        audit.record(s, "billing.customer_created", actor=principal.actor, tenant_id=tenant_id,
                     target=f"customer:{account.stripe_customer_id}")
        return account.stripe_customer_id


def _customer_of(platform: Platform, principal: Principal) -> str | None:
    with access.session_for(platform, principal, readonly=True) as s:
        account = account_of(s, principal.tenant_id)
        return account.stripe_customer_id if account else None


def portal_session(platform: Platform, principal: Principal) -> dict[str, str]:
    stripe_client.require_billing(platform.settings)
    ensure_manager(principal)
    customer = _customer_of(platform, principal)
    if not customer:
        raise NoCustomer("Subscribe first: there is no billing account to manage yet.")
    client = stripe_client.client_for(platform.settings)
    with stripe_client.stripe_errors():
        session = client.v1.billing_portal.sessions.create({
            "customer": customer, "return_url": f"{platform.settings.public_url.rstrip('/')}/billing"})
    with platform.db.tenant(principal.tenant_id) as s:
        audit.record(s, "billing.portal_opened", actor=principal.actor, tenant_id=principal.tenant_id,
                     target=f"customer:{customer}")
    return {"url": session.url}


def invoices(platform: Platform, principal: Principal, limit: int) -> list[dict[str, Any]]:
    stripe_client.require_billing(platform.settings)
    ensure_manager(principal)
    customer = _customer_of(platform, principal)
    if not customer:
        return []
    client = stripe_client.client_for(platform.settings)
    with stripe_client.stripe_errors():
        listed = client.v1.invoices.list({"customer": customer, "limit": limit}).data
    out = []
    for inv in listed:
        d = inv.to_dict()
        if d.get("customer") != customer:  # never show what Stripe returns for anyone else
            continue
        out.append({k: d.get(k) for k in ("id", "number", "status", "currency", "amount_due", "amount_paid",
                                          "created", "period_start", "period_end", "hosted_invoice_url",
                                          "invoice_pdf")})
    return out
