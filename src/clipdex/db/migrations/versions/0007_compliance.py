"""Compliance: versioned per-tenant policies and each video's verdict, with row-level security

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TENANT_TABLES = ["compliance_policies", "compliance_policy_versions", "compliance_results"]


def _common(table: str) -> list:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "compliance_policies",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("base", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("updated_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        *_common("compliance_policies"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_compliance_policies_tenant_name"),
    )
    op.create_index(op.f("ix_compliance_policies_tenant_id"), "compliance_policies", ["tenant_id"])
    op.create_table(
        "compliance_policy_versions",
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        *_common("compliance_policy_versions"),
        sa.ForeignKeyConstraint(["policy_id"], ["compliance_policies.id"],
                                name=op.f("fk_compliance_policy_versions_policy_id_compliance_policies"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("policy_id", "version", name="uq_compliance_policy_versions_policy_version"),
    )
    op.create_index(op.f("ix_compliance_policy_versions_policy_id"), "compliance_policy_versions", ["policy_id"])
    op.create_index(op.f("ix_compliance_policy_versions_tenant_id"), "compliance_policy_versions", ["tenant_id"])
    op.create_table(
        "compliance_results",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("policy_name", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("evaluated_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        *_common("compliance_results"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_compliance_results_video_id_videos"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("video_id", "policy_name", "policy_version", name="uq_compliance_results_video_policy"),
    )
    op.create_index(op.f("ix_compliance_results_tenant_id"), "compliance_results", ["tenant_id"])
    op.create_index(op.f("ix_compliance_results_video_id"), "compliance_results", ["video_id"])
    op.create_index("ix_compliance_results_tenant_verdict", "compliance_results", ["tenant_id", "verdict"])
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index("ix_compliance_results_tenant_verdict", table_name="compliance_results")
    op.drop_index(op.f("ix_compliance_results_video_id"), table_name="compliance_results")
    op.drop_index(op.f("ix_compliance_results_tenant_id"), table_name="compliance_results")
    op.drop_table("compliance_results")
    op.drop_index(op.f("ix_compliance_policy_versions_tenant_id"), table_name="compliance_policy_versions")
    op.drop_index(op.f("ix_compliance_policy_versions_policy_id"), table_name="compliance_policy_versions")
    op.drop_table("compliance_policy_versions")
    op.drop_index(op.f("ix_compliance_policies_tenant_id"), table_name="compliance_policies")
    op.drop_table("compliance_policies")
