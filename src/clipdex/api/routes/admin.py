"""Platform operator: tenants, tiers, suspension."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field

from clipdex.api.deps import Operator, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.api.routes.team import TenantPublic, _tenant_out
from clipdex.models import Tenant
from clipdex.schemas.common import Page
from clipdex.settings import Tier
from clipdex.tenancy import service as tenants

router = APIRouter(prefix="/admin", tags=["operator"])


class TenantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    tier: str = "free"
    owner_email: EmailStr
    owner_password: str | None = Field(None, max_length=1024)


class TenantAdminUpdate(BaseModel):
    tier: str | None = None
    status: Literal["active", "suspended"] | None = None


@router.get("/tiers", response_model=list[Tier], summary="Configured tiers and their limits")
def list_tiers(_: Operator, platform: PlatformDep) -> list[Tier]:
    return list(platform.settings.tiers.values())


@router.get("/tenants", response_model=Page[TenantPublic], summary="All tenants")
def list_tenants(_: Operator, platform: PlatformDep, page: PageParams) -> Page[TenantPublic]:
    def page_of(s, q) -> Page[TenantPublic]:
        r = paginate(s, q, Tenant, page, sort="created_at")
        return Page(items=[_tenant_out(t) for t in r.items], next_cursor=r.next_cursor)

    return tenants.list_tenants(platform, page_of)


@router.post("/tenants", response_model=TenantPublic, status_code=201, summary="Create a tenant with an owner")
def create_tenant(body: TenantCreate, op: Operator, platform: PlatformDep) -> TenantPublic:
    tenant = tenants.create_tenant_with_owner(platform, body.name, body.tier, slug=body.slug, actor=op.actor,
                                              owner_email=body.owner_email, owner_password=body.owner_password)
    return _tenant_out(tenant)


@router.patch("/tenants/{tenant_id}", response_model=TenantPublic, summary="Change a tenant's tier or status")
def update_tenant(tenant_id: uuid.UUID, body: TenantAdminUpdate, op: Operator, platform: PlatformDep) -> TenantPublic:
    tenant = None
    if body.tier:
        tenant = tenants.set_tier(platform, str(tenant_id), body.tier, actor=op.actor)
    if body.status:
        tenant = tenants.set_status(platform, tenant_id, body.status, actor=op.actor)
    if tenant is None:
        tenant = tenants.get_tenant(platform, str(tenant_id))
    return _tenant_out(tenant)
