"""Search the library for moments: what was said, shown, written on screen, heard or who appeared."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from clipdex.api.deps import Authed, PlatformDep
from clipdex.search import service

router = APIRouter(tags=["search"])

Modality = Literal["transcript", "ocr", "tag", "sound", "face", "shot"]


class MomentPublic(BaseModel):
    video_id: uuid.UUID
    video_title: str
    start: float
    end: float
    snippet: str
    highlights: list[list[int]]
    thumbnail_url: str | None
    modalities: list[str]
    score: float
    speaker: str | None = None


class MomentPage(BaseModel):
    items: list[MomentPublic]
    next_cursor: str | None


@router.get("/search", response_model=MomentPage, summary="Find moments across the library (hybrid search)",
            description="Full-text (typo-tolerant, \"quoted phrases\") and semantic search over transcripts, "
                        "on-screen text, visual tags, sound events, people and shots, merged into moments. "
                        "`like=<video_id>@<seconds>` finds moments similar to a given one.")
def search(principal: Authed, platform: PlatformDep,
           q: Annotated[str, Query(max_length=500, examples=["quarterly budget review"])] = "",
           limit: Annotated[int, Query(ge=1, le=50)] = 20, cursor: Annotated[str | None, Query(max_length=200)] = None,
           like: Annotated[str | None, Query(max_length=80)] = None,
           video_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006 (FastAPI copies defaults)
           person_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
           speaker: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
           tag: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
           modality: Annotated[list[Modality], Query(max_length=6)] = [],  # noqa: B006
           language: Annotated[list[str], Query(max_length=10)] = [],  # noqa: B006
           uploaded_after: datetime | None = None, uploaded_before: datetime | None = None,
           compliance: Literal["pass", "warn", "fail", "incomplete"] | None = None) -> dict:
    filters = service.build_filters(video_id=video_id, person_id=person_id, speaker=speaker, tag=tag,
                                    modality=modality, language=language, uploaded_after=uploaded_after,
                                    uploaded_before=uploaded_before)
    return service.search(platform, principal, service.SearchParams(q=q, limit=limit, cursor=cursor, like=like,
                                                                     filters=filters, verdict=compliance))
