"""Typed artifacts: what each stage stores, under which ``(stage, name)``, and the one way to read
and write it.

A stage names the kinds it reads in ``inputs`` and the runner loads them before ``run`` (the stage
gets them from ``ctx.input(Kind)``); a stage returns instances of the kinds it produces and the
runner saves them inside the lease-fenced commit. Readers outside the pipeline (routes, the search
indexer) use the same ``read``, so no module spells another stage's ``(stage, name)`` again.
The JSON on disk is the documents the API has always served: a kind wraps the document, it does
not reshape it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipdex.models import Artifact as ArtifactRow
from clipdex.models import Tenant
from clipdex.storage import keys

T = TypeVar("T", bound="Input")


@dataclass(frozen=True)
class Source:
    """What an input is loaded from: the platform (blobs) and a read-only session of the video's tenant."""

    platform: Any
    session: Session
    tenant_id: uuid.UUID
    video_id: uuid.UUID


class Input:
    """Anything a stage reads. ``load`` returns None when there is nothing to read (the stage that
    makes it did not run, or found nothing)."""

    @classmethod
    def load(cls: type[T], src: Source) -> T | None:
        raise NotImplementedError


class Stored(Input):
    """An artifact kind: stored by ``stage`` under ``name``, one row per video."""

    stage: ClassVar[str]
    name: ClassVar[str]
    content_type: ClassVar[str] = "application/octet-stream"

    @classmethod
    def row(cls, s: Session, video_id: uuid.UUID) -> ArtifactRow | None:
        """The artifact row of this kind for a video (the session's tenant guard scopes it)."""
        return s.scalar(select(ArtifactRow).where(ArtifactRow.video_id == video_id, ArtifactRow.stage == cls.stage,
                                                  ArtifactRow.name == cls.name))


@dataclass
class StoredFile(Stored):
    """A binary artifact (audio, an image): handed in as its blob key, read when the stage wants it."""

    key: str
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, src: Source):
        return cls.read(src.platform, src.session, src.video_id)

    @classmethod
    def read(cls, platform, s: Session, video_id: uuid.UUID):
        a = cls.row(s, video_id)
        return None if a is None else cls(key=a.blob_key, meta=dict(a.meta or {}))

    def open(self, platform) -> BinaryIO:
        return platform.blobs.open(self.key)

    @contextlib.contextmanager
    def local_path(self, platform) -> Iterator[Path]:
        with platform.blobs.local_path(self.key) as p:
            yield p


@dataclass
class JsonArtifact(Stored):
    """A JSON document artifact. ``doc`` is the document exactly as stored and served."""

    doc: dict
    meta: dict = field(default_factory=dict)
    content_type: ClassVar[str] = "application/json"
    dump_options: ClassVar[dict] = {}

    @classmethod
    def load(cls, src: Source):
        return cls.read(src.platform, src.session, src.video_id)

    @classmethod
    def read(cls, platform, s: Session, video_id: uuid.UUID):
        """The one reader of this kind: None when the video has none."""
        a = cls.row(s, video_id)
        if a is None:
            return None
        with platform.blobs.open(a.blob_key) as f:
            return cls(doc=json.load(f), meta=dict(a.meta or {}))

    @classmethod
    def doc_of(cls, platform, s: Session, video_id: uuid.UUID) -> dict | None:
        """Just the document (what routes serve), None when there is none."""
        found = cls.read(platform, s, video_id)
        return found.doc if found else None

    def encode(self) -> bytes:
        return json.dumps(self.doc, **self.dump_options).encode()

    def save(self, platform, tenant_id: uuid.UUID, video_id: uuid.UUID, version: str) -> "PendingArtifact":
        """The one writer: the blob under its deterministic key; the row is the runner's to write."""
        return save_bytes(platform, tenant_id, video_id, self.stage, version, self.name, self.encode(),
                          self.content_type, self.meta)


@dataclass
class BlobOut:
    """Bytes a stage produces under a name of its own (a face crop): saved by the runner like a kind."""

    name: str
    data: bytes
    content_type: str
    meta: dict = field(default_factory=dict)


@dataclass
class PendingArtifact:
    """A stored blob whose row the runner writes when the stage commits."""

    name: str
    blob_key: str
    content_type: str
    size_bytes: int
    meta: dict


