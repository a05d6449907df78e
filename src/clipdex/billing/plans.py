"""Plans: what a tenant buys. Each maps to a tier (its limits) and to Stripe Products/Prices.

Defaults derive from the configured tiers; ``CLIPDEX_BILLING_PLANS`` (JSON: plan key -> fields)
overrides fields or adds operator-defined plans. Prices in Stripe are immutable, so every price
carries a lookup key with a fingerprint of its definition: changing a plan's price makes sync
create a new Price, and checkout uses the new one.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, Field

from clipdex.settings import GiB, Settings

# Metrics reported to Stripe meters (UsageRecord.metric -> meter event name).
METERED = {"processing_minutes": "clipdex_processing_minutes", "training_minutes": "clipdex_training_minutes"}


class Plan(BaseModel):
    key: str
    tier: str
    name: str
    monthly_price_cents: int = Field(0, ge=0)
    included: dict[str, float] = Field(default_factory=dict, description="metric -> units included per period")
    overage_cents: dict[str, str] = Field(default_factory=dict,
                                          description="metric -> price per unit above the included amount (decimal)")
    storage_bytes: int = 0

    @property
    def purchasable(self) -> bool:
        return self.monthly_price_cents > 0

    def fingerprint(self, part: str, currency: str) -> str:
        body = {"part": part, "currency": currency, "monthly": self.monthly_price_cents} if part == "base" else {
            "part": part, "currency": currency, "included": self.included.get(part, 0),
            "overage": self.overage_cents.get(part, "0")}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]

    def lookup_key(self, part: str, currency: str) -> str:
        return f"clipdex_{self.key}_{part}_{self.fingerprint(part, currency)}"

    def product_id(self) -> str:
        return f"clipdex_plan_{self.key}"


_DEFAULT_PRICES = {"free": 0, "pro": 4900, "enterprise": 99900}
_DEFAULT_OVERAGE = {"pro": {"processing_minutes": "2", "training_minutes": "10"},
                    "enterprise": {"processing_minutes": "1", "training_minutes": "5"}}


def load_plans(settings: Settings) -> dict[str, Plan]:
    """Plan key -> Plan: one per configured tier, then the operator's overrides and additions."""
    plans: dict[str, dict] = {}
    for name, tier in settings.tiers.items():
        plans[name] = {"key": name, "tier": name, "name": name.capitalize(),
                       "monthly_price_cents": _DEFAULT_PRICES.get(name, 0),
                       "included": {"processing_minutes": tier.processing_minutes_per_month,
                                    "training_minutes": 0.0 if name == "free" else 600.0},
                       "overage_cents": dict(_DEFAULT_OVERAGE.get(name, {})),
                       "storage_bytes": tier.storage_bytes}
    for key, fields in settings.billing_plans.items():
        plans[key] = {**plans.get(key, {"key": key, "name": key.capitalize()}), **fields, "key": key}
    out = {k: Plan(**v) for k, v in plans.items()}
    for plan in out.values():
        if plan.tier not in settings.tiers:
            raise ValueError(f"plan {plan.key!r} names unknown tier {plan.tier!r}")
    return out


def storage_gb(plan: Plan) -> float:
    return round(plan.storage_bytes / GiB, 3)
