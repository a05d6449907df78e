"""Stage ``speaking_rate``: how fast people speak in a video, in words per minute.

Reads the ``Transcript`` (declared in ``inputs``, loaded and handed in by clipdex's runner) and
returns a ``SpeakingRate`` document; the runner stores it inside the stage's lease-fenced commit.
Rates are over *speech time* where it matters: a minute with ten seconds of talk at a normal pace
is a normal pace, not a slow one.
"""

from __future__ import annotations

from clipdex.pipeline.artifacts import JsonArtifact, Transcript
from clipdex.pipeline.stage import StageResult

WINDOW_S = 60.0


class SpeakingRate(JsonArtifact):
    """``{"words", "speech_s", "wpm", "minutes": [...], "segments": [...]}``."""

    stage, name = "speaking_rate", "speaking_rate.json"


def _rate(words: int, seconds: float) -> float | None:
    return round(words * 60.0 / seconds, 1) if seconds > 0 else None


def speaking_rate(doc: dict, window_s: float = WINDOW_S) -> dict:
    """Words per minute overall, per ``window_s`` of the video and per segment of a transcript document."""
    segments = [s for s in doc.get("segments") or [] if s.get("words")]
    words = [w for s in segments for w in s["words"]]
    speech_s = sum(max(0.0, s["end"] - s["start"]) for s in segments)
    windows: dict[int, list] = {}
    for w in words:  # a word belongs to the window it starts in
        windows.setdefault(int(w["start"] // window_s), []).append(w)
    minutes = []
    for i, ws in sorted(windows.items()):
        talk = sum(max(0.0, w["end"] - w["start"]) for w in ws)
        minutes.append({"start_s": i * window_s, "end_s": (i + 1) * window_s, "words": len(ws),
                        "speech_s": round(talk, 3), "wpm": _rate(len(ws), talk)})
    per_segment = [{"index": s.get("index", i), "start_s": s["start"], "end_s": s["end"], "words": len(s["words"]),
                    "wpm": _rate(len(s["words"]), s["end"] - s["start"])} for i, s in enumerate(segments)]
    return {"version": 1, "words": len(words), "speech_s": round(speech_s, 3), "wpm": _rate(len(words), speech_s),
            "window_s": window_s, "minutes": minutes, "segments": per_segment}


class SpeakingRateStage:
    name, version = "speaking_rate", "1"
    requires = ("transcribe",)  # planned only with transcription, and after it
    inputs = (Transcript,)
    outputs = (SpeakingRate,)
    queue = "cpu"

    def run(self, ctx):
        transcript = ctx.input(Transcript)
        if transcript is None:
            return StageResult.skipped("no transcript")
        doc = speaking_rate(transcript.doc)
        return StageResult(output={"words": doc["words"], "wpm": doc["wpm"]},
                           artifacts=[SpeakingRate(doc, meta={"wpm": doc["wpm"]})])


STAGE = SpeakingRateStage()
