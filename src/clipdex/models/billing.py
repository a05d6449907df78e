"""Billing (issue 15): a tenant's Stripe account state, applied webhook events, usage reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.db.types import utcnow
from clipdex.models.base import Base, IdMixin, TenantOwned


class BillingAccount(TenantOwned, Base):
    """One per tenant once it starts Checkout: the Stripe ids and the subscription state we act on.

    ``state`` is ours (none | active | grace | suspended | canceled); ``subscription_status`` is
    Stripe's, as last read from Stripe (never from an event payload).
    """

    __tablename__ = "billing_accounts"
    # one per tenant by construction: created once, keyed by the unique Stripe customer that an
    # idempotent create returns to racing callers

    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    plan: Mapped[str | None] = mapped_column(String(64), default=None)
    subscription_status: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(16), default="none")
    past_due_since: Mapped[datetime | None] = mapped_column(default=None)
    grace_until: Mapped[datetime | None] = mapped_column(default=None)
    current_period_start: Mapped[datetime | None] = mapped_column(default=None)
    current_period_end: Mapped[datetime | None] = mapped_column(default=None)
    metered_from: Mapped[datetime | None] = mapped_column(default=None)  # usage before this is never reported
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StripeEvent(IdMixin, Base):
    """A webhook event id applied once. Platform-level (no tenant column): the id is Stripe's."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(String(64), default="")


class UsageReport(TenantOwned, Base):
    """Metered usage of one tenant, metric and closed period slice, reported to Stripe once.

    The row is written (``pending``) before Stripe is called, with the idempotency key Stripe will
    see; a reporter killed after Stripe accepted the event resends the same key on retry.
    """

    __tablename__ = "billing_usage_reports"
    __table_args__ = (UniqueConstraint("tenant_id", "metric", "slice_start",
                                       name="uq_billing_usage_reports_slice"),)

    metric: Mapped[str] = mapped_column(String(32))
    slice_start: Mapped[datetime]
    slice_end: Mapped[datetime]
    quantity: Mapped[float] = mapped_column(default=0.0)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
