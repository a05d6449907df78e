"""Transcripts (JSON, text, SRT, WebVTT), segment corrections, and sound events of a video."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from clipdex.api.deps import Authed, PlatformDep
from clipdex.errors import SegmentNotFound, SoundEventsNotReady
from clipdex.models import TranscriptCorrection
from clipdex.pipeline.artifacts import SoundEvents
from clipdex.speech import subtitles, transcript
from clipdex.search import indexer
from clipdex.tenancy import access

router = APIRouter(prefix="/videos", tags=["speech"])

MEDIA = {"srt": "application/x-subrip", "vtt": "text/vtt", "txt": "text/plain"}


# Response models document the JSON ``speech/transcript.py load()`` builds; the routes return that JSON
# as it is (the models never filter it), and extra="allow" says that keys beyond these may appear.
class TranscriptWord(BaseModel):
    model_config = ConfigDict(extra="allow")

    word: str
    space: bool = Field(True, description="written after a space (false: continues the word before, "
                                          "as in \"400\" \",000\")")
    start: float
    end: float
    probability: float | None = None
    speaker: str | None = None
    speaker_name: str | None = None


class TranscriptSegment(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int
    start: float
    end: float
    text: str
    words: list[TranscriptWord]
    speaker: str | None = None
    speaker_name: str | None = None
    language: str | None = None
    confidence: float | None = None
    corrected: bool = False


class TranscriptDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    track: str = Field(description="original | en-translation")
    language: str | None = None
    languages: list[str] = Field(default_factory=list)
    source_languages: list[str] | None = Field(None, description="en-translation track: the spoken languages")
    model: str | None = None
    duration_s: float | None = None
    speakers: list[str] = Field(default_factory=list, description="diarized speaker labels (S1, S2, ...)")
    speaker_names: dict[str, str | None] = Field(default_factory=dict, description="label -> the tenant's name")
    segments: list[TranscriptSegment]


class SegmentUpdate(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    speaker: str | None = Field(None, max_length=64)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text must not be blank")
        return " ".join(v.split())


@router.get("/{video_id}/transcript", summary="The transcript (or its English translation) as json, txt, srt or vtt",
            responses={200: {"model": TranscriptDocument, "content": {m: {} for m in MEDIA.values()}}})
def get_transcript(video_id: uuid.UUID, principal: Authed, platform: PlatformDep,
                   format: Literal["json", "txt", "srt", "vtt"] = "json",
                   speakers: Annotated[bool, Query(description="speaker labels in txt/srt/vtt")] = False,
                   events: Annotated[bool, Query(description="sound-event cues ([music]) in srt/vtt")] = False,
                   track: Literal["original", "en-translation"] = "original") -> Response:
    with access.session_for(platform, principal, readonly=True) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        t = transcript.load(platform, s, v.id, track=track)
        sound = SoundEvents.doc_of(platform, s, v.id) if events else None
    if format == "json":
        return _json(t)
    if format == "txt":
        body = subtitles.to_txt(t["segments"], speakers)
    else:
        cues = subtitles.build_cues(transcript.words_of(t), speakers=speakers)
        if sound:
            cues = subtitles.add_event_cues(cues, sound["events"])
        body = subtitles.to_srt(cues) if format == "srt" else subtitles.to_vtt(cues)
    return PlainTextResponse(body, media_type=MEDIA[format])


@router.patch("/{video_id}/transcript/segments/{index}", response_model=None,
              responses={200: {"model": TranscriptSegment, "description": "The corrected segment"}},
              summary="Correct a segment's text (kept across reprocessing)")
def correct_segment(video_id: uuid.UUID, index: Annotated[int, Path(ge=0, le=1_000_000)], body: SegmentUpdate,
                    principal: Authed, platform: PlatformDep) -> dict:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:write")
        current = transcript.load(platform, s, v.id)
        if index >= len(current["segments"]):
            raise SegmentNotFound(f"The transcript has {len(current['segments'])} segments.")
        seg = current["segments"][index]
        row = s.scalar(select(TranscriptCorrection).where(TranscriptCorrection.video_id == v.id,
                                                          TranscriptCorrection.segment_index == index))
        if row is None:
            original = transcript.load(platform, s, v.id, with_corrections=False)["segments"]
            row = TranscriptCorrection(tenant_id=v.tenant_id, video_id=v.id, segment_index=index,
                                       original_text=original[index]["text"] if index < len(original) else "")
            s.add(row)
        row.start_s, row.end_s, row.text, row.speaker = seg["start"], seg["end"], body.text, body.speaker
        row.updated_by = str(principal.actor)[:120]
        s.flush()
        result = transcript.load(platform, s, v.id)["segments"][index]
        tenant_id = v.tenant_id
    indexer.refresh(platform, tenant_id, video_id)  # after the commit: search finds the corrected words
    return result


@router.get("/{video_id}/sound-events", summary="Timed sound events (music, applause, laughter, silence...)")
def get_sound_events(video_id: uuid.UUID, principal: Authed, platform: PlatformDep,
                     tag: Annotated[str | None, Query(max_length=32)] = None) -> dict:
    with access.session_for(platform, principal, readonly=True) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        data = SoundEvents.doc_of(platform, s, v.id)
    if data is None:
        raise SoundEventsNotReady("Sound events of this video are not ready yet.")
    events = [e for e in data["events"] if tag is None or e["tag"] == tag]
    return {"model": data.get("model"), "duration_s": data.get("duration_s"), "events": events,
            "top_classes": data.get("top_classes", [])}


def _json(t: dict) -> Response:
    import json

    return Response(json.dumps(t, ensure_ascii=False), media_type="application/json")
