"""Audit log of security-relevant actions."""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.models.base import Base, IdMixin


class AuditEvent(IdMixin, Base):
    """Tenant-scoped when ``tenant_id`` is set; platform-level (operator) events have none.

    Not a TenantOwned subclass because of those platform rows; routes read it through
    tenancy.access with an explicit tenant filter, and RLS covers it on PostgreSQL.
    """

    __tablename__ = "audit_events"

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True, default=None)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
