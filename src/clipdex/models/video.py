"""Videos, their derived artifacts, and resumable upload sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.db.types import utcnow
from clipdex.models.base import Base, TenantOwned

VIDEO_STATUSES = ("queued", "processing", "ready", "failed")


class Video(TenantOwned, Base):
    __tablename__ = "videos"
    __table_args__ = (Index("ix_videos_tenant_sha256", "tenant_id", "sha256"),)

    title: Mapped[str] = mapped_column(String(500), default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | import | resumable
    source_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    filename: Mapped[str] = mapped_column(String(500), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    blob_key: Mapped[str | None] = mapped_column(String(600), default=None)
    duration_s: Mapped[float | None] = mapped_column(default=None)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    media: Mapped[dict] = mapped_column(JSON, default=dict)  # normalised probe summary
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Artifact(TenantOwned, Base):
    """A file a stage produced, under a deterministic key; one row per (video, stage, name)."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("video_id", "stage", "name", name="uq_artifacts_video_stage_name"),)

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    blob_key: Mapped[str] = mapped_column(String(600))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class UploadSession(TenantOwned, Base):
    """A tus resumable upload in progress."""

    __tablename__ = "upload_sessions"

    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(500), default="")
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120), default="")
    video_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | failed
