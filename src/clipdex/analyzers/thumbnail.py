"""Stage ``thumbnail``: a poster frame and a small thumbnail for lists."""

from __future__ import annotations

from pathlib import Path

from clipdex.media.transcode import still_frame
from clipdex.pipeline import registry

SIZES = {"poster.jpg": 640, "thumb.jpg": 320}


class ThumbnailStage:
    name, version = "thumbnail", "1"
    requires = ("probe",)
    produces = tuple(SIZES)
    queue = "cpu"

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        probe = ctx.inputs.get("probe", {})
        if not probe.get("has_video"):
            return {"skipped": "no video stream"}
        duration = probe.get("duration_s") or 0.0
        at = min(duration * 0.1, 10.0)  # early, but past black leaders and fade-ins
        with ctx.source_path() as src, ctx.scratch_dir() as tmp:
            for i, (name, width) in enumerate(SIZES.items()):
                out = Path(tmp) / name
                still_frame(ctx.settings, src, out, at_s=at, width=width)
                ctx.write_artifact(name, out, "image/jpeg", at_s=at, width=width)
                ctx.progress((i + 1) / len(SIZES))
        return {"at_s": at}


registry.register(ThumbnailStage())
