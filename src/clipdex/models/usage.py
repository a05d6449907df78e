"""Metered usage, one row per event with an idempotency key, summed per tenant and month."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.models.base import Base, TenantOwned


class UsageRecord(TenantOwned, Base):
    __tablename__ = "usage_records"

    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    metric: Mapped[str] = mapped_column(String(32))  # processing_minutes | api_calls
    quantity: Mapped[float] = mapped_column(default=0.0)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)  # effects happen once
