"""``clipdex billing report-usage``: metered usage to Stripe meter events, once per closed slice.

Two phases, each its own commit, so a crash anywhere never bills twice:

1. plan: for every closed, UTC-aligned slice not yet planned, write a ``pending`` row holding the
   quantity and a deterministic idempotency key (``clipdex-usage-<tenant>-<metric>-<slice start>``);
2. send: post each pending row as a meter event with that key as both the Idempotency-Key and the
   event ``identifier``, then mark it ``sent``.

A reporter killed between Stripe's answer and step 2's commit resends the same key next time,
and Stripe answers with the stored result instead of counting again. Quantities are whole units:
a slice reports ``floor(cumulative at end) - floor(cumulative at start)``, so fractions carry over
instead of being rounded away or billed twice.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import stripe
from sqlalchemy import func, select

from clipdex.billing import stripe_client
from clipdex.billing.plans import METERED
from clipdex.db.types import utcnow
from clipdex.models import BillingAccount, UsageRecord, UsageReport
from clipdex.platform import Platform
from clipdex.tenancy.access import owned_by
from clipdex.tenancy.system import SystemReason, system_session

log = logging.getLogger(__name__)


@dataclass
class ReportResult:
    planned: int = 0
    sent: int = 0
    empty: int = 0
    failed: list[str] = field(default_factory=list)
    units: float = 0.0


def _floor_slice(t: datetime, slice_s: int) -> datetime:
    epoch = int(t.timestamp()) // slice_s * slice_s
    return datetime.fromtimestamp(epoch, tz=t.tzinfo)


def report_usage(platform: Platform, *, now: datetime | None = None, client: stripe.StripeClient | None = None,
                 max_slices: int = 62) -> ReportResult:
    settings = platform.settings
    client = client or stripe_client.client_for(settings)
    closed_end = _floor_slice(now or utcnow(), settings.billing_usage_slice_s)
    with system_session(platform, SystemReason.BILLING, readonly=True) as s:
        accounts = s.execute(select(BillingAccount.tenant_id, BillingAccount.stripe_customer_id,
                                    BillingAccount.metered_from).where(
            BillingAccount.stripe_customer_id.is_not(None), BillingAccount.metered_from.is_not(None))).all()
    result = ReportResult()
    for tenant_id, customer, since in accounts:
        for metric in METERED:
            planned, empty = _plan(platform, tenant_id, customer, metric, since, closed_end, max_slices)
            result.planned, result.empty = result.planned + planned, result.empty + empty
        _send_pending(platform, client, tenant_id, result)
    return result


def _cumulative(s, tenant_id: uuid.UUID, metric: str, since: datetime, until: datetime) -> float:
    if until <= since:
        return 0.0
    return float(s.scalar(select(func.coalesce(func.sum(UsageRecord.quantity), 0.0)).where(
        owned_by(UsageRecord, tenant_id), UsageRecord.metric == metric,
        UsageRecord.created_at >= since, UsageRecord.created_at < until)) or 0.0)


def _plan(platform: Platform, tenant_id: uuid.UUID, customer: str, metric: str, since: datetime,
          closed_end: datetime, max_slices: int) -> tuple[int, int]:
    """Pending rows for the closed slices not planned yet: (slices planned, of which empty)."""
    step = timedelta(seconds=platform.settings.billing_usage_slice_s)
    planned = empty = 0
    with platform.db.tenant(tenant_id) as s:
        last = s.scalar(select(func.max(UsageReport.slice_end)).where(
            owned_by(UsageReport, tenant_id), UsageReport.metric == metric))
        start = last or _floor_slice(since, platform.settings.billing_usage_slice_s)
        while start + step <= closed_end and planned < max_slices:
            end = start + step
            qty = math.floor(_cumulative(s, tenant_id, metric, since, end)) - math.floor(
                _cumulative(s, tenant_id, metric, since, start))
            key = f"clipdex-usage-{tenant_id}-{metric}-{int(start.timestamp())}"
            s.add(UsageReport(tenant_id=tenant_id, metric=metric, slice_start=start, slice_end=end,
                              quantity=float(qty), idempotency_key=key, stripe_customer_id=customer,
                              status="pending" if qty > 0 else "empty"))
            start, planned, empty = end, planned + 1, empty + (qty <= 0)
    return planned, empty


def _send_pending(platform: Platform, client: stripe.StripeClient, tenant_id: uuid.UUID,
                  result: ReportResult) -> None:
    with platform.db.tenant(tenant_id, readonly=True) as s:
        rows = s.execute(select(UsageReport.id, UsageReport.metric, UsageReport.quantity, UsageReport.slice_end,
                                UsageReport.idempotency_key, UsageReport.stripe_customer_id).where(
            owned_by(UsageReport, tenant_id), UsageReport.status == "pending")
            .order_by(UsageReport.slice_start)).all()
    for row_id, metric, qty, slice_end, key, customer in rows:
        try:
            client.v1.billing.meter_events.create(
                {"event_name": METERED[metric], "identifier": key, "timestamp": int(slice_end.timestamp()) - 1,
                 "payload": {"stripe_customer_id": customer, "value": str(int(qty))}},
                {"idempotency_key": key})
        except stripe.StripeError as e:
            _mark(platform, tenant_id, row_id, None, error=type(e).__name__)
            result.failed.append(key)
            log.warning("usage report %s failed: %s", key, type(e).__name__)
            continue
        _mark(platform, tenant_id, row_id, "sent")
        result.sent += 1
        result.units += qty


def _mark(platform: Platform, tenant_id: uuid.UUID, row_id: uuid.UUID, status: str | None, *,
          error: str | None = None) -> None:
    with platform.db.tenant(tenant_id) as s:
        row = s.get(UsageReport, row_id)
        row.attempts += 1
        if status:
            row.status, row.sent_at = status, utcnow()
        if error:
            row.details = {**(row.details or {}), "last_error": error}
