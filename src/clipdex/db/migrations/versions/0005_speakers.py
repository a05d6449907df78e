"""speakers: named voices per tenant (speaker_profiles), with row-level security

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tables of this migration with a tenant_id column; each gets RLS exactly as in 0002.
TENANT_TABLES = ["speaker_profiles"]

SCOPE = ("current_setting('app.system', true) = 'on' OR "
         "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid")


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
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({SCOPE}) WITH CHECK ({SCOPE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.drop_index(op.f("ix_speaker_profiles_tenant_id"), table_name="speaker_profiles")
    op.drop_table("speaker_profiles")
