"""Writing audit events for security-relevant actions."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from clipdex.models import AuditEvent
from clipdex.observability import current_request


def record(session: Session, action: str, *, actor: str, tenant_id: uuid.UUID | None = None,
           target: str = "", **details) -> None:
    ctx = current_request()
    session.add(AuditEvent(
        tenant_id=tenant_id, actor=actor, action=action, target=target[:200],
        ip=ctx.get("ip", ""), request_id=ctx.get("request_id", ""), details=details,
    ))
