"""Diarization error rate (DER), the NIST/pyannote definition, computed on a 10 ms grid.

DER = (missed speech + false alarm + speaker confusion) / total reference speech, where overlap
counts once per speaker: a frame with two reference speakers and one hypothesis speaker misses one.
Reference and hypothesis labels are mapped one-to-one to maximise the time they agree (the Hungarian
method), as pyannote.metrics does. Frames within ``collar`` seconds of a reference turn boundary are
not scored (0.25 s is the usual collar: human boundary marks are not more exact than that).
``pyannote.metrics`` does not install offline here; tests check this against hand-computed cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

STEP_S = 0.01


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class DerResult:
    der: float
    missed_s: float
    false_alarm_s: float
    confusion_s: float
    reference_s: float
    mapping: dict[str, str]  # hypothesis label -> reference label

    def as_dict(self) -> dict:
        return {"der": round(self.der, 4), "missed_s": round(self.missed_s, 3),
                "false_alarm_s": round(self.false_alarm_s, 3), "confusion_s": round(self.confusion_s, 3),
                "reference_s": round(self.reference_s, 3), "mapping": self.mapping}


def turns_of(items: Iterable[dict]) -> list[Turn]:
    """Turns from dicts with ``start``, ``end`` and ``speaker`` (the shape of ``speakers.json``)."""
    return [Turn(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in items]


def _grid(turns: list[Turn], labels: list[str], frames: int) -> np.ndarray:
    """A frames × labels boolean matrix: who speaks in each 10 ms frame."""
    m = np.zeros((frames, len(labels)), dtype=bool)
    index = {lab: i for i, lab in enumerate(labels)}
    for t in turns:
        a, b = round(t.start / STEP_S), round(t.end / STEP_S)
        m[max(0, a):max(0, min(frames, b)), index[t.speaker]] = True
    return m


def _scored(reference: list[Turn], frames: int, collar: float) -> np.ndarray:
    keep = np.ones(frames, dtype=bool)
    c = round(collar / STEP_S)
    if c > 0:
        for t in reference:
            for edge in (round(t.start / STEP_S), round(t.end / STEP_S)):
                keep[max(0, edge - c):max(0, min(frames, edge + c))] = False
    return keep


def _best_mapping(ref: np.ndarray, hyp: np.ndarray) -> list[tuple[int, int]]:
    from scipy.optimize import linear_sum_assignment

    if not ref.shape[1] or not hyp.shape[1]:
        return []
    agree = hyp.T.astype(np.int64) @ ref.astype(np.int64)  # hyp label × ref label: frames both speak
    rows, cols = linear_sum_assignment(-agree)
    return [(int(h), int(r)) for h, r in zip(rows, cols) if agree[h, r] > 0]


def der(reference: list[Turn], hypothesis: list[Turn], collar: float = 0.25) -> DerResult:
    """The diarization error rate of ``hypothesis`` against ``reference`` (labels need not match)."""
    end = max([t.end for t in reference] + [t.end for t in hypothesis] + [0.0])
    frames = round(end / STEP_S) + 1
    ref_labels = sorted({t.speaker for t in reference})
    hyp_labels = sorted({t.speaker for t in hypothesis})
    keep = _scored(reference, frames, collar)
    ref = _grid(reference, ref_labels, frames)[keep]
    hyp = _grid(hypothesis, hyp_labels, frames)[keep]
    pairs = _best_mapping(ref, hyp)
    n_ref, n_hyp = ref.sum(axis=1), hyp.sum(axis=1)
    correct = np.zeros(len(ref), dtype=np.int64)
    for h, r in pairs:
        correct += hyp[:, h] & ref[:, r]
    missed = np.maximum(n_ref - n_hyp, 0).sum()
    false_alarm = np.maximum(n_hyp - n_ref, 0).sum()
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum()
    total = n_ref.sum()
    rate = float((missed + false_alarm + confusion) / total) if total else 0.0
    return DerResult(der=rate, missed_s=missed * STEP_S, false_alarm_s=false_alarm * STEP_S,
                     confusion_s=confusion * STEP_S, reference_s=total * STEP_S,
                     mapping={hyp_labels[h]: ref_labels[r] for h, r in pairs})


def _plain(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


def reference_turns(tagged: list[dict], timed: list[dict]) -> list[Turn]:
    """Reference turns for a corpus file that has speaker-tagged words but no times.

    The reference words are aligned to the transcriber's timed words (difflib on normalised words);
    each reference speaker's run of words spans from its first to its last matched word. Words the
    transcriber missed carry no time and are left out, so the reference covers what can be timed;
    the 0.25 s collar absorbs the word timings' own error.
    """
    import difflib

    ref = [_plain(w["word"]) for w in tagged]
    hyp = [_plain(w["word"]) for w in timed]
    times: dict[int, tuple[float, float]] = {}
    for block in difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            w = timed[block.b + k]
            times[block.a + k] = (float(w["start"]), float(w["end"]))
    turns: list[Turn] = []
    for i, w in enumerate(tagged):
        if i not in times:
            continue
        speaker, (a, b) = str(w["speaker_tag"]), times[i]
        if turns and turns[-1].speaker == speaker:
            turns[-1] = Turn(turns[-1].start, b, speaker)
        else:
            turns.append(Turn(a, b, speaker))
    return turns
