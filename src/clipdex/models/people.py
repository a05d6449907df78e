"""People (the tenant's face gallery) and the face tracks found in videos. Embeddings are
biometric data: they live only in these rows, and deleting a person deletes them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.db.types import utcnow
from clipdex.models.base import Base, TenantOwned


class Person(TenantOwned, Base):
    __tablename__ = "people"

    name: Mapped[str | None] = mapped_column(String(200), default=None)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32 centroid of the person's faces
    face_count: Mapped[int] = mapped_column(default=0)
    thumb_key: Mapped[str | None] = mapped_column(String(600), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Face(TenantOwned, Base):
    """One face track: a person seen continuously within one shot of one video."""

    __tablename__ = "faces"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    track: Mapped[int] = mapped_column(default=0)
    start_s: Mapped[float] = mapped_column(default=0.0)
    end_s: Mapped[float] = mapped_column(default=0.0)
    box: Mapped[list] = mapped_column(JSON, default=list)  # x, y, w, h of the best view, analysis pixels
    samples: Mapped[list] = mapped_column(JSON, default=list)  # [[t, [x, y, w, h]], ...]
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(default=0.0)
    thumb_key: Mapped[str | None] = mapped_column(String(600), default=None)
