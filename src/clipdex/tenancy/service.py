"""Tenants, users, memberships and invitations (used by the CLI, the operator API and the team API)."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clipdex.auth.passwords import check_strength, hash_password, verify_password
from clipdex.auth.policy import ROLES, role_rank
from clipdex.auth.principal import Principal
from clipdex.auth.tokens import token_hash
from clipdex.db.types import utcnow
from clipdex.errors import ClipdexError, Conflict, Forbidden, NotFound
from clipdex.models import Invitation, Membership, Tenant, User
from clipdex.platform import Platform
from clipdex.tenancy import audit

_SLUG = re.compile(r"[^a-z0-9]+")
INVITATION_TTL = timedelta(days=7)


def slugify(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:64] or "tenant"


def create_tenant(platform: Platform, name: str, tier: str, *, slug: str | None = None,
                  actor: str = "system") -> Tenant:
    with platform.db.system() as s:
        return _insert_tenant(s, platform, name, tier, slug=slug, actor=actor)


def create_tenant_with_owner(platform: Platform, name: str, tier: str, *, slug: str | None, actor: str,
                             owner_email: str, owner_password: str | None) -> Tenant:
    """A tenant and its first owner in one transaction: a refused owner leaves no ownerless tenant behind."""
    with platform.db.system() as s:
        tenant = _insert_tenant(s, platform, name, tier, slug=slug, actor=actor)
        user, _ = get_or_create_user(s, owner_email, owner_password)
        add_member(s, tenant.id, user.id, "owner")
        audit.record(s, "member.added", actor=actor, tenant_id=tenant.id, target=f"user:{user.id}", role="owner")
    return tenant


def _insert_tenant(s: Session, platform: Platform, name: str, tier: str, *, slug: str | None, actor: str) -> Tenant:
    if tier not in platform.settings.tiers:
        raise ClipdexError(f"Unknown tier {tier!r}.", code="tenant.unknown_tier", status=422)
    slug = slug or slugify(name)
    if s.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"A tenant with slug {slug!r} exists.", code="tenant.slug_taken")
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
        raise ClipdexError("A password is required for a new account.", code="auth.password_required", status=422)
    check_strength(password)
    user = User(email=email, name=name, password_hash=hash_password(password), is_operator=operator)
    s.add(user)
    s.flush()
    return user, True


def add_member(s: Session, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> Membership:
    if role not in ROLES:
        raise ClipdexError(f"Unknown role {role!r}.", code="member.unknown_role", status=422)
    m = s.scalar(select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id))
    if m is None:
        m = Membership(tenant_id=tenant_id, user_id=user_id, role=role)
        s.add(m)
    else:
        m.role = role
    s.flush()
    return m


def set_tier(platform: Platform, tenant_ref: str, tier: str, *, actor: str) -> Tenant:
    if tier not in platform.settings.tiers:
        raise ClipdexError(f"Unknown tier {tier!r}.", code="tenant.unknown_tier", status=422)
    with platform.db.system() as s:
        tenant = find_tenant(s, tenant_ref)
        old, tenant.tier = tenant.tier, tier
        audit.record(s, "tenant.tier_changed", actor=actor, tenant_id=tenant.id, target=f"tenant:{tenant.id}",
                     old=old, new=tier)
    return tenant


def set_status(platform: Platform, tenant_id: uuid.UUID, status: str, *, actor: str) -> Tenant:
    with platform.db.system() as s:
        tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound()
        old, tenant.status = tenant.status, status
        audit.record(s, "tenant.status_changed", actor=actor, tenant_id=tenant.id, target=f"tenant:{tenant.id}",
                     old=old, new=status)
    return tenant


def find_tenant(s: Session, ref: str) -> Tenant:
    try:
        tenant = s.get(Tenant, uuid.UUID(ref))
    except ValueError:
        tenant = s.scalar(select(Tenant).where(Tenant.slug == ref.lower()))
    if tenant is None:
        raise NotFound()
    return tenant


# --- team management (inside one tenant) ---------------------------------------------------

def change_role(s: Session, principal: Principal, m: Membership, role: str) -> Membership:
    if "owner" in (role, m.role) and not principal.can("member:manage_owner"):
        raise Forbidden("Only owners can grant or remove the owner role.", code="member.owner_only")
    if m.role == "owner" and role != "owner":
        _keep_one_owner(s, m.tenant_id)
    old, m.role = m.role, role
    audit.record(s, "member.role_changed", actor=principal.actor, tenant_id=m.tenant_id,
                 target=f"user:{m.user_id}", old=old, new=role)
    return m


def remove_member(s: Session, principal: Principal, m: Membership) -> None:
    if m.role == "owner":
        if not principal.can("member:manage_owner"):
            raise Forbidden("Only owners can remove an owner.", code="member.owner_only")
        _keep_one_owner(s, m.tenant_id)
    s.delete(m)
    audit.record(s, "member.removed", actor=principal.actor, tenant_id=m.tenant_id, target=f"user:{m.user_id}")


def _keep_one_owner(s: Session, tenant_id: uuid.UUID) -> None:
    owners = s.scalar(select(func.count()).select_from(Membership).where(
        Membership.tenant_id == tenant_id, Membership.role == "owner"))
    if owners <= 1:
        raise Conflict("A tenant needs at least one owner.", code="member.last_owner")


def invite(s: Session, principal: Principal, email: str, role: str) -> tuple[Invitation, str]:
    if role == "owner" and not principal.can("member:manage_owner"):
        raise Forbidden("Only owners can invite owners.", code="member.owner_only")
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
    with platform.db.system() as s:
        inv = s.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
        if inv is None or inv.accepted_at or inv.expires_at < utcnow():
            raise ClipdexError("The invitation is not valid or has expired.", code="invitation.invalid", status=400)
        existing = s.scalar(select(User).where(User.email == inv.email))
        if existing is not None and not (password and verify_password(existing.password_hash, password)):
            # An existing account joins only when its owner proves it, so a leaked link cannot
            # attach someone else's account.
            raise ClipdexError("Sign in with this account's password to accept.", code="invitation.password_required",
                               status=400)
        user, _ = get_or_create_user(s, inv.email, password, name=name)
        current = s.scalar(select(Membership.role).where(Membership.tenant_id == inv.tenant_id,
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