def save_bytes(platform, tenant_id, video_id, stage: str, version: str, name: str, data: bytes,
               content_type: str, meta: dict) -> PendingArtifact:
    key = keys.artifact(tenant_id, video_id, stage, version, name)
    size = platform.blobs.put_bytes(key, data)
    return PendingArtifact(name, key, content_type, size, dict(meta))


# --- the kinds the built-in stages store ---------------------------------------------------------

class Probe(JsonArtifact):
    """The media summary the worker's probe found (also kept on the video row as ``media``)."""

    stage, name = "probe", "probe.json"
    dump_options = {"indent": 1}


class Audio(StoredFile):
    """The one decode of the audio track: 16 kHz mono 16-bit WAV."""

    stage, name, content_type = "extract_audio", "audio.wav", "audio/wav"


class Transcript(JsonArtifact):
    """Whisper's transcript as the stage made it (no speakers, no human corrections)."""

    stage, name = "transcribe", "transcript.json"
    dump_options = {"ensure_ascii": False}

    def words(self) -> list[dict]:
        return [w for seg in self.doc.get("segments") or [] for w in seg.get("words") or []]


class Speakers(JsonArtifact):
    """Who spoke when: turns, speaker labels, voice centroids and the tenant voices they matched."""

    stage, name = "diarize", "speakers.json"


class SoundEvents(JsonArtifact):
    stage, name = "sound_events", "sound_events.json"


class Shots(JsonArtifact):
    stage, name = "visual", "shots.json"


class VisualScenes(JsonArtifact):
    """Scenes grouped by colour in the visual pass (``Scenes`` refines them with speech)."""

    stage, name = "visual", "scenes.json"


class Scenes(JsonArtifact):
    """Scenes regrouped with the transcript's word timings; same shape as ``VisualScenes``."""

    stage, name = "scenes", "scenes.json"


class Cues(JsonArtifact):
    stage, name = "visual", "cues.json"


class OnScreenText(JsonArtifact):
    stage, name = "visual", "text.json"


class Tags(JsonArtifact):
    stage, name = "visual", "tags.json"


class Faces(JsonArtifact):
    stage, name = "visual", "faces.json"


class Poster(StoredFile):
    """The sharpest keyframe among the longer shots; meta ``t`` is its time."""

    stage, name, content_type = "visual", "poster.jpg", "image/jpeg"


@dataclass
class PictureMeasurements(JsonArtifact):
    """Compliance's per-frame picture numbers, measured on the visual stage's frames (one decode).

    ``{"version", "job_id", "options", "picture", "evidence", "timings_s"}``: ``picture`` is what the
    compliance stage would put in ``Measurements["picture"]``, ``evidence`` the names of the blurred
    thumbnails stored beside it; ``evidence_keys`` maps those names to their blob keys (when read)."""

    stage, name = "visual", "picture.json"
    dump_options = {"separators": (",", ":")}
    evidence_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, platform, s: Session, video_id: uuid.UUID):
        found = super().read(platform, s, video_id)
        names = list(found.doc.get("evidence") or []) if found else []
        if names:
            found.evidence_keys = dict(s.execute(select(ArtifactRow.name, ArtifactRow.blob_key).where(
                ArtifactRow.video_id == video_id, ArtifactRow.stage == cls.stage, ArtifactRow.name.in_(names))).all())
        return found


class Summary(JsonArtifact):
    stage, name = "summarize", "summary.json"


class Measurements(JsonArtifact):
    """What every compliance policy judges, measured once."""

    stage, name = "compliance", "measurements.json"
    dump_options = {"separators": (",", ":")}


class TenantSettings(Input):
    """The tenant's own settings (``Tenant.settings``): configuration a stage reads, not an artifact."""

    def __init__(self, values: dict) -> None:
        self.values = values

    @classmethod
    def load(cls, src: Source) -> "TenantSettings":
        return cls(dict(src.session.scalar(select(Tenant.settings).where(Tenant.id == src.tenant_id)) or {}))

    def get(self, key: str, default=None):
        return self.values.get(key, default)


def first(*found: JsonArtifact | None) -> JsonArtifact | None:
    """The first artifact present (a refinement before what it refines)."""
    return next((a for a in found if a is not None), None)
