"""Stage ``scenes``: the visual stage's scene groups, corrected with the speech in the transcript.

The visual stage groups shots by colour (shots.group_scenes). Speech says more about where a scene
ends than colour does: a cut in the middle of a sentence (a reverse shot in a dialogue, a cutaway
while someone keeps talking) is not a scene change, and a cut that falls in a pause of the speech is
the natural place for one. So, with the word timings of ``transcribe``'s transcript.json:

* a visual scene boundary at a cut inside continuous speech moves to the nearest cut (at most
  ``shift_shots`` shots away, between its neighbouring boundaries, the later one on a tie) that
  falls in a speech pause, or
  goes away (the two scenes merge) when there is none;
* a cut inside a long silence (``split_pause_s``) with speech on both sides within one scene starts a
  new scene (the talk stopped and started again elsewhere).

Without a transcript (speech stages off, no audio) the visual scenes are kept as they are. The
document has the visual stage's shape (``{"scenes": [...]}``), so ``GET /scenes`` is unchanged.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from clipdex.pipeline.artifacts import Scenes, Shots, Transcript, VisualScenes
from clipdex.pipeline.stage import StageResult

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")


@dataclass
class SceneSpeechOptions:
    tol_s: float = 0.15  # a cut this close to a word's edge is at that edge (cut and word times jitter)
    pause_s: float = 0.5  # silence at a cut at least this long is a pause
    sentence_pause_s: float = 0.25  # ... or this long after a sentence-ending word
    continuous_gap_s: float = 0.35  # words closer than this (mid-sentence) are continuous speech
    split_pause_s: float = 2.0  # a cut in a silence this long, speech on both sides, starts a scene
    shift_shots: int = 2


class SpeechTimeline:
    """Word timings sorted by start; answers "what is the speech doing at time t"."""

    def __init__(self, words: list[dict], opts: SceneSpeechOptions) -> None:
        ws = sorted((float(w["start"]), float(w["end"]), str(w.get("word", "")).strip())
                    for w in words if w.get("end") is not None and w.get("start") is not None)
        self.words = ws
        self.starts = [w[0] for w in ws]
        self.opts = opts

    def _around(self, t: float) -> tuple[tuple | None, tuple | None, bool]:
        """(last word ending by ``t``, first word starting from ``t``, a word straddles ``t``)."""
        tol = self.opts.tol_s
        i = bisect_left(self.starts, t - tol)  # words[i:] start at or after t - tol
        nxt = self.words[i] if i < len(self.words) else None
        prev = None
        straddle = False
        for w in self.words[max(0, i - 8):i]:  # words starting before t - tol (look back a little)
            if w[1] > t + tol:
                straddle = True
            if prev is None or w[1] > prev[1]:
                prev = w
        return prev, nxt, straddle

    def gap(self, t: float) -> float:
        """Length of the silence ``t`` falls in (0 inside a word; inf before the first/after the last)."""
        prev, nxt, straddle = self._around(t)
        if straddle:
            return 0.0
        if prev is None or nxt is None:
            return float("inf")
        return max(0.0, nxt[0] - prev[1])

    def _sentence_end(self, t: float) -> bool:
        prev, _, _ = self._around(t)
        return prev is not None and prev[2].endswith(_SENTENCE_END)

    def continuous(self, t: float) -> bool:
        """``t`` is inside a word or a short gap in the middle of a sentence."""
        g = self.gap(t)
        return g == 0.0 or (g < self.opts.continuous_gap_s and not self._sentence_end(t))

    def pause(self, t: float) -> bool:
        g = self.gap(t)
        return g >= self.opts.pause_s or (g >= self.opts.sentence_pause_s and self._sentence_end(t))

    def speech_between(self, a: float, b: float) -> bool:
        return any(w[0] < b and w[1] > a for w in self.words[max(0, bisect_left(self.starts, a) - 8):
                                                             bisect_left(self.starts, b)])


def regroup(shots: list[dict], scenes: list[dict], words: list[dict],
            opts: SceneSpeechOptions | None = None) -> list[dict]:
    """Scenes (same shape as the visual stage's) from ``shots``, the visual ``scenes`` and ``words``."""
    opts = opts or SceneSpeechOptions()
    if not shots:
        return []
    visual = sorted({int(sc["shots"][0]) for sc in scenes if sc.get("shots")} - {0})
    if not words:
        bounds = visual
    else:
        sp = SpeechTimeline(words, opts)
        cut = [float(s["start_s"]) for s in shots]
        bounds = []
        for n, b in enumerate(visual):
            if not sp.continuous(cut[b]):
                bounds.append(b)
                continue
            lo = (bounds[-1] if bounds else 0) + 1
            hi = (visual[n + 1] if n + 1 < len(visual) else len(shots)) - 1
            near = [j for j in range(max(lo, b - opts.shift_shots), min(hi, b + opts.shift_shots) + 1)
                    if j != b and sp.pause(cut[j]) and not sp.continuous(cut[j])]
            if near:
                # nearest first; on a tie after the sentence (the talk finishes, then the scene changes)
                bounds.append(min(near, key=lambda j: (abs(j - b), j < b)))
            # else: the cut is mid-sentence and no pause is near: the scenes merge
        edges = [0] + bounds + [len(shots)]
        split = []
        for a, z in zip(edges, edges[1:]):
            start_s, end_s = float(shots[a]["start_s"]), float(shots[z - 1]["end_s"])
            for j in range(a + 1, z):
                if (sp.gap(cut[j]) >= opts.split_pause_s and sp.speech_between(start_s, cut[j])
                        and sp.speech_between(cut[j], end_s)):
                    split.append(j)
                    start_s = cut[j]
        bounds = sorted(set(bounds) | set(split))
    edges = [0] + bounds + [len(shots)]
    out = []
    for i, (a, z) in enumerate(zip(edges, edges[1:])):
        members = shots[a:z]
        out.append({"index": i, "start_s": members[0]["start_s"], "end_s": members[-1]["end_s"],
                    "start_frame": members[0]["start_frame"], "end_frame": members[-1]["end_frame"],
                    "shots": [int(s["index"]) for s in members], "keyframe": members[0].get("keyframe")})
    return out


class ScenesStage:
    name, version = "scenes", "1"
    requires = ("visual",)
    after = ("transcribe",)  # use the transcript when transcription is planned for the job
    inputs = (Shots, VisualScenes, Transcript)
    outputs = (Scenes,)
    queue = "cpu"

    def run(self, ctx):
        if ctx.upstream.get("visual", {}).get("skipped"):
            return StageResult.skipped("no visual analysis")
        shots, visual = ctx.input(Shots), ctx.input(VisualScenes)
        if shots is None or visual is None:
            return StageResult.skipped("no shots")
        transcript = ctx.input(Transcript)
        words = transcript.words() if transcript else []
        scenes = regroup(shots.doc["shots"], visual.doc["scenes"], words)
        return StageResult(
            output={"scenes": len(scenes), "visual_scenes": len(visual.doc["scenes"]), "speech_words": len(words)},
            artifacts=[Scenes({"scenes": scenes, "speech_words": len(words)})])


STAGE = ScenesStage()
