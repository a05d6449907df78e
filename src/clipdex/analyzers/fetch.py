"""Stage ``fetch``: download an imported URL into storage, SSRF-checked on every hop."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from clipdex.errors import Conflict
from clipdex.ingest.importer import policy_for
from clipdex.ingest.ssrf import fetch
from clipdex.models import Video
from clipdex.pipeline import registry
from clipdex.storage import keys


class FetchStage:
    name, version = "fetch", "1"
    requires: tuple[str, ...] = ()
    produces = ("original",)
    queue = "cpu"

    def applies(self, video) -> bool:
        return video.source == "import"

    def run(self, ctx):
        v = ctx.video
        with ctx.scratch_dir() as tmp:
            got = fetch(v.source_url, Path(tmp), policy_for(ctx.settings, ctx.tier), "download")
            ctx.check_alive()
            with ctx.platform.db.tenant(v.tenant_id) as s:
                dup = s.scalar(select(Video.id).where(Video.tenant_id == v.tenant_id, Video.sha256 == got.sha256,
                                                      Video.id != v.id))
            if dup is not None:
                raise Conflict(f"This file was already imported as video {dup}.", code="video.duplicate",
                               status=422)
            ext = got.filename.rsplit(".", 1)[-1].lower() if "." in got.filename else "bin"
            key = keys.original(v.tenant_id, v.id, ext if ext.isalnum() and len(ext) <= 8 else "bin")
            ctx.platform.blobs.adopt_file(key, got.path)
        ctx.video_updates.update(blob_key=key, size_bytes=got.size, sha256=got.sha256, filename=got.filename)
        return {"size_bytes": got.size, "sha256": got.sha256}


registry.register(FetchStage())
