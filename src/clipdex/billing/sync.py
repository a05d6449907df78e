"""``clipdex billing sync``: plans -> Stripe Meters, Products and Prices, idempotently.

Products have ids of our choosing (``clipdex_plan_<key>``), meters are found by event name and
prices by lookup key (which fingerprints the price), so a second run creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import stripe

from clipdex.billing.plans import METERED, Plan


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def sync_plans(client: stripe.StripeClient, plans: dict[str, Plan], currency: str) -> SyncResult:
    result = SyncResult()
    meters = ensure_meters(client, result)
    for plan in plans.values():
        if not plan.purchasable:
            continue
        _ensure_product(client, plan, result)
        _ensure_price(client, plan, "base", currency, result, None)
        for metric, meter_id in meters.items():
            if metric in plan.overage_cents:
                _ensure_price(client, plan, metric, currency, result, meter_id)
    return result


def ensure_meters(client: stripe.StripeClient, result: SyncResult | None = None) -> dict[str, str]:
    """Metric -> Stripe meter id, creating the meters that are missing."""
    existing = {m.event_name: m.id for m in client.v1.billing.meters.list({"limit": 100}).auto_paging_iter()
                if m.status == "active"}
    out = {}
    for metric, event_name in METERED.items():
        if event_name in existing:
            out[metric] = existing[event_name]
            _note(result, "unchanged", f"meter:{event_name}")
            continue
        meter = client.v1.billing.meters.create({
            "display_name": metric.replace("_", " ").capitalize(), "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"}})
        out[metric] = meter.id
        _note(result, "created", f"meter:{event_name}")
    return out


def _ensure_product(client: stripe.StripeClient, plan: Plan, result: SyncResult) -> None:
    want = {"name": f"clipdex {plan.name}", "metadata": {"clipdex_plan": plan.key, "clipdex_tier": plan.tier}}
    try:
        product = client.v1.products.retrieve(plan.product_id())
    except stripe.InvalidRequestError as e:
        if e.http_status != 404:
            raise
        client.v1.products.create({"id": plan.product_id(), **want})
        _note(result, "created", f"product:{plan.product_id()}")
        return
    if (product.name != want["name"] or (product.metadata.to_dict() if product.metadata else {}) != want["metadata"]
            or not product.active):
        client.v1.products.update(plan.product_id(), {**want, "active": True})
        _note(result, "updated", f"product:{plan.product_id()}")
    else:
        _note(result, "unchanged", f"product:{plan.product_id()}")


def _ensure_price(client: stripe.StripeClient, plan: Plan, part: str, currency: str, result: SyncResult,
                  meter_id: str | None) -> None:
    key = plan.lookup_key(part, currency)
    if client.v1.prices.list({"lookup_keys": [key], "limit": 1}).data:
        _note(result, "unchanged", f"price:{key}")
        return
    params: dict = {"product": plan.product_id(), "currency": currency, "lookup_key": key,
                    "transfer_lookup_key": True, "metadata": {"clipdex_plan": plan.key, "clipdex_part": part}}
    if part == "base":
        params.update(unit_amount=plan.monthly_price_cents, recurring={"interval": "month"})
    else:
        # graduated: what the plan includes costs nothing, each unit above it the overage price
        included = int(plan.included.get(part, 0))
        tiers = ([{"up_to": included, "unit_amount": 0}] if included > 0 else []) + [
            {"up_to": "inf", "unit_amount_decimal": plan.overage_cents[part]}]
        params.update(billing_scheme="tiered", tiers_mode="graduated", tiers=tiers,
                      recurring={"interval": "month", "usage_type": "metered", "meter": meter_id})
    client.v1.prices.create(params)
    _note(result, "created", f"price:{key}")


def price_ids(client: stripe.StripeClient, plan: Plan, currency: str) -> list[str]:
    """The current Stripe price ids of ``plan`` (base first), found by lookup key."""
    parts = ["base"] + [m for m in METERED if m in plan.overage_cents]
    keys = [plan.lookup_key(p, currency) for p in parts]
    found = {p.lookup_key: p.id for p in client.v1.prices.list({"lookup_keys": keys, "limit": len(keys)}).data}
    return [found[k] for k in keys if k in found]


def _note(result: SyncResult | None, kind: str, what: str) -> None:
    if result is not None:
        getattr(result, kind).append(what)
