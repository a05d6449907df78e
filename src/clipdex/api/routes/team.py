"""The current tenant, its members, invitations, API keys and audit log."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.auth import service as auth
from clipdex.auth.policy import SCOPE_ACTIONS
from clipdex.db.types import utcnow
from clipdex.errors import ApiKeyExpiry, UnknownScope
from clipdex.models import ApiKey, AuditEvent, Invitation, Membership, Tenant, User
from clipdex.schemas.auth import (ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, AuditPublic, InvitationAccept,
                                  InvitationCreate, InvitationCreated, InvitationPublic, MemberPublic, MemberUpdate)
from clipdex.schemas.common import Page
from clipdex.tenancy import access, audit
from clipdex.tenancy import service as tenants

router = APIRouter(tags=["team"])


class TenantPublic(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    tier: str
    status: str


class TenantUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def _tenant_out(t: Tenant) -> TenantPublic:
    return TenantPublic(id=t.id, name=t.name, slug=t.slug, tier=t.tier, status=t.status)


@router.get("/tenant", response_model=TenantPublic, summary="The tenant of the current token")
def get_tenant(principal: Authed, platform: PlatformDep) -> TenantPublic:
    return _tenant_out(tenants.current_tenant(platform, principal))


@router.patch("/tenant", response_model=TenantPublic, summary="Rename the tenant (owners)")
def update_tenant(body: TenantUpdate, principal: Authed, platform: PlatformDep) -> TenantPublic:
    return _tenant_out(tenants.rename_tenant(platform, principal, body.name))


@router.get("/members", response_model=Page[MemberPublic], summary="Members of the tenant")
def list_members(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[MemberPublic]:
    q = access.list_owned(principal, Membership, "member:read")
    with access.session_for(platform, principal) as s:
        result = paginate(s, q, Membership, page, sort="created_at")
        users = {u.id: u for u in s.execute(select(User).where(
            User.id.in_([m.user_id for m in result.items]))).scalars()} if result.items else {}
        return Page(items=[MemberPublic(user_id=m.user_id, email=users[m.user_id].email, name=users[m.user_id].name,
                                        role=m.role, joined_at=m.created_at) for m in result.items],
                    next_cursor=result.next_cursor)


@router.patch("/members/{user_id}", response_model=MemberPublic, summary="Change a member's role")
def update_member(user_id: uuid.UUID, body: MemberUpdate, principal: Authed, platform: PlatformDep) -> MemberPublic:
    with access.session_for(platform, principal) as s:
        m = access.get_membership_for(s, principal, user_id, "member:manage")
        tenants.change_role(s, principal, m, body.role)
        user = s.get(User, user_id)
        return MemberPublic(user_id=m.user_id, email=user.email, name=user.name, role=m.role, joined_at=m.created_at)


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member")
def remove_member(user_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> None:
    with access.session_for(platform, principal) as s:
        m = access.get_membership_for(s, principal, user_id, "member:manage")
        tenants.remove_member(s, principal, m)


@router.get("/invitations", response_model=Page[InvitationPublic], summary="Open invitations")
def list_invitations(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[InvitationPublic]:
    q = access.list_owned(principal, Invitation, "member:read").where(Invitation.accepted_at.is_(None))
    with access.session_for(platform, principal) as s:
        r = paginate(s, q, Invitation, page, sort="-created_at")
        return Page(items=[InvitationPublic.model_validate(i) for i in r.items], next_cursor=r.next_cursor)


@router.post("/invitations", response_model=InvitationCreated, status_code=201, summary="Invite someone")
def create_invitation(body: InvitationCreate, principal: Authed, platform: PlatformDep) -> InvitationCreated:
    auth.ensure(principal, "member:manage")
    with access.session_for(platform, principal) as s:
        inv, token = tenants.invite(s, principal, body.email, body.role)
        return InvitationCreated(**InvitationPublic.model_validate(inv).model_dump(), token=token)


@router.delete("/invitations/{invitation_id}", status_code=204, summary="Withdraw an invitation")
def delete_invitation(invitation_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> None:
    with access.session_for(platform, principal) as s:
        inv = access.get_invitation_for(s, principal, invitation_id, "member:manage")
        s.delete(inv)
        audit.record(s, "invitation.withdrawn", actor=principal.actor, tenant_id=inv.tenant_id,
                     target=f"invitation:{inv.id}")


@router.post("/invitations/accept", status_code=204, summary="Accept an invitation (no token needed)")
def accept_invitation(body: InvitationAccept, platform: PlatformDep) -> None:
    tenants.accept_invitation(platform, body.token, body.password, body.name)


@router.get("/api-keys", response_model=Page[ApiKeyPublic], summary="API keys of the tenant")
def list_api_keys(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[ApiKeyPublic]:
    q = access.list_owned(principal, ApiKey, "apikey:manage")
    with access.session_for(platform, principal) as s:
        r = paginate(s, q, ApiKey, page, sort="-created_at")
        return Page(items=[ApiKeyPublic.model_validate(k) for k in r.items], next_cursor=r.next_cursor)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201,
             summary="Create an API key (secret shown once)")
def create_api_key(body: ApiKeyCreate, principal: Authed, platform: PlatformDep) -> ApiKeyCreated:
    auth.ensure(principal, "apikey:manage")
    bad = [sc for sc in body.scopes if sc not in SCOPE_ACTIONS]
    if bad:
        raise UnknownScope(f"Unknown scopes: {', '.join(bad)}.")
    if body.expires_at and body.expires_at <= utcnow():
        raise ApiKeyExpiry("expires_at must be in the future.")
    with access.session_for(platform, principal) as s:
        key, secret = auth.create_api_key(platform, s, principal, body.name, body.scopes, body.expires_at)
        return ApiKeyCreated(**ApiKeyPublic.model_validate(key).model_dump(), secret=secret)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_api_key(key_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> None:
    with access.session_for(platform, principal) as s:
        key = access.get_api_key_for(s, principal, key_id, "apikey:manage")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            audit.record(s, "apikey.revoked", actor=principal.actor, tenant_id=key.tenant_id,
                         target=f"api_key:{key.id}")


@router.get("/audit", response_model=Page[AuditPublic], summary="Security audit log of the tenant")
def list_audit(principal: Authed, platform: PlatformDep, page: PageParams,
               action: str | None = None) -> Page[AuditPublic]:
    q = access.audit_events_for(principal)
    if action:
        q = q.where(AuditEvent.action == action)
    with access.session_for(platform, principal) as s:
        r = paginate(s, q, AuditEvent, page, sort="-created_at")
        return Page(items=[AuditPublic.model_validate(e) for e in r.items], next_cursor=r.next_cursor)
