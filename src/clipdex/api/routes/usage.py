"""Usage against the tier's quotas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from clipdex.api.deps import Authed, PlatformDep
from clipdex.auth import service as auth
from clipdex.billing.metering import last_months, month_of, storage_bytes, usage_history, usage_totals
from clipdex.ingest.service import tier_of
from clipdex.schemas.video import UsageHistory, UsageMonth, UsagePublic
from clipdex.tenancy import access

router = APIRouter(tags=["usage"])


@router.get("/usage", response_model=UsagePublic, summary="Processing minutes, API calls and storage this month")
def get_usage(principal: Authed, platform: PlatformDep,
              month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None) -> UsagePublic:
    auth.ensure(principal, "usage:read")
    month = month or month_of()
    tier = tier_of(platform, principal)
    with access.session_for(platform, principal) as s:
        totals = usage_totals(s, principal.tenant_id, month)
        stored = storage_bytes(s, principal.tenant_id)
    return UsagePublic(month=month, processing_minutes=round(totals.get("processing_minutes", 0.0), 3),
                       api_calls=int(totals.get("api_calls", 0)), storage_bytes=stored, tier=tier.name,
                       limits=_limits(tier))


@router.get("/usage/history", response_model=UsageHistory,
            summary="Processing minutes and API calls per month for the last N months (oldest first)")
def get_usage_history(principal: Authed, platform: PlatformDep,
                      months: Annotated[int, Query(ge=1, le=24)] = 6) -> UsageHistory:
    auth.ensure(principal, "usage:read")
    tier = tier_of(platform, principal)
    wanted = last_months(months)
    with access.session_for(platform, principal, readonly=True) as s:
        per_month = usage_history(s, principal.tenant_id, wanted)
    return UsageHistory(items=[UsageMonth(month=m, processing_minutes=round(t.get("processing_minutes", 0.0), 3),
                                          api_calls=int(t.get("api_calls", 0))) for m, t in per_month.items()],
                        tier=tier.name, limits=_limits(tier))


def _limits(tier) -> dict:
    return {"processing_minutes_per_month": tier.processing_minutes_per_month, "storage_bytes": tier.storage_bytes,
            "max_upload_bytes": tier.max_upload_bytes, "max_duration_s": tier.max_duration_s,
            "concurrent_jobs": tier.concurrent_jobs, "concurrent_stages": tier.concurrent_stages}
