"""speech: transcript corrections (tenant-owned, with row-level security)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Tables of this migration with a tenant_id column; each gets RLS exactly as in 0002.
TENANT_TABLES = ["transcript_corrections"]

def upgrade() -> None:
    op.create_table(
        "transcript_corrections",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("segment_index", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Double(), nullable=False),
        sa.Column("end_s", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("speaker", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_transcript_corrections_tenant_id_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"],
                                name=op.f("fk_transcript_corrections_video_id_videos"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_corrections")),
        sa.UniqueConstraint("video_id", "segment_index", name="uq_transcript_corrections_video_segment"),
    )
    op.create_index(op.f("ix_transcript_corrections_tenant_id"), "transcript_corrections", ["tenant_id"])
    op.create_index(op.f("ix_transcript_corrections_video_id"), "transcript_corrections", ["video_id"])
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index(op.f("ix_transcript_corrections_video_id"), table_name="transcript_corrections")
    op.drop_index(op.f("ix_transcript_corrections_tenant_id"), table_name="transcript_corrections")
    op.drop_table("transcript_corrections")
