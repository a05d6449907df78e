"""Questions answered from the library with verified, timestamped citations; summaries and chapters."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clipdex.api.deps import Authed, PlatformDep
from clipdex.rag import service

router = APIRouter(tags=["answers"])


class Scope(BaseModel):
    # the 100-video limit is checked in the service (stable code answer.scope_too_large); this bounds parsing
    video_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)


class AskRequest(BaseModel):
    question: str = Field(max_length=100_000, examples=["When is the launch planned?"])
    scope: Scope | None = None
    backend: str | None = Field(None, max_length=32, description="extractive | local | openai (those enabled)")


class SummarizeRequest(BaseModel):
    query: str = Field(max_length=100_000, examples=["what was said about pricing in Q3?"])
    scope: Scope | None = None
    backend: str | None = Field(None, max_length=32)


class Citation(BaseModel):
    n: int
    video_id: uuid.UUID
    video_title: str | None = Field(None, description="the cited video's title (its filename when untitled)")
    start: float
    end: float
    text: str


class CheckedSentence(BaseModel):
    text: str
    citations: list[int]
    supported: bool


class AnswerPublic(BaseModel):
    answer: str
    citations: list[Citation]
    supported: bool
    sentences: list[CheckedSentence]
    backend: str


class ChapterPublic(BaseModel):
    title: str
    start: float
    end: float


class SummaryPublic(BaseModel):
    short: str
    long: str
    chapters: list[ChapterPublic]
    sentences: list[dict] = []


class ChapterList(BaseModel):
    items: list[ChapterPublic]


class AnswerSettings(BaseModel):
    answer_backend: str | None = Field(None, max_length=32, description="null: the deployment's default")


class AnswerSettingsPublic(BaseModel):
    answer_backend: str | None
    effective: str
    available: list[str]


@router.post("/ask", response_model=AnswerPublic, summary="Answer a question from the library, with citations",
             description="Every sentence is checked against the spans it cites; unsupported sentences are "
                         "flagged (`sentences[].supported=false`) and left out of `answer`. When the library does "
                         "not hold the answer: `supported=false`, no citations, and the answer says so.")
def ask(body: AskRequest, principal: Authed, platform: PlatformDep) -> dict:
    scope = body.scope.video_ids if body.scope else []
    return service.ask(platform, principal, body.question, scope, body.backend)


@router.post("/summarize", response_model=AnswerPublic, summary="What the library says about a topic, cited")
def summarize(body: SummarizeRequest, principal: Authed, platform: PlatformDep) -> dict:
    scope = body.scope.video_ids if body.scope else []
    return service.ask(platform, principal, body.query, scope, body.backend, kind="summary")


@router.get("/videos/{video_id}/summary", response_model=SummaryPublic, summary="Short and long summary, chapters")
def get_summary(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    return service.video_summary(platform, principal, video_id)


@router.get("/videos/{video_id}/chapters", response_model=ChapterList, summary="Chapters with titles and times")
def get_chapters(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    return {"items": service.video_summary(platform, principal, video_id)["chapters"]}


@router.get("/answers/settings", response_model=AnswerSettingsPublic, summary="The tenant's answer backend")
def get_answer_settings(principal: Authed, platform: PlatformDep) -> dict:
    return service.answer_settings(platform, principal)


@router.put("/answers/settings", response_model=AnswerSettingsPublic,
            summary="Pick the tenant's answer backend among those this deployment enables (owners)")
def put_answer_settings(body: AnswerSettings, principal: Authed, platform: PlatformDep) -> dict:
    return service.set_answer_backend(platform, principal, body.answer_backend)
