"""job_outbox: the transactional outbox between the job tables and the Celery broker, with row-level security

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Tables of this migration with a tenant_id column; each gets RLS exactly as in 0002.
TENANT_TABLES = ["job_outbox"]


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("available_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_outbox_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stage_id"], ["job_stages.id"], name=op.f("fk_job_outbox_stage_id_job_stages"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_job_outbox_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
        sa.UniqueConstraint("stage_id", "attempt", name="uq_job_outbox_stage_id_attempt"),
    )
    op.create_index(op.f("ix_job_outbox_job_id"), "job_outbox", ["job_id"])
    op.create_index(op.f("ix_job_outbox_tenant_id"), "job_outbox", ["tenant_id"])
    op.create_index("ix_job_outbox_published_at_available_at", "job_outbox", ["published_at", "available_at"])
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index("ix_job_outbox_published_at_available_at", table_name="job_outbox")
    op.drop_index(op.f("ix_job_outbox_tenant_id"), table_name="job_outbox")
    op.drop_index(op.f("ix_job_outbox_job_id"), table_name="job_outbox")
    op.drop_table("job_outbox")
