"""Stage ``summarize``: short and long summaries and chapters of a video, from its transcript
(chapter boundaries snapped to the scene cuts when the visual stages ran) -> summary.json."""

from __future__ import annotations

import json
from pathlib import Path

from clipdex.pipeline import registry


def scene_cuts(scenes_doc: dict | None) -> list[float]:
    return sorted(float(sc["start_s"]) for sc in (scenes_doc or {}).get("scenes", []) if float(sc["start_s"]) > 0)


class SummarizeStage:
    name, version = "summarize", "1"
    requires = ("transcribe",)
    after = ("visual", "scenes")  # chapter boundaries snap to scene cuts when those stages are planned too
    produces = ("summary.json",)
    queue = "cpu"

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        if ctx.inputs.get("transcribe", {}).get("skipped"):
            return {"skipped": "no transcript"}
        from clipdex.rag.summarize import summary_document
        from clipdex.search.embed import get_embedder
        from clipdex.speech import transcript as tr

        v = ctx.video
        with ctx.platform.db.tenant(v.tenant_id, readonly=True) as s:
            transcript = tr.load(ctx.platform, s, v.id)
            scenes = (tr.artifact_json(ctx.platform, s, v.id, "scenes", "scenes.json")
                      or tr.artifact_json(ctx.platform, s, v.id, "visual", "scenes.json"))
        ctx.check_alive()
        doc = summary_document(transcript, get_embedder(ctx.settings), duration=v.duration_s,
                               scene_cuts=scene_cuts(scenes), fallback_title=Path(v.filename or "").stem)
        with ctx.scratch_dir() as tmp:
            p = Path(tmp) / "summary.json"
            p.write_text(json.dumps(doc))
            ctx.write_artifact("summary.json", p, "application/json")
        return {"chapters": len(doc["chapters"]), "sentences": doc["sentence_count"]}


registry.register(SummarizeStage())
