"""Custom models: Q&A datasets, their items, training jobs, trained model versions, the glossary."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.db.types import utcnow
from clipdex.models.base import Base, TenantOwned

DATASET_STATUSES = ("building", "ready", "failed")
ITEM_SOURCES = ("wh", "cloze", "llm", "manual")
SPLITS = ("train", "validation", "test")
TRAINING_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class TrainingDataset(TenantOwned, Base):
    """A versioned set of question-answer pairs; every edit bumps ``version``."""

    __tablename__ = "training_datasets"

    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="building")
    version: Mapped[int] = mapped_column(default=1)
    selection: Mapped[dict] = mapped_column(JSON, default=dict)  # video_ids | query | all
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(200), default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetItem(TenantOwned, Base):
    __tablename__ = "training_dataset_items"
    __table_args__ = (Index("ix_training_dataset_items_dataset_split", "dataset_id", "split"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_datasets.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("videos.id", ondelete="SET NULL"), default=None)
    position: Mapped[int] = mapped_column(default=0)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="")  # the transcript span that supports the answer
    start_s: Mapped[float] = mapped_column(Float, default=0.0)
    end_s: Mapped[float] = mapped_column(Float, default=0.0)
    segment_ids: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="wh")  # how it was made
    kind: Mapped[str] = mapped_column(String(32), default="")  # date | number | person | definition | ...
    split: Mapped[str] = mapped_column(String(16), default="train")
    status: Mapped[str] = mapped_column(String(16), default="generated")  # generated | accepted | edited


class TrainedModel(TenantOwned, Base):
    """One model version: lineage, hyper-parameters, metrics, where its weights are, whether it serves Ask."""

    __tablename__ = "training_models"

    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("training_datasets.id", ondelete="SET NULL"), default=None)
    dataset_version: Mapped[int] = mapped_column(default=1)
    base_model: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(16))  # lora | full
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    beats_base: Mapped[bool | None] = mapped_column(default=None)
    size_bytes: Mapped[int] = mapped_column(default=0)
    weights_prefix: Mapped[str | None] = mapped_column(String(600), default=None)
    created_by: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    previous_active_id: Mapped[uuid.UUID | None] = mapped_column(default=None)  # what a rollback returns to


class TrainingJob(TenantOwned, Base):
    """The training of one model on the ``train`` queue: lease-fenced like a pipeline stage."""

    __tablename__ = "training_jobs"
    __table_args__ = (Index("ix_training_jobs_status_not_before", "status", "not_before"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_models.id", ondelete="CASCADE"), index=True)
    queue: Mapped[str] = mapped_column(String(16), default="train")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(120), default=None)
    lease_token: Mapped[int] = mapped_column(default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    progress: Mapped[dict] = mapped_column(JSON, default=dict)  # step, max_steps, loss, lr, eta_s, history
    resumed_from_step: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(500), default=None)


class GlossaryTerm(TenantOwned, Base):
    """A tenant's custom vocabulary; ``video_id`` set: a hint for that video only."""

    __tablename__ = "glossary_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "video_id", "term", name="uq_glossary_terms_tenant_video_term"),)

    term: Mapped[str] = mapped_column(String(100))
    video_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), default=None)
