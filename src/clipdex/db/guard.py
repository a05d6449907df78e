"""The ORM tenant guard: every query on a tenant-owned table is scoped, or refused.

A session carries its scope in ``session.info``: ``tenant_id`` (a UUID) for work on behalf of one
tenant, or a ``system_reason`` (a ``SystemReason``, set only by ``Database.system``) for the few
places that legitimately see across tenants (the job scheduler, sign-in, billing, the platform
operator). Anything else touching tenant rows raises ``UnscopedQuery`` instead of silently reading
every tenant's data.
"""

from __future__ import annotations

import contextlib
import functools
import uuid

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import TableClause

from clipdex.errors import UnscopedQuery

GUARD_ENABLED = True  # test-only: see switched_off


@contextlib.contextmanager
def switched_off(env: str):
    """Test-only: run without the guard, to prove PostgreSQL row-level security holds on its own
    (tests/security/test_canary_leaks.py). Refused for a production configuration
    (``env`` is ``Settings.env``): the guard is one of the layers a deployment relies on."""
    global GUARD_ENABLED
    if env == "prod":
        raise RuntimeError("the ORM tenant guard cannot be switched off in production")
    GUARD_ENABLED = False
    try:
        yield
    finally:
        GUARD_ENABLED = True


def _tenant_owned_base():
    from clipdex.models.base import TenantOwned

    return TenantOwned


def _audit_model():
    from clipdex.models import AuditEvent

    return AuditEvent


def scope_of(session: Session) -> tuple[uuid.UUID | None, bool]:
    """(tenant id, is system): a session is system only when it was opened with a reason."""
    return session.info.get("tenant_id"), session.info.get("system_reason") is not None


@functools.cache  # the mapper registry is complete once clipdex.models is imported
def _tenant_owned_tables() -> frozenset[str]:
    from clipdex.models.base import Base

    owned = _tenant_owned_base()
    return frozenset(m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, owned))


def _references_tenant_table(statement) -> bool:
    """True when a tenant table appears anywhere in the statement, not only among its result entities.

    ``all_mappers`` misses ``select(func.count()).select_from(Video)``, join targets and subqueries,
    which would otherwise run unscoped (and unfiltered in a tenant session).
    """
    names = _tenant_owned_tables()
    return any(isinstance(e, TableClause) and e.name in names for e in visitors.iterate(statement))


@event.listens_for(Session, "do_orm_execute")
def _scope_orm_statements(state: ORMExecuteState) -> None:
    if not GUARD_ENABLED or not (state.is_select or state.is_update or state.is_delete):
        return
    tenant_owned = _tenant_owned_base()
    tenant_id, system = scope_of(state.session)
    if system:
        return
    audit = _audit_model()
    reads_audit = any(m.class_ is audit for m in state.all_mappers) or any(
        isinstance(e, TableClause) and e.name == audit.__tablename__ for e in visitors.iterate(state.statement))
    if not (reads_audit or any(issubclass(m.class_, tenant_owned) for m in state.all_mappers)
            or _references_tenant_table(state.statement)):
        return
    if tenant_id is None:
        raise UnscopedQuery("tenant-owned rows queried outside a tenant or system context")
    state.statement = state.statement.options(
        with_loader_criteria(tenant_owned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )
    if reads_audit:  # not TenantOwned (platform events have no tenant), but a tenant session sees its own only
        state.statement = state.statement.options(
            with_loader_criteria(audit, lambda cls: cls.tenant_id == tenant_id, include_aliases=True))


@event.listens_for(Session, "before_flush")
def _scope_writes(session: Session, flush_context, instances) -> None:
    if not GUARD_ENABLED:
        return
    tenant_owned = _tenant_owned_base()
    tenant_id, system = scope_of(session)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, tenant_owned) or system:
            continue
        if tenant_id is None:
            raise UnscopedQuery(f"{type(obj).__name__} written outside a tenant context")
        if obj.tenant_id is None and obj in session.new:
            obj.tenant_id = tenant_id
        if obj.tenant_id != tenant_id:
            raise UnscopedQuery(f"{type(obj).__name__} written for another tenant")
