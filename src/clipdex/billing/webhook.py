"""``POST /api/v1/billing/webhook``: verify, apply each event once, re-read the truth from Stripe.

The signature is checked on the raw body by ``stripe.Webhook.construct_event`` (HMAC-SHA256 over
``t.payload``, timestamps older than the tolerance refused). An event only says *which*
subscription changed; its current state is fetched from Stripe, so duplicates and reordering do
not matter. The event id is stored in the same transaction as its effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clipdex.billing import stripe_client
from clipdex.billing.plans import load_plans
from clipdex.billing.state import apply_subscription
from clipdex.errors import WebhookRejected
from clipdex.models import BillingAccount, StripeEvent
from clipdex.platform import Platform
from clipdex.tenancy.system import SystemReason, system_session

log = logging.getLogger(__name__)

# Each of these only names a subscription; its state is re-read from Stripe. Anything else is
# recorded and ignored (enable only these types on the endpoint in the Stripe dashboard).
SUBSCRIPTION_EVENTS = {"customer.subscription.created", "customer.subscription.updated",
                       "customer.subscription.deleted"}
INVOICE_EVENTS = {"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"}
CHECKOUT_EVENTS = {"checkout.session.completed"}
HANDLED = SUBSCRIPTION_EVENTS | INVOICE_EVENTS | CHECKOUT_EVENTS
ACTOR = "stripe:webhook"


@dataclass
class Outcome:
    event_id: str
    type: str
    result: str  # applied | duplicate | ignored:<why>


def verify(platform: Platform, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, or WebhookRejected (unsigned, wrong secret, stale, altered, not JSON)."""
    secret = stripe_client.webhook_secret(platform.settings)
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret,
                                               tolerance=platform.settings.billing_webhook_tolerance_s)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as e:
        # the library's message is safe (no secret in it) but says which check failed: log, do not return
        log.warning("stripe webhook rejected: %s", type(e).__name__)
        raise WebhookRejected("The webhook signature is missing, invalid or too old.") from None
    return event.to_dict()


def handle(platform: Platform, payload: bytes, signature: str | None) -> Outcome:
    event = verify(platform, payload, signature)
    event_id, etype = event["id"], event["type"]
    with system_session(platform, SystemReason.BILLING, readonly=True) as s:
        if s.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None:
            return Outcome(event_id, etype, "duplicate")
    if etype not in HANDLED:
        return _record(platform, event, "ignored:unhandled_type")
    client = stripe_client.client_for(platform.settings)
    obj = event["data"]["object"]
    with stripe_client.stripe_errors():  # 502: Stripe redelivers, nothing was recorded
        customer, sub_id = _ids_of(client, etype, obj)
        if not sub_id:
            return _record(platform, event, "ignored:no_subscription")
        subscription = client.v1.subscriptions.retrieve(sub_id).to_dict()  # the truth, not the payload
    return _apply(platform, event, customer or subscription["customer"], subscription)


def _ids_of(client: stripe.StripeClient, etype: str, obj: dict) -> tuple[str | None, str | None]:
    if etype in CHECKOUT_EVENTS:
        session = client.v1.checkout.sessions.retrieve(obj["id"]).to_dict()
        return session.get("customer"), session.get("subscription")
    if etype in INVOICE_EVENTS:
        parent = obj.get("parent") or {}
        details = parent.get("subscription_details") or {}
        return obj.get("customer"), details.get("subscription")
    return obj.get("customer"), obj.get("id")


def _apply(platform: Platform, event: dict, customer: str, subscription: dict) -> Outcome:
    plans = load_plans(platform.settings)
    try:
        with system_session(platform, SystemReason.BILLING) as s:
            record = StripeEvent(event_id=event["id"], type=event["type"], object_id=subscription["id"],
                                 outcome="applied")
            s.add(record)
            s.flush()  # a concurrent delivery of the same id fails here and applies nothing
            account = s.scalar(select(BillingAccount).where(BillingAccount.stripe_customer_id == customer))
            if account is None:  # not a customer this deployment created: never ours to act on
                record.outcome = "ignored:unknown_customer"
                return Outcome(event["id"], event["type"], record.outcome)
            apply_subscription(s, platform.settings, plans, account, subscription, actor=ACTOR)
    except IntegrityError:
        return Outcome(event["id"], event["type"], "duplicate")
    return Outcome(event["id"], event["type"], "applied")


def _record(platform: Platform, event: dict, outcome: str) -> Outcome:
    try:
        with system_session(platform, SystemReason.BILLING) as s:
            s.add(StripeEvent(event_id=event["id"], type=event["type"], outcome=outcome,
                              object_id=str((event.get("data") or {}).get("object", {}).get("id", ""))[:255]))
    except IntegrityError:
        return Outcome(event["id"], event["type"], "duplicate")
    return Outcome(event["id"], event["type"], outcome)
