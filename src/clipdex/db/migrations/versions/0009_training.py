"""Custom models: Q&A datasets and items, trained model versions, training jobs, glossary, with RLS

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import clipdex.db.types
from clipdex.db import rls

revision = "0009"
down_revision = "0008"  # FINAL (set by the lead): chain 0006 -> 0007 -> 0008 -> 0009; do not change
branch_labels = None
depends_on = None

TENANT_TABLES = ["training_datasets", "training_dataset_items", "training_models", "training_jobs", "glossary_terms"]
DT = clipdex.db.types.UTCDateTime(timezone=True)


def _common(table: str) -> list:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "training_datasets",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("updated_at", DT, nullable=False),
        *_common("training_datasets"),
    )
    op.create_index(op.f("ix_training_datasets_tenant_id"), "training_datasets", ["tenant_id"], unique=False)
    op.create_table(
        "training_dataset_items",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("segment_ids", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("split", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["training_datasets.id"],
                                name=op.f("fk_training_dataset_items_dataset_id_training_datasets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_training_dataset_items_video_id_videos"),
                                ondelete="SET NULL"),
        *_common("training_dataset_items"),
    )
    op.create_index(op.f("ix_training_dataset_items_dataset_id"), "training_dataset_items", ["dataset_id"])
    op.create_index(op.f("ix_training_dataset_items_tenant_id"), "training_dataset_items", ["tenant_id"])
    op.create_index("ix_training_dataset_items_dataset_split", "training_dataset_items", ["dataset_id", "split"])
    op.create_table(
        "training_models",
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column("dataset_version", sa.Integer(), nullable=False),
        sa.Column("base_model", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("beats_base", sa.Boolean(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("weights_prefix", sa.String(length=600), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", DT, nullable=True),
        sa.Column("previous_active_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["training_datasets.id"],
                                name=op.f("fk_training_models_dataset_id_training_datasets"), ondelete="SET NULL"),
        *_common("training_models"),
    )
    op.create_index(op.f("ix_training_models_tenant_id"), "training_models", ["tenant_id"])
    op.create_table(
        "training_jobs",
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", DT, nullable=True),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_token", sa.Integer(), nullable=False),
        sa.Column("lease_expires_at", DT, nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("resumed_from_step", sa.Integer(), nullable=False),
        sa.Column("started_at", DT, nullable=True),
        sa.Column("finished_at", DT, nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["training_models.id"],
                                name=op.f("fk_training_jobs_model_id_training_models"), ondelete="CASCADE"),
        *_common("training_jobs"),
    )
    op.create_index(op.f("ix_training_jobs_model_id"), "training_jobs", ["model_id"])
    op.create_index(op.f("ix_training_jobs_tenant_id"), "training_jobs", ["tenant_id"])
    op.create_index("ix_training_jobs_status_not_before", "training_jobs", ["status", "not_before"])
    op.create_table(
        "glossary_terms",
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_glossary_terms_video_id_videos"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "video_id", "term", name="uq_glossary_terms_tenant_video_term"),
        *_common("glossary_terms"),
    )
    op.create_index(op.f("ix_glossary_terms_tenant_id"), "glossary_terms", ["tenant_id"])
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    rls.disable(TENANT_TABLES)
    op.drop_index(op.f("ix_glossary_terms_tenant_id"), table_name="glossary_terms")
    op.drop_table("glossary_terms")
    op.drop_index("ix_training_jobs_status_not_before", table_name="training_jobs")
    op.drop_index(op.f("ix_training_jobs_tenant_id"), table_name="training_jobs")
    op.drop_index(op.f("ix_training_jobs_model_id"), table_name="training_jobs")
    op.drop_table("training_jobs")
    op.drop_index(op.f("ix_training_models_tenant_id"), table_name="training_models")
    op.drop_table("training_models")
    op.drop_index("ix_training_dataset_items_dataset_split", table_name="training_dataset_items")
    op.drop_index(op.f("ix_training_dataset_items_tenant_id"), table_name="training_dataset_items")
    op.drop_index(op.f("ix_training_dataset_items_dataset_id"), table_name="training_dataset_items")
    op.drop_table("training_dataset_items")
    op.drop_table("training_datasets")
