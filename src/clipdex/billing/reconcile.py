"""``clipdex billing reconcile``: catch up with Stripe and show what was reported.

Webhooks can be lost; this re-reads every tenant's subscription from Stripe and applies it, writes
down suspensions whose grace ran out, and compares the usage we reported per tenant and metric
with Stripe's own meter totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import stripe
from sqlalchemy import func, select

from clipdex.billing import stripe_client
from clipdex.billing.plans import METERED, load_plans
from clipdex.billing.state import apply_subscription, expire_grace
from clipdex.db.types import utcnow
from clipdex.models import BillingAccount, UsageReport
from clipdex.platform import Platform
from clipdex.tenancy.access import owned_by
from clipdex.tenancy.system import SystemReason, system_session

ACTOR = "system:billing-reconcile"


@dataclass
class UsageLine:
    tenant_id: str
    metric: str
    slices_sent: int
    slices_pending: int
    reported_units: float
    stripe_units: float | None

    @property
    def matches(self) -> bool:
        return self.stripe_units is not None and abs(self.stripe_units - self.reported_units) < 1e-6


@dataclass
class ReconcileResult:
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    suspended: list[str] = field(default_factory=list)
    usage: list[UsageLine] = field(default_factory=list)


def reconcile(platform: Platform, *, client: stripe.StripeClient | None = None) -> ReconcileResult:
    settings = platform.settings
    client = client or stripe_client.client_for(settings)
    plans = load_plans(settings)
    result = ReconcileResult()
    with system_session(platform, SystemReason.BILLING, readonly=True) as s:
        subs = s.execute(select(BillingAccount.tenant_id, BillingAccount.stripe_subscription_id).where(
            BillingAccount.stripe_subscription_id.is_not(None))).all()
    for tenant_id, sub_id in subs:
        subscription = client.v1.subscriptions.retrieve(sub_id).to_dict()
        with system_session(platform, SystemReason.BILLING) as s:
            account = s.scalar(select(BillingAccount).where(owned_by(BillingAccount, tenant_id)))
            changes = apply_subscription(s, settings, plans, account, subscription, actor=ACTOR)
        result.subscriptions[str(tenant_id)] = changes
        if any(c.startswith("state:") and c.endswith("->suspended") for c in changes):
            result.suspended.append(str(tenant_id))
    with system_session(platform, SystemReason.BILLING) as s:
        result.suspended += [str(a.tenant_id) for a in expire_grace(s, utcnow())]
    result.usage = _usage_lines(platform, client)
    return result


def _usage_lines(platform: Platform, client: stripe.StripeClient) -> list[UsageLine]:
    with system_session(platform, SystemReason.BILLING, readonly=True) as s:
        rows = s.execute(select(UsageReport.tenant_id, UsageReport.stripe_customer_id, UsageReport.metric,
                                UsageReport.status, func.count(), func.sum(UsageReport.quantity),
                                func.min(UsageReport.slice_start), func.max(UsageReport.slice_end))
                         .where(UsageReport.status != "empty")
                         .group_by(UsageReport.tenant_id, UsageReport.stripe_customer_id, UsageReport.metric,
                                   UsageReport.status)).all()
    meters = {m.event_name: m.id for m in client.v1.billing.meters.list({"limit": 100}).auto_paging_iter()}
    lines: dict[tuple, dict] = {}
    for tenant_id, customer, metric, status, n, qty, first, last in rows:
        line = lines.setdefault((tenant_id, customer, metric), {"sent": 0, "pending": 0, "units": 0.0,
                                                                 "first": first, "last": last})
        line["first"], line["last"] = min(line["first"], first), max(line["last"], last)
        if status == "sent":
            line["sent"], line["units"] = n, float(qty or 0)
        else:
            line["pending"] = n
    out = []
    for (tenant_id, customer, metric), line in sorted(lines.items(), key=lambda kv: (str(kv[0][0]), kv[0][2])):
        meter = meters.get(METERED[metric])
        stripe_units = None
        if meter:
            summaries = client.v1.billing.meters.event_summaries.list(meter, {
                "customer": customer, "start_time": int(line["first"].timestamp()),
                "end_time": int(line["last"].timestamp())}).auto_paging_iter()
            stripe_units = float(sum(x.aggregated_value for x in summaries))
        out.append(UsageLine(str(tenant_id), metric, line["sent"], line["pending"], line["units"], stripe_units))
    return out
