"""Usage metering: idempotent records summed per tenant and month."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clipdex.db.types import utcnow
from clipdex.models import Artifact, UsageRecord, Video
from clipdex.tenancy.access import owned_by


def month_of(when: datetime | None = None) -> str:
    return (when or utcnow()).strftime("%Y-%m")


def record_usage(s: Session, tenant_id: uuid.UUID, metric: str, quantity: float, *, source_key: str) -> None:
    """Add a usage record once per ``source_key`` (a redelivered effect is not billed twice)."""
    if s.scalar(select(UsageRecord.id).where(UsageRecord.source_key == source_key)) is not None:
        return
    s.add(UsageRecord(tenant_id=tenant_id, month=month_of(), metric=metric, quantity=quantity,
                      source_key=source_key))


def usage_totals(s: Session, tenant_id: uuid.UUID, month: str) -> dict[str, float]:
    rows = s.execute(select(UsageRecord.metric, func.sum(UsageRecord.quantity)).where(
        owned_by(UsageRecord, tenant_id), UsageRecord.month == month).group_by(UsageRecord.metric)).all()
    return {m: float(q or 0) for m, q in rows}


def last_months(n: int, now: datetime | None = None) -> list[str]:
    """The ``n`` months up to and including ``now``'s, oldest first, as YYYY-MM."""
    now = now or utcnow()
    index = now.year * 12 + now.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - n + 1, index + 1)]


def usage_history(s: Session, tenant_id: uuid.UUID, months: list[str]) -> dict[str, dict[str, float]]:
    """Totals per month and metric for ``months`` (consecutive, oldest first), in one grouped query."""
    rows = s.execute(select(UsageRecord.month, UsageRecord.metric, func.sum(UsageRecord.quantity)).where(
        owned_by(UsageRecord, tenant_id), UsageRecord.month >= months[0], UsageRecord.month <= months[-1])
        .group_by(UsageRecord.month, UsageRecord.metric)).all()
    out: dict[str, dict[str, float]] = {m: {} for m in months}
    for month, metric, quantity in rows:
        if month in out:
            out[month][metric] = float(quantity or 0)
    return out


def storage_bytes(s: Session, tenant_id: uuid.UUID) -> int:
    videos = s.scalar(select(func.coalesce(func.sum(Video.size_bytes), 0)).where(owned_by(Video, tenant_id)))
    arts = s.scalar(select(func.coalesce(func.sum(Artifact.size_bytes), 0)).where(owned_by(Artifact, tenant_id)))
    return int(videos or 0) + int(arts or 0)


class ApiCallMeter:
    """Counts API calls per tenant in memory and writes them in batches (not a write per request)."""

    def __init__(self) -> None:
        self._counts: Counter[uuid.UUID] = Counter()
        self._lock = threading.Lock()
        self._seq = 0
        self._process = uuid.uuid4().hex[:12]

    def hit(self, tenant_id: uuid.UUID | None) -> None:
        if tenant_id is not None:
            with self._lock:
                self._counts[tenant_id] += 1

    def flush(self, db) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._seq += 1
            seq = self._seq
        for tenant_id, n in counts.items():
            try:
                with db.tenant(tenant_id) as s:
                    record_usage(s, tenant_id, "api_calls", n, source_key=f"api:{self._process}:{seq}:{tenant_id}")
            except IntegrityError:  # the tenant was deleted since these calls: nobody left to bill, others still are
                continue
