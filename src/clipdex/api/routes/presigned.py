"""Presigned uploads: the client sends the file straight to object storage, then says so."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from clipdex.api.deps import Authed, PlatformDep
from clipdex.auth import service as auth
from clipdex.ingest import presigned
from clipdex.schemas.video import VideoPublic
from clipdex.videos.service import clean_language

router = APIRouter(prefix="/uploads/presigned", tags=["uploads"])


class PresignedCreate(BaseModel):
    filename: str = Field(min_length=1, max_length=500)
    size: int = Field(gt=0, description="exact size of the file in bytes; the store refuses more")
    title: str = Field("", max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=50)
    language: str | None = Field(None, max_length=16)


class PresignedPublic(BaseModel):
    upload_id: uuid.UUID
    url: str
    method: str = Field(description="POST: send multipart/form-data with `fields` first, then the file as `file`")
    fields: dict[str, str]
    max_bytes: int
    expires_at: datetime


@router.post("", response_model=PresignedPublic, status_code=status.HTTP_201_CREATED,
             summary="Get a presigned URL to upload one file straight to object storage (S3 deployments)")
def create_presigned(body: PresignedCreate, principal: Authed, platform: PlatformDep) -> PresignedPublic:
    auth.ensure(principal, "video:write")
    req = presigned.PresignedRequest(filename=body.filename, size=body.size, title=body.title,
                                     tags=tuple(t.strip()[:64] for t in body.tags if t.strip()),
                                     language=clean_language(body.language))
    upload_id, up = presigned.create(platform, principal, req)
    return PresignedPublic(upload_id=upload_id, url=up.url, method=up.method, fields=up.fields,
                           max_bytes=up.max_bytes, expires_at=datetime.fromtimestamp(up.expires_at, tz=timezone.utc))


@router.post("/{upload_id}/complete", response_model=VideoPublic, status_code=status.HTTP_201_CREATED,
             summary="Accept the uploaded file as a video (probe, limits, duplicates, job)")
def complete_presigned(upload_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> VideoPublic:
    video = presigned.complete(platform, principal, upload_id)
    return VideoPublic.model_validate(video, from_attributes=True)
