"""The stage contract: what an analyzer declares, what it is handed, and what it gives back.

A stage declares the typed artifacts it reads (``inputs``) and produces (``outputs``). The runner
loads the inputs before ``run(ctx)``; the stage reads them with ``ctx.input(Kind)``, works, and
returns a ``StageResult``: its job output, the artifacts it made, updates to the video row and
row writers. The runner alone writes those, inside the commit fenced by the stage's lease, so a
stage that lost its lease (or whose worker died) leaves no rows behind. Large files (audio,
keyframes) go to storage as the stage makes them, through ``ctx.write_artifact``, under
deterministic keys; their rows too are written only by that commit.
"""

from __future__ import annotations

import contextlib
import mimetypes
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from clipdex.pipeline.artifacts import BlobOut, Input, JsonArtifact, PendingArtifact, Stored
from clipdex.storage import keys

T = TypeVar("T", bound=Input)


class Stage(Protocol):
    """An analyzer (docs/analyzers.md). ``inputs`` and ``outputs`` may be left out by a stage that reads
    and returns no kinds. Optional too: ``after`` (ordering hints, honoured when those stages are
    planned), ``applies(video)`` (default: every video), ``queue_for(settings)`` (pick the queue by
    configuration)."""

    name: str
    version: str
    requires: tuple[str, ...]  # hard dependencies: stages that must be planned for this one to run
    inputs: tuple[type[Input], ...]  # what the runner loads and hands in
    outputs: tuple[type[Stored] | str, ...]  # the kinds it returns (checked) and names of files it writes
    queue: str  # cpu | gpu | train

    def run(self, ctx: "StageContext") -> "StageResult | dict[str, Any] | None": ...


def applies(stage: Stage, video: "VideoView") -> bool:
    pick = getattr(stage, "applies", None)
    return True if pick is None else bool(pick(video))


@dataclass(frozen=True)
class VideoView:
    """A read-only snapshot of the video a stage works on."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    source: str
    source_url: str | None
    blob_key: str | None
    filename: str
    language: str | None
    duration_s: float | None
    media: dict
    tier: str


class LeaseLost(Exception):
    """The worker no longer owns the stage (lease expired, job cancelled): stop, commit nothing."""


@dataclass
class Commit:
    """What a row writer gets inside the lease-fenced commit: the session, and the stage's output and
    artifacts, which it may add to (a document that names rows it wrote, e.g. person ids)."""

    session: Session
    tenant_id: uuid.UUID
    video_id: uuid.UUID
    output: dict
    save: Callable[[JsonArtifact | BlobOut], None]


RowWriter = Callable[[Commit], None]


@dataclass
class StageResult:
    """What a stage hands back; the runner writes all of it in one fenced commit."""

    output: dict = field(default_factory=dict)  # the job stage's output (shown with the job)
    artifacts: list[JsonArtifact | BlobOut] = field(default_factory=list)
    video: dict[str, Any] = field(default_factory=dict)  # columns of the video row to set
    rows: list[RowWriter] = field(default_factory=list)

    @classmethod
    def skipped(cls, why: str) -> "StageResult":
        return cls(output={"skipped": why})

    @classmethod
    def of(cls, value: "StageResult | dict | None") -> "StageResult":
        """A stage may return a bare output dict (or nothing) when it has nothing else to give."""
        return value if isinstance(value, StageResult) else cls(output=dict(value or {}))


class UndeclaredInput(LookupError):
    """A stage asked for an input it did not declare: the runner loads only declared inputs."""


@dataclass
class StageContext:
    platform: Any
    video: VideoView
    job_id: uuid.UUID
    stage_name: str
    stage_version: str
    attempt: int
    upstream: dict[str, dict]  # job outputs of this job's finished stages, by stage name
    report_progress: Callable[[float], None]
    check_alive: Callable[[], None]
    loaded: dict[type, Input | None] = field(default_factory=dict)  # declared inputs, loaded by the runner
    artifacts: list[PendingArtifact] = field(default_factory=list)

    @property
    def settings(self):
        return self.platform.settings

    @property
    def tier(self):
        return self.platform.settings.tier(self.video.tier)

    def input(self, kind: type[T]) -> T | None:
        """A declared input as the runner loaded it (None: there is none for this video)."""
        if kind not in self.loaded:
            raise UndeclaredInput(f"stage {self.stage_name} did not declare {kind.__name__} in its inputs")
        return self.loaded[kind]  # type: ignore[return-value]

    def ran(self, stage: str) -> bool:
        """Whether ``stage`` ran (and was not skipped) earlier in this job."""
        return stage in self.upstream and not self.upstream[stage].get("skipped")

    def lookup(self) -> contextlib.AbstractContextManager[Session]:
        """A read-only session of the video's tenant, for a lookup that depends on what the stage found
        (fetch's duplicate check). Anything known before ``run`` belongs in ``inputs`` instead."""
        return self.platform.db.tenant(self.video.tenant_id, readonly=True)

    def progress(self, fraction: float) -> None:
        self.report_progress(max(0.0, min(1.0, fraction)))

    @contextlib.contextmanager
    def source_path(self) -> Iterator[Path]:
        if not self.video.blob_key:
            raise RuntimeError("video has no stored original")
        with self.platform.blobs.local_path(self.video.blob_key) as p:
            yield p

    def artifact_key(self, name: str) -> str:
        return keys.artifact(self.video.tenant_id, self.video.id, self.stage_name, self.stage_version, name)

    def write_artifact(self, name: str, path: Path | str, content_type: str | None = None, **meta) -> str:
        """Store a large file as an artifact now; its row is written when the stage commits (once)."""
        key = self.artifact_key(name)
        size = self.platform.blobs.put_file(key, Path(path))
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.artifacts = [a for a in self.artifacts if a.name != name]
        self.artifacts.append(PendingArtifact(name, key, ctype, size, meta))
        return key

    def scratch_dir(self) -> contextlib.AbstractContextManager[str]:
        return tempfile.TemporaryDirectory(prefix=f"clipdex-{self.stage_name}-",
                                           dir=self.platform.settings.staging_dir)
