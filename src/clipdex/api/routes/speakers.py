"""Named voices: name a diarized speaker of a video, list the tenant's voices, delete one (and its
voice embedding). A named voice is recognised in the tenant's other videos, never in another tenant's."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field, field_validator

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.errors import SpeakersNotReady
from clipdex.models import SpeakerProfile
from clipdex.pipeline.artifacts import Speakers
from clipdex.schemas.common import Page
from clipdex.speech import speakers as voices
from clipdex.search import indexer
from clipdex.tenancy import access, audit, deletion

router = APIRouter(tags=["speech"])

Label = Annotated[str, Path(pattern=r"^S[0-9]{1,4}$", max_length=5)]


class SpeakerName(BaseModel):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("name must not be blank")
        return " ".join(v.split())


class SpeakerPublic(BaseModel):
    id: uuid.UUID
    name: str
    samples: int
    source_video_id: uuid.UUID | None
    source_label: str
    created_at: datetime
    updated_at: datetime


def _public(p: SpeakerProfile) -> SpeakerPublic:
    return SpeakerPublic(id=p.id, name=p.name, samples=p.samples, source_video_id=p.source_video_id,
                         source_label=p.source_label, created_at=p.created_at, updated_at=p.updated_at)


@router.post("/videos/{video_id}/speakers/{label}/name", response_model=SpeakerPublic,
             summary="Name a speaker of a video; the voice is then recognised in the tenant's other videos")
def name_speaker(video_id: uuid.UUID, label: Label, body: SpeakerName, principal: Authed,
                 platform: PlatformDep) -> SpeakerPublic:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:write")
        spk = Speakers.doc_of(platform, s, v.id)
        if spk is None:
            raise SpeakersNotReady("The speakers of this video are not ready yet.")
        centroid = (spk.get("centroids") or {}).get(label)
        if centroid is None:
            raise voices.SpeakerNotFound(f"This video has no speaker {label} with a voice embedding.")
        p = voices.name_speaker(s, v.tenant_id, v.id, label, centroid, body.name)
        audit.record(s, "speaker.named", actor=principal.actor, tenant_id=v.tenant_id, target=f"speaker:{p.id}",
                     video_id=str(v.id), label=label)
        result, tenant_id = _public(p), v.tenant_id
    indexer.refresh(platform, tenant_id, video_id)  # after the commit: speaker=<name> finds this video now
    return result


@router.get("/speakers", response_model=Page[SpeakerPublic], summary="The tenant's named voices")
def list_speakers(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[SpeakerPublic]:
    query = access.list_owned(principal, SpeakerProfile, "video:read")
    with access.session_for(platform, principal, readonly=True) as s:
        r = paginate(s, query, SpeakerProfile, page, sort="-created_at")
        return Page(items=[_public(p) for p in r.items], next_cursor=r.next_cursor)


@router.delete("/speakers/{speaker_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a named voice and its voice embedding")
def delete_speaker(speaker_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> None:
    with access.session_for(platform, principal) as s:
        p = access.get_owned(s, principal, SpeakerProfile, speaker_id, "video:delete")
        named_in = deletion.voice_videos(platform, p.tenant_id, p.name)
        deletion.forget_voice(s, platform.blobs, p)
        s.delete(p)
        audit.record(s, "speaker.deleted", actor=principal.actor, tenant_id=p.tenant_id, target=f"speaker:{p.id}")
    indexer.refresh_and_purge(platform, p.tenant_id, named_in)  # after the commit: rows named the voice
