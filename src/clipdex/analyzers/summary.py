"""Stage ``summarize``: short and long summaries and chapters of a video, from its transcript
(chapter boundaries snapped to the scene cuts when the visual stages ran) -> summary.json."""

from __future__ import annotations

from pathlib import Path

from clipdex.pipeline.artifacts import Scenes, Summary, VisualScenes, first
from clipdex.pipeline.stage import StageResult
from clipdex.speech.transcript import ReaderTranscript


def scene_cuts(scenes_doc: dict | None) -> list[float]:
    return sorted(float(sc["start_s"]) for sc in (scenes_doc or {}).get("scenes", []) if float(sc["start_s"]) > 0)


class SummarizeStage:
    name, version = "summarize", "1"
    requires = ("transcribe",)
    after = ("visual", "scenes")  # chapter boundaries snap to scene cuts when those stages are planned too
    inputs = (ReaderTranscript, Scenes, VisualScenes)
    outputs = (Summary,)
    queue = "cpu"

    def run(self, ctx):
        transcript = ctx.input(ReaderTranscript)
        if ctx.upstream.get("transcribe", {}).get("skipped") or transcript is None:
            return StageResult.skipped("no transcript")
        from clipdex.rag.summarize import summary_document
        from clipdex.search.embed import get_embedder

        v = ctx.video
        scenes = first(ctx.input(Scenes), ctx.input(VisualScenes))
        doc = summary_document(transcript.doc, get_embedder(ctx.settings), duration=v.duration_s,
                               scene_cuts=scene_cuts(scenes.doc if scenes else None),
                               fallback_title=Path(v.filename or "").stem)
        return StageResult(output={"chapters": len(doc["chapters"]), "sentences": doc["sentence_count"]},
                           artifacts=[Summary(doc)])


STAGE = SummarizeStage()
