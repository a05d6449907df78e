"""Billing: Stripe accounts per tenant, applied webhook events, metered usage reports, with RLS

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0008"
down_revision = "0007"  # FINAL (set by the lead): 0007 compliance exists now; do not change
branch_labels = None
depends_on = None

# stripe_events has no tenant column (event ids are Stripe's, platform-level), so no RLS there.
TENANT_TABLES = ["billing_accounts", "billing_usage_reports"]
DT = clipdex.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("plan", sa.String(length=64), nullable=True),
        sa.Column("subscription_status", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("past_due_since", DT, nullable=True),
        sa.Column("grace_until", DT, nullable=True),
        sa.Column("current_period_start", DT, nullable=True),
        sa.Column("current_period_end", DT, nullable=True),
        sa.Column("metered_from", DT, nullable=True),
        sa.Column("updated_at", DT, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_billing_accounts_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_accounts")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_billing_accounts_stripe_customer_id")),
    )
    op.create_index(op.f("ix_billing_accounts_tenant_id"), "billing_accounts", ["tenant_id"])
    op.create_index(op.f("ix_billing_accounts_stripe_subscription_id"), "billing_accounts",
                    ["stripe_subscription_id"])
    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_stripe_events_event_id")),
    )
    op.create_table(
        "billing_usage_reports",
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("slice_start", DT, nullable=False),
        sa.Column("slice_end", DT, nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", DT, nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_billing_usage_reports_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_usage_reports")),
        sa.UniqueConstraint("tenant_id", "metric", "slice_start", name="uq_billing_usage_reports_slice"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_billing_usage_reports_idempotency_key")),
    )
    op.create_index(op.f("ix_billing_usage_reports_tenant_id"), "billing_usage_reports", ["tenant_id"])
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index(op.f("ix_billing_usage_reports_tenant_id"), table_name="billing_usage_reports")
    op.drop_table("billing_usage_reports")
    op.drop_table("stripe_events")
    op.drop_index(op.f("ix_billing_accounts_stripe_subscription_id"), table_name="billing_accounts")
    op.drop_index(op.f("ix_billing_accounts_tenant_id"), table_name="billing_accounts")
    op.drop_table("billing_accounts")
