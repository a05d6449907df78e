"""Stage ``fetch``: download an imported URL into storage, SSRF-checked on every hop."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from clipdex.errors import DuplicateVideo
from clipdex.ingest.importer import policy_for
from clipdex.ingest.ssrf import fetch
from clipdex.models import Video
from clipdex.tenancy.scope import owned_by
from clipdex.pipeline.stage import StageResult
from clipdex.storage import keys


class FetchStage:
    name, version = "fetch", "1"
    requires: tuple[str, ...] = ()
    inputs = ()
    outputs = ("original",)
    queue = "cpu"

    def applies(self, video) -> bool:
        return video.source == "import"

    def run(self, ctx):
        v = ctx.video
        with ctx.scratch_dir() as tmp:
            got = fetch(v.source_url, Path(tmp), policy_for(ctx.settings, ctx.tier), "download")
            ctx.check_alive()
            with ctx.lookup() as s:  # depends on the bytes just fetched: it cannot be an input
                dup = s.scalar(select(Video.id).where(owned_by(Video, v.tenant_id), Video.sha256 == got.sha256,
                                                      Video.id != v.id))
            if dup is not None:
                raise DuplicateVideo(f"This file was already imported as video {dup}.", existing_id=str(dup))
            ext = got.filename.rsplit(".", 1)[-1].lower() if "." in got.filename else "bin"
            key = keys.original(v.tenant_id, v.id, ext if ext.isalnum() and len(ext) <= 8 else "bin")
            ctx.platform.blobs.adopt_file(key, got.path)
        return StageResult(output={"size_bytes": got.size, "sha256": got.sha256},
                           video={"blob_key": key, "size_bytes": got.size, "sha256": got.sha256,
                                  "filename": got.filename})


STAGE = FetchStage()
