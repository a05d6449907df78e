"""The ``index`` stage: puts what the other stages found into the tenant's search index."""

from __future__ import annotations

from clipdex.search.indexer import index_video


class IndexStage:
    name, version = "index", "1"
    requires = ("probe",)
    # runs last among whatever content stages are planned; each contributes rows when present
    after = ("transcribe", "diarize", "visual", "scenes", "sound_events", "summarize")
    inputs, outputs = (), ()
    queue = "cpu"

    def run(self, ctx):
        ctx.check_alive()
        out = index_video(ctx.platform, ctx.video.tenant_id, ctx.video.id)
        ctx.check_alive()
        return out


STAGE = IndexStage()
