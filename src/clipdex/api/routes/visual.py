"""What the visual stage found in a video: shots, scenes, on-screen text, tags, technical cues."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from clipdex.api.deps import Authed, PlatformDep
from clipdex.errors import VisualNotAnalyzed
from clipdex.pipeline.artifacts import Cues, JsonArtifact, OnScreenText, Scenes, Shots, Tags, VisualScenes
from clipdex.tenancy import access

router = APIRouter(prefix="/videos", tags=["visual"])


# Response models document the stored documents (analyzers/shots.py, analyzers/scenes.py). They are
# for the OpenAPI schema only: the routes return the documents as stored, and extra="allow" says
# that keys beyond these may appear.
class Shot(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int
    start_frame: int
    end_frame: int = Field(description="exclusive")
    start_s: float
    end_s: float
    transition_in: str = Field(description="start | cut | fade | dissolve")
    keyframe_s: float | None = None
    keyframe: str | None = Field(None, description="artifact name of the keyframe image")
    scene: int = 0


class ShotList(BaseModel):
    model_config = ConfigDict(extra="allow")

    fps: float
    frames: int
    shots: list[Shot]


class Scene(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    shots: list[int] = Field(description="indexes of the shots in the scene")
    keyframe: str | None = None


class SceneList(BaseModel):
    model_config = ConfigDict(extra="allow")

    scenes: list[Scene]
    speech_words: int | None = Field(None, description="words the speech-aware regrouping saw (scenes stage)")


def _documented(model: type[BaseModel]) -> dict:
    return {"response_model": None, "responses": {200: {"model": model, "description": "Successful Response"}}}


def _read(platform, principal, video_id: uuid.UUID, *kinds: type[JsonArtifact]) -> list[dict | None]:
    """The documents of ``kinds`` for a video the principal may read (None where there is none)."""
    with access.session_for(platform, principal, readonly=True) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        return [k.doc_of(platform, s, v.id) for k in kinds]


def _doc(platform, principal, video_id: uuid.UUID, *kinds: type[JsonArtifact]) -> dict:
    """The document of the first of ``kinds`` the video has (a later refinement first)."""
    doc = next((d for d in _read(platform, principal, video_id, *kinds) if d is not None), None)
    if doc is None:
        raise VisualNotAnalyzed("The visual analysis of this video is not available (yet).")
    return doc


@router.get("/{video_id}/shots", **_documented(ShotList), summary="Shots with their transitions and keyframes")
def list_shots(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    doc = _doc(platform, principal, video_id, Shots)
    refined = _read(platform, principal, video_id, Scenes)[0]
    if refined:  # scene numbers from the speech-aware grouping, when the scenes stage has run
        scene_of = {i: sc["index"] for sc in refined["scenes"] for i in sc["shots"]}
        for shot in doc.get("shots", []):
            shot["scene"] = scene_of.get(shot["index"], shot.get("scene", 0))
    return doc


@router.get("/{video_id}/scenes", **_documented(SceneList), summary="Scenes: consecutive shots that belong together")
def list_scenes(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    return _doc(platform, principal, video_id, Scenes, VisualScenes)


@router.get("/{video_id}/text", summary="On-screen text as timed spans with boxes")
def list_text(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    return _doc(platform, principal, video_id, OnScreenText)


@router.get("/{video_id}/tags", summary="Visual tags with confidence and time ranges")
def list_tags(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    return _doc(platform, principal, video_id, Tags)


@router.get("/{video_id}/cues", summary="Technical cues: black and frozen frames")
def list_cues(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> dict:
    return _doc(platform, principal, video_id, Cues)
