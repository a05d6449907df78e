"""The one way tenant-owned rows are loaded for a principal.

"Not yours" and "does not exist" raise the same NotFound, so a response never tells another
tenant's ids apart from random ones.

``owned_by`` and ``same_tenant`` are the only spellings of a tenant filter outside this module and
the ORM guard. Inside a tenant session the guard already adds ``tenant_id = <session's tenant>``
to every query on a tenant table, so there the filter restates it (and keeps the query right when
the same function runs in a system session); in system work (scheduling, billing, sign-in) it is the
only thing that keeps one tenant's query to that tenant, and the name says so.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from clipdex.auth.principal import Principal
from clipdex.auth.service import ensure
from clipdex.errors import NotFound
from clipdex.models import ApiKey, AuditEvent, Invitation, Job, Membership, UploadSession, Video
from clipdex.models.base import TenantOwned
from clipdex.tenancy.scope import owned_by as owned_by, same_tenant as same_tenant  # the tenant filters' home

T = TypeVar("T", bound=TenantOwned)


def tenant_of(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise NotFound()
    return principal.tenant_id


def session_for(platform, principal: Principal, *, readonly: bool = False):
    """A unit of work scoped to the principal's tenant (NotFound for tenant-less operators)."""
    return platform.db.tenant(tenant_of(principal), readonly=readonly)


def get_owned(s: Session, principal: Principal, model: type[T], obj_id: uuid.UUID, action: str) -> T:
    ensure(principal, action)
    tenant_id = tenant_of(principal)
    obj = s.scalar(select(model).where(model.id == obj_id, owned_by(model, tenant_id)))
    if obj is None:
        raise NotFound()
    return obj


def list_owned(principal: Principal, model: type[T], action: str) -> Select:
    """A SELECT of the principal's rows of ``model``, to which callers add filters and paging."""
    ensure(principal, action)
    return select(model).where(owned_by(model, tenant_of(principal)))


def get_video_for(s: Session, principal: Principal, video_id: uuid.UUID, action: str) -> Video:
    return get_owned(s, principal, Video, video_id, action)


def get_job_for(s: Session, principal: Principal, job_id: uuid.UUID, action: str) -> Job:
    return get_owned(s, principal, Job, job_id, action)


def get_api_key_for(s: Session, principal: Principal, key_id: uuid.UUID, action: str) -> ApiKey:
    return get_owned(s, principal, ApiKey, key_id, action)


def get_invitation_for(s: Session, principal: Principal, inv_id: uuid.UUID, action: str) -> Invitation:
    return get_owned(s, principal, Invitation, inv_id, action)


def get_upload_for(s: Session, principal: Principal, upload_id: uuid.UUID, action: str) -> UploadSession:
    return get_owned(s, principal, UploadSession, upload_id, action)


def get_membership_for(s: Session, principal: Principal, user_id: uuid.UUID, action: str) -> Membership:
    ensure(principal, action)
    m = s.scalar(select(Membership).where(Membership.user_id == user_id, owned_by(Membership, tenant_of(principal))))
    if m is None:
        raise NotFound()
    return m


def audit_events_for(principal: Principal) -> Select:
    ensure(principal, "audit:read")
    return select(AuditEvent).where(owned_by(AuditEvent, tenant_of(principal)))
