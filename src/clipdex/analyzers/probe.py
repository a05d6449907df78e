"""Stage ``probe``: re-probe the stored original in the worker and record its media facts."""

from __future__ import annotations

from clipdex.media.probe import check_media, probe_file
from clipdex.pipeline.artifacts import Probe
from clipdex.pipeline.stage import StageResult


class ProbeStage:
    name, version = "probe", "1"
    requires: tuple[str, ...] = ()
    after = ("fetch",)  # URL imports fetch the original first
    inputs = ()
    outputs = (Probe,)
    queue = "cpu"

    def run(self, ctx):
        with ctx.source_path() as src:
            info = probe_file(src, ctx.settings)
        check_media(info, ctx.tier)
        summary = info.summary()
        v = info.video
        return StageResult(
            output={"duration_s": info.duration_s, "has_video": v is not None, "has_audio": info.audio is not None},
            artifacts=[Probe(summary)],
            video={"duration_s": info.duration_s, "media": summary,
                   "width": v.width if v else None, "height": v.height if v else None})


STAGE = ProbeStage()
