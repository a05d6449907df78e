"""Stage ``probe``: re-probe the stored original in the worker and record its media facts."""

from __future__ import annotations

import json

from clipdex.media.probe import check_media, probe_file
from clipdex.pipeline import registry


class ProbeStage:
    name, version = "probe", "1"
    requires: tuple[str, ...] = ()
    after = ("fetch",)  # URL imports fetch the original first
    produces = ("probe.json",)
    queue = "cpu"

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        with ctx.source_path() as src:
            info = probe_file(src, ctx.settings)
        check_media(info, ctx.tier)
        summary = info.summary()
        v = info.video
        ctx.video_updates.update(duration_s=info.duration_s, media=summary,
                                 width=v.width if v else None, height=v.height if v else None)
        with ctx.scratch_dir() as tmp:
            out = f"{tmp}/probe.json"
            with open(out, "w") as f:
                json.dump(summary, f, indent=1)
            ctx.write_artifact("probe.json", out, "application/json")
        return {"duration_s": info.duration_s, "has_video": v is not None, "has_audio": info.audio is not None}


registry.register(ProbeStage())
