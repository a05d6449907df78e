"""Compliance policies (versioned, per tenant) and the latest verdict of each video.

Measurements live in the compliance stage's artifact; a verdict row is derived data (the video's
measurements against the tenant's default policy), kept so videos can be listed by verdict.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.db.types import utcnow
from clipdex.models.base import Base, TenantOwned


class CompliancePolicy(TenantOwned, Base):
    __tablename__ = "compliance_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_compliance_policies_tenant_name"),)

    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    base: Mapped[str | None] = mapped_column(String(64), default=None)  # the preset it started from
    version: Mapped[int] = mapped_column(default=1)  # the current version
    rules: Mapped[dict] = mapped_column(JSON, default=dict)  # the current version's complete rules
    is_default: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120), default="")


class CompliancePolicyVersion(TenantOwned, Base):
    """Every version a policy had, immutable: a report names the version it used and can be redone."""

    __tablename__ = "compliance_policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version", name="uq_compliance_policy_versions_policy_version"),)

    policy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("compliance_policies.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(120), default="")


class ComplianceResult(TenantOwned, Base):
    """A video's verdict against one policy version (derived data). The stage writes one for the tenant's
    default at the time; changing the default derives them for the new one. Lists filter on the current default."""

    __tablename__ = "compliance_results"
    __table_args__ = (
        UniqueConstraint("video_id", "policy_name", "policy_version", name="uq_compliance_results_video_policy"),
        Index("ix_compliance_results_tenant_verdict", "tenant_id", "verdict"),
    )

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    policy_name: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(default=1)
    verdict: Mapped[str] = mapped_column(String(16))  # pass | warn | fail | incomplete
    violations: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    checks: Mapped[dict] = mapped_column(JSON, default=dict)  # check -> verdict
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
