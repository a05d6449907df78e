"""speakers: named voices per tenant (speaker_profiles), with row-level security

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tables of this migration with a tenant_id column; each gets RLS exactly as in 0002.
TENANT_TABLES = ["speaker_profiles"]

def upgrade() -> None:
    op.create_table(
        "speaker_profiles",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("source_video_id", sa.Uuid(), nullable=True),
        sa.Column("source_label", sa.String(length=16), nullable=False),
        sa.Column("updated_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_speaker_profiles_tenant_id_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_video_id"], ["videos.id"],
                                name=op.f("fk_speaker_profiles_source_video_id_videos"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaker_profiles")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_speaker_profiles_tenant_name"),
    )
    op.create_index(op.f("ix_speaker_profiles_tenant_id"), "speaker_profiles", ["tenant_id"])
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index(op.f("ix_speaker_profiles_tenant_id"), table_name="speaker_profiles")
    op.drop_table("speaker_profiles")
