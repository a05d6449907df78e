"""Billing (issue 15): plans and usage, Stripe Checkout and portal, invoices, the Stripe webhook.

Without CLIPDEX_STRIPE_API_KEY and CLIPDEX_STRIPE_WEBHOOK_SECRET every route answers
``billing.not_configured`` and tiers stay the operator's to set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from clipdex.api.deps import Authed, PlatformDep
from clipdex.billing import service, webhook
from clipdex.billing.stripe_client import require_billing
from clipdex.errors import WebhookTooLarge
from clipdex.schemas.common import Page

router = APIRouter(prefix="/billing", tags=["billing"])
MAX_WEBHOOK_BYTES = 1024 * 1024


class PlanPublic(BaseModel):
    key: str
    name: str
    tier: str
    monthly_price_cents: int
    included: dict[str, float]
    overage_cents: dict[str, str]
    storage_bytes: int
    purchasable: bool


class UsageLine(BaseModel):
    metric: str
    used: float
    included: float


class BillingPublic(BaseModel):
    state: str = Field(description="none | active | grace | suspended | canceled")
    plan: str | None
    tier: str
    subscription_status: str | None
    grace_until: datetime | None = Field(None, description="when a past-due tenant is suspended")
    period_start: datetime
    period_end: datetime
    has_customer: bool
    can_manage: bool = Field(description="whether the caller may start Checkout or open the portal")
    usage: list[UsageLine]
    plans: list[PlanPublic]


class CheckoutRequest(BaseModel):
    plan: str = Field(min_length=1, max_length=64)


class CheckoutPublic(BaseModel):
    id: str
    url: str


class PortalPublic(BaseModel):
    url: str


class InvoicePublic(BaseModel):
    id: str
    number: str | None = None
    status: str | None = None
    currency: str | None = None
    amount_due: int = 0
    amount_paid: int = 0
    created: int | None = None
    period_start: int | None = None
    period_end: int | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None


class WebhookAck(BaseModel):
    received: bool = True
    result: str


@router.get("", response_model=BillingPublic, summary="Plan, subscription state and this period's usage")
def get_billing(principal: Authed, platform: PlatformDep) -> BillingPublic:
    return BillingPublic(**service.overview(platform, principal))


@router.post("/checkout", response_model=CheckoutPublic, status_code=201,
             summary="Start Stripe Checkout for a plan (owners and operators)")
def start_checkout(body: CheckoutRequest, principal: Authed, platform: PlatformDep) -> CheckoutPublic:
    return CheckoutPublic(**service.start_checkout(platform, principal, body.plan))


@router.post("/portal", response_model=PortalPublic, status_code=201,
             summary="Open the Stripe customer portal: change plan, payment method, cancel (owners and operators)")
def open_portal(principal: Authed, platform: PlatformDep) -> PortalPublic:
    return PortalPublic(**service.portal_session(platform, principal))


@router.get("/invoices", response_model=Page[InvoicePublic], summary="The tenant's invoices, newest first")
def list_invoices(principal: Authed, platform: PlatformDep,
                  limit: Annotated[int, Query(ge=1, le=100)] = 24) -> Page[InvoicePublic]:
    return Page(items=[InvoicePublic(**i) for i in service.invoices(platform, principal, limit)])


@router.post("/webhook", response_model=WebhookAck, summary="Stripe webhook endpoint (signed with Stripe-Signature)")
async def stripe_webhook(request: Request, platform: PlatformDep,
                         stripe_signature: Annotated[str | None, Header()] = None) -> WebhookAck:
    require_billing(platform.settings)
    payload = await request.body()  # the raw bytes: the signature covers them exactly
    if len(payload) > MAX_WEBHOOK_BYTES:
        raise WebhookTooLarge("Webhook bodies are limited to 1 MiB.")
    outcome = await run_in_threadpool(webhook.handle, platform, payload, stripe_signature)
    return WebhookAck(result=outcome.result)
