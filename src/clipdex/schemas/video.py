"""Video, job, artifact and usage bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class StageStatus(BaseModel):
    name: str
    version: str
    status: str
    attempt: int
    progress: float
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    error_code: str | None
    error_message: str | None


class JobPublic(BaseModel):
    id: uuid.UUID
    video_id: uuid.UUID
    status: str = Field(description="queued | running | succeeded | failed | cancelled")
    progress: float
    error_code: str | None
    error_message: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    stages: list[StageStatus]
    compliance: dict | None = Field(None, description="verdict against the default policy once the compliance "
                                                      "stage has run: verdict, policy, policy_version, violations, "
                                                      "warnings")


class ArtifactPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    stage: str
    version: str
    name: str
    content_type: str
    size_bytes: int
    created_at: datetime


class VideoPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "0b1c6a1e-3a52-4c33-9d7e-5a1f7b8f0a11", "title": "Quarterly all-hands", "tags": ["internal"],
        "language": "en", "status": "ready", "source": "upload", "filename": "allhands.mp4",
        "size_bytes": 104857600, "sha256": "9f86d081884c7d65...", "duration_s": 3605.2, "width": 1920,
        "height": 1080, "error_code": None, "error_message": None,
        "thumbnail_url": "https://clipdex.example.com/api/v1/blobs/eyJrIjoidGVuYW50cy8uLi4ifQ.sig",
        "created_at": "2026-11-21T09:00:00Z", "updated_at": "2026-11-21T09:04:00Z"}})

    id: uuid.UUID
    title: str
    tags: list[str]
    language: str | None
    status: str = Field(description="queued | processing | ready | failed")
    source: str
    filename: str
    size_bytes: int
    sha256: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    media: dict = Field(default_factory=dict)
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    thumbnail_url: str | None = Field(None, description="short-lived signed link to the list thumbnail "
                                      "(presigned on S3); null until the thumbnail stage has run")


class JobLink(BaseModel):
    """The job that processes a just-accepted video, and where to follow it."""

    id: uuid.UUID
    status: str
    url: str = Field(description="GET: the job with per-stage progress")
    events_url: str = Field(description="GET: server-sent events, 'progress' on every change, then 'done'")


class VideoAccepted(VideoPublic):
    """An accepted upload or import: the video and its processing job (also in the Link header)."""

    job: JobLink | None = None


class VideoDetail(VideoPublic):
    job: JobPublic | None = None
    artifacts: list[ArtifactPublic] = Field(default_factory=list)


class VideoUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=500)
    tags: list[str] | None = Field(None, max_length=50)
    language: str | None = Field(None, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class ImportRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "url": "https://media.example.com/webinar.mp4", "title": "Webinar", "tags": ["marketing"]}})

    url: HttpUrl
    title: str | None = Field(None, max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=50)
    language: str | None = Field(None, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class SignedUrl(BaseModel):
    url: str
    expires_at: datetime


class UsagePublic(BaseModel):
    month: str
    processing_minutes: float
    api_calls: int
    storage_bytes: int
    tier: str
    limits: dict


class UsageMonth(BaseModel):
    month: str = Field(description="YYYY-MM")
    processing_minutes: float
    api_calls: int


class UsageHistory(BaseModel):
    """Metered usage of the last ``months`` months, oldest first, months without usage included."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "items": [{"month": "2026-10", "processing_minutes": 12.5, "api_calls": 340},
                  {"month": "2026-11", "processing_minutes": 3.0, "api_calls": 41}],
        "tier": "pro", "limits": {"processing_minutes_per_month": 600}}})

    items: list[UsageMonth]
    tier: str
    limits: dict
