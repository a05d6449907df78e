"""The stage protocol: what an analyzer declares and what it gets to run."""

from __future__ import annotations

import contextlib
import mimetypes
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from clipdex.platform import Platform
from clipdex.storage import keys


class Stage(Protocol):
    """An analyzer: ``run(ctx)`` reads declared inputs and writes artifacts under deterministic keys."""

    name: str
    version: str
    requires: tuple[str, ...]  # hard dependencies: stages whose outputs this one reads
    # optional ``after: tuple[str, ...]``: run after these stages when they are planned too
    produces: tuple[str, ...]
    queue: str  # cpu | gpu | train

    def applies(self, video: "VideoView") -> bool: ...

    def run(self, ctx: "StageContext") -> dict[str, Any] | None: ...


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
class PendingArtifact:
    name: str
    blob_key: str
    content_type: str
    size_bytes: int
    meta: dict


@dataclass
class StageContext:
    platform: Platform
    video: VideoView
    job_id: uuid.UUID
    stage_name: str
    stage_version: str
    attempt: int
    inputs: dict[str, dict]  # outputs of finished stages of this job, by stage name
    report_progress: Callable[[float], None]
    check_alive: Callable[[], None]
    artifacts: list[PendingArtifact] = field(default_factory=list)
    video_updates: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self):
        return self.platform.settings

    @property
    def tier(self):
        return self.platform.settings.tier(self.video.tier)

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

    def write_artifact(self, name: str, path: Path, content_type: str | None = None, **meta) -> str:
        """Store a file as an artifact; its row is written when the stage commits (once)."""
        key = self.artifact_key(name)
        size = self.platform.blobs.put_file(key, path)
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.artifacts = [a for a in self.artifacts if a.name != name]
        self.artifacts.append(PendingArtifact(name, key, ctype, size, meta))
        return key

    def scratch_dir(self) -> contextlib.AbstractContextManager[str]:
        import tempfile

        return tempfile.TemporaryDirectory(prefix=f"clipdex-{self.stage_name}-",
                                           dir=self.platform.settings.staging_dir)
