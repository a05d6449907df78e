"""The two spellings of a tenant filter, re-exported by ``tenancy.access`` (use them from there).

They live apart only so that ``auth.service``, which ``access`` itself imports, can use them too.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from clipdex.models.base import TenantOwned


def owned_by(model: type[TenantOwned], tenant_id) -> ColumnElement[bool]:
    """WHERE clause: ``model``'s rows of ``tenant_id`` (a UUID, or a column such as ``Tenant.id`` in a join)."""
    return model.tenant_id == tenant_id


def same_tenant(a: type[TenantOwned], b: type[TenantOwned]) -> ColumnElement[bool]:
    """Join condition: a row of ``a`` and a row of ``b`` of one tenant (cross-tenant system queries)."""
    return a.tenant_id == b.tenant_id
