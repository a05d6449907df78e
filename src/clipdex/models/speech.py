"""Speech data owned by a tenant: human corrections of transcript segments, named voices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clipdex.db.types import utcnow
from clipdex.models.base import Base, TenantOwned


class TranscriptCorrection(TenantOwned, Base):
    """A segment's corrected text, applied whenever the transcript is read (so reprocessing keeps it).

    The segment is found again by its index and the time range it had when corrected.
    """

    __tablename__ = "transcript_corrections"
    __table_args__ = (UniqueConstraint("video_id", "segment_index", name="uq_transcript_corrections_video_segment"),)

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    segment_index: Mapped[int]
    start_s: Mapped[float]
    end_s: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str] = mapped_column(Text, default="")
    speaker: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_by: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SpeakerProfile(TenantOwned, Base):
    """A named voice of the tenant: the float32 centroid of the d-vectors of the speakers named so.

    The embedding is biometric data: it lives only in this row, and deleting the profile deletes it.
    """

    __tablename__ = "speaker_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_speaker_profiles_tenant_name"),)

    name: Mapped[str] = mapped_column(String(200))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    samples: Mapped[int] = mapped_column(default=1)  # how many named speakers the centroid averages
    source_video_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("videos.id", ondelete="SET NULL"),
                                                              default=None)
    source_label: Mapped[str] = mapped_column(String(16), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
