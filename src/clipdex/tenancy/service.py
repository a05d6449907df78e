"""Tenants, users, memberships and invitations (used by the CLI, the operator API and the team API)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from clipdex.auth.passwords import check_strength, hash_password, verify_password
from clipdex.auth.policy import ROLES, role_rank
from clipdex.auth.principal import Principal
from clipdex.auth.service import ensure as auth_ensure
from clipdex.auth.tokens import token_hash
from clipdex.db.types import utcnow
from clipdex.errors import (
    InvalidInvitation,
    InvitationPasswordRequired,
    LastOwner,
    NotFound,
    OwnerOnly,
    PasswordRequired,
    SlugTaken,
    UnknownRole,
    UnknownTier,
)
from clipdex.models import Invitation, Membership, Tenant, User
from clipdex.platform import Platform
from clipdex.tenancy import access, audit
from clipdex.tenancy.system import SystemReason, system_session

_SLUG = re.compile(r"[^a-z0-9]+")
INVITATION_TTL = timedelta(days=7)
R = TypeVar("R")


def slugify(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:64] or "tenant"


def create_tenant(platform: Platform, name: str, tier: str, *, slug: str | None = None,
                  actor: str = "system") -> Tenant:
    with system_session(platform, SystemReason.OPERATOR) as s:
        return _insert_tenant(s, platform, name, tier, slug=slug, actor=actor)


def create_tenant_with_owner(platform: Platform, name: str, tier: str, *, slug: str | None, actor: str,
                             owner_email: str, owner_password: str | None) -> Tenant:
    """A tenant and its first owner in one transaction: a refused owner leaves no ownerless tenant behind."""
    with system_session(platform, SystemReason.OPERATOR) as s:
        tenant = _insert_tenant(s, platform, name, tier, slug=slug, actor=actor)
        user, _ = get_or_create_user(s, owner_email, owner_password)
        add_member(s, tenant.id, user.id, "owner")
        audit.record(s, "member.added", actor=actor, tenant_id=tenant.id, target=f"user:{user.id}", role="owner")
    return tenant


def _insert_tenant(s: Session, platform: Platform, name: str, tier: str, *, slug: str | None, actor: str) -> Tenant:
    if tier not in platform.settings.tiers:
        raise UnknownTier(f"Unknown tier {tier!r}.")
    slug = slug or slugify(name)
    if s.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise SlugTaken(f"A tenant with slug {slug!r} exists.")
    tenant = Tenant(name=name, slug=slug, tier=tier, status="active", settings={})
    s.add(tenant)
    s.flush()
    audit.record(s, "tenant.created", actor=actor, tenant_id=tenant.id, target=f"tenant:{tenant.id}", tier=tier)
    return tenant


def get_or_create_user(s: Session, email: str, password: str | None, *, name: str = "",
                       operator: bool = False) -> tuple[User, bool]:
    email = email.strip().lower()
    user = s.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    if not password:
        raise PasswordRequired("A password is required for a new account.")
    check_strength(password)
    user = User(email=email, name=name, password_hash=hash_password(password), is_operator=operator)
    s.add(user)
    s.flush()
    return user, True


def add_member(s: Session, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> Membership:
    if role not in ROLES:
        raise UnknownRole(f"Unknown role {role!r}.")
    m = s.scalar(select(Membership).where(access.owned_by(Membership, tenant_id), Membership.user_id == user_id))
    if m is None:
        m = Membership(tenant_id=tenant_id, user_id=user_id, role=role)
        s.add(m)
    else:
        m.role = role
    s.flush()
    return m


def set_tier(platform: Platform, tenant_ref: str, tier: str, *, actor: str) -> Tenant:
    if tier not in platform.settings.tiers:
        raise UnknownTier(f"Unknown tier {tier!r}.")
    with system_session(platform, SystemReason.OPERATOR) as s:
        tenant = find_tenant(s, tenant_ref)
        old, tenant.tier = tenant.tier, tier
        audit.record(s, "tenant.tier_changed", actor=actor, tenant_id=tenant.id, target=f"tenant:{tenant.id}",
                     old=old, new=tier)
    return tenant


def set_status(platform: Platform, tenant_id: uuid.UUID, status: str, *, actor: str) -> Tenant:
    with system_session(platform, SystemReason.OPERATOR) as s:
        tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound()
        old, tenant.status = tenant.status, status
        audit.record(s, "tenant.status_changed", actor=actor, tenant_id=tenant.id, target=f"tenant:{tenant.id}",
                     old=old, new=status)
    return tenant


def list_tenants(platform: Platform, read: Callable[[Session, Select], R]) -> R:
    """Every tenant, for the platform operator: ``read`` runs (pages) the query inside the unit of work."""
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        return read(s, select(Tenant))


def get_tenant(platform: Platform, tenant_ref: str) -> Tenant:
    """One tenant by id or slug, for the platform operator."""
    with system_session(platform, SystemReason.OPERATOR, readonly=True) as s:
        return find_tenant(s, tenant_ref)


def find_tenant(s: Session, ref: str) -> Tenant:
    try:
        tenant = s.get(Tenant, uuid.UUID(ref))
    except ValueError:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == ref.lower()))
    if tenant is None:
        raise NotFound()
    return tenant


# --- team management (inside one tenant) ---------------------------------------------------

def current_tenant(platform: Platform, principal: Principal) -> Tenant:
    """The principal's own tenant row (a tenant session: the tenants table holds no other tenant's data)."""
    auth_ensure(principal, "tenant:read")
    with access.session_for(platform, principal, readonly=True) as s:
        return s.get(Tenant, access.tenant_of(principal))


def rename_tenant(platform: Platform, principal: Principal, name: str) -> Tenant:
    auth_ensure(principal, "tenant:update")
    with access.session_for(platform, principal) as s:
        t = s.get(Tenant, access.tenant_of(principal))
        t.name = name
        audit.record(s, "tenant.renamed", actor=principal.actor, tenant_id=t.id, target=f"tenant:{t.id}")
    return t


def change_role(s: Session, principal: Principal, m: Membership, role: str) -> Membership:
    if "owner" in (role, m.role) and not principal.can("member:manage_owner"):
        raise OwnerOnly("Only owners can grant or remove the owner role.")
    if m.role == "owner" and role != "owner":
        _keep_one_owner(s, m.tenant_id)
    old, m.role = m.role, role
    audit.record(s, "member.role_changed", actor=principal.actor, tenant_id=m.tenant_id,
                 target=f"user:{m.user_id}", old=old, new=role)
    return m


def remove_member(s: Session, principal: Principal, m: Membership) -> None:
    if m.role == "owner":
        if not principal.can("member:manage_owner"):
            raise OwnerOnly("Only owners can remove an owner.")
        _keep_one_owner(s, m.tenant_id)
    from clipdex.tenancy.deletion import member_residue  # sessions, invitations and API keys of the member go too

    member_residue(s, m, principal.actor)
    s.delete(m)
    audit.record(s, "member.removed", actor=principal.actor, tenant_id=m.tenant_id, target=f"user:{m.user_id}")


def _keep_one_owner(s: Session, tenant_id: uuid.UUID) -> None:
    owners = s.scalar(select(func.count()).select_from(Membership).where(
        access.owned_by(Membership, tenant_id), Membership.role == "owner"))
    if owners <= 1:
        raise LastOwner("A tenant needs at least one owner.")


def invite(s: Session, principal: Principal, email: str, role: str) -> tuple[Invitation, str]:
    if role == "owner" and not principal.can("member:manage_owner"):
        raise OwnerOnly("Only owners can invite owners.")
    token = f"inv_{secrets.token_urlsafe(32)}"
    inv = Invitation(tenant_id=principal.tenant_id, email=email.strip().lower(), role=role,
                     token_hash=token_hash(token), expires_at=utcnow() + INVITATION_TTL,
                     invited_by=principal.actor_id)
    s.add(inv)
    s.flush()
    audit.record(s, "invitation.created", actor=principal.actor, tenant_id=principal.tenant_id,
                 target=f"invitation:{inv.id}", email=inv.email, role=role)
    return inv, token


def accept_invitation(platform: Platform, token: str, password: str | None, name: str) -> tuple[User, Tenant]:
    # Sign-in work: the token names the invitation, and with it the tenant, before anyone is signed in.
    with system_session(platform, SystemReason.SIGN_IN) as s:
        inv = s.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
        if inv is None or inv.accepted_at or inv.expires_at < utcnow():
            raise InvalidInvitation("The invitation is not valid or has expired.")
        existing = s.scalar(select(User).where(User.email == inv.email))
        if existing is not None and not (password and verify_password(existing.password_hash, password)):
            # An existing account joins only when its owner proves it, so a leaked link cannot
            # attach someone else's account.
            raise InvitationPasswordRequired("Sign in with this account's password to accept.")
        user, _ = get_or_create_user(s, inv.email, password, name=name)
        current = s.scalar(select(Membership.role).where(access.owned_by(Membership, inv.tenant_id),
                                                         Membership.user_id == user.id))
        if current is None or role_rank(inv.role) > role_rank(current):
            # Accepting may raise a role, never lower it: demotions go through change_role and its
            # owner rules, so an admin cannot demote the (last) owner by inviting them as a viewer.
            add_member(s, inv.tenant_id, user.id, inv.role)
        inv.accepted_at = utcnow()
        tenant = s.get(Tenant, inv.tenant_id)
        audit.record(s, "invitation.accepted", actor=f"user:{user.id}", tenant_id=inv.tenant_id,
                     target=f"invitation:{inv.id}")
    return user, tenant
