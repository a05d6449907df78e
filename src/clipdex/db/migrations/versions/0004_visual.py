"""Visual intelligence: the people gallery and face tracks, with row-level security

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENANT_TABLES = ["people", "faces"]


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("thumb_key", sa.String(length=600), nullable=True),
        sa.Column("updated_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_people_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index(op.f("ix_people_tenant_id"), "people", ["tenant_id"], unique=False)
    op.create_table(
        "faces",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Double(), nullable=False),
        sa.Column("end_s", sa.Double(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("quality", sa.Double(), nullable=False),
        sa.Column("thumb_key", sa.String(length=600), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", clipdex.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_faces_person_id_people"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_faces_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_faces_video_id_videos"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faces")),
    )
    op.create_index(op.f("ix_faces_person_id"), "faces", ["person_id"], unique=False)
    op.create_index(op.f("ix_faces_tenant_id"), "faces", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_faces_video_id"), "faces", ["video_id"], unique=False)
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index(op.f("ix_faces_video_id"), table_name="faces")
    op.drop_index(op.f("ix_faces_tenant_id"), table_name="faces")
    op.drop_index(op.f("ix_faces_person_id"), table_name="faces")
    op.drop_table("faces")
    op.drop_index(op.f("ix_people_tenant_id"), table_name="people")
    op.drop_table("people")
