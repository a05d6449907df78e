"""Summaries: per video (short and long, extractive: the transcript's most central sentences, not
repeating each other) and query-focused across the library (an answer of kind "summary": cited and
verified sentence by sentence like any answer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clipdex.rag import chapters as chap
from clipdex.rag import text as tx
from clipdex.rag.answer import Answer, AnswerOptions, answer_from
from clipdex.rag.backends import AnswerBackend, mmr

SUMMARY_VERSION = "1"


@dataclass
class SummaryOptions:
    short_sentences: int = 2
    short_chars: int = 320
    long_share: float = 0.2  # of the transcript's sentences
    long_min: int = 3
    long_max: int = 10
    long_chars: int = 2000
    min_words: int = 4  # shorter sentences ("Thanks.") never summarise anything


def _pick(vecs: np.ndarray, eligible: list[int], k: int, chars: int, sentences) -> list[int]:
    """The ``k`` most central eligible sentences (MMR against the centroid), within ``chars``, in time order."""
    if not eligible:
        return []
    sub = vecs[eligible]
    centroid = sub.mean(0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
    order = [eligible[i] for i in mmr(sub @ centroid, sub, k, lam=0.7)]
    out, used = [], 0
    for i in order:
        n = len(sentences[i].text) + 1
        if out and used + n > chars:
            continue
        out.append(i)
        used += n
    return sorted(out)


def video_summary(sentences: list[tx.TimedSentence], vecs: np.ndarray, opts: SummaryOptions | None = None) -> dict:
    """``{"short", "long", "sentences"}`` of one transcript (pure; sentences carry their times)."""
    opts = opts or SummaryOptions()
    eligible = [i for i, s in enumerate(sentences) if len(tx.words(s.text)) >= opts.min_words] or \
        list(range(len(sentences)))
    k_long = min(opts.long_max, max(opts.long_min, round(len(eligible) * opts.long_share)))
    short = _pick(vecs, eligible, opts.short_sentences, opts.short_chars, sentences)
    long = _pick(vecs, eligible, k_long, opts.long_chars, sentences)
    return {"short": " ".join(sentences[i].text for i in short),
            "long": " ".join(sentences[i].text for i in long),
            "sentences": [{"text": sentences[i].text, "start": round(sentences[i].start, 3),
                           "end": round(sentences[i].end, 3), "in_short": i in short} for i in long]}


def summary_document(transcript: dict, embedder, *, duration: float | None, scene_cuts: list[float],
                     fallback_title: str = "") -> dict:
    """summary.json: short and long summaries and chapters of one video's transcript."""
    sentences = tx.transcript_sentences(transcript)
    vecs = embedder.encode([s.text for s in sentences])
    doc = video_summary(sentences, vecs) if sentences else {"short": "", "long": "", "sentences": []}
    doc["chapters"] = [c.public() for c in chap.chapters(sentences, vecs, duration, scene_cuts,
                                                          fallback_title=fallback_title, embed=embedder.encode)]
    doc.update(version=SUMMARY_VERSION, embedder=getattr(embedder, "name", ""), sentence_count=len(sentences))
    return doc


def query_summary(query: str, passages: Sequence, backend: AnswerBackend, embedder) -> Answer:
    """What the library says about ``query``: up to five cited sentences, each verified."""
    opts = AnswerOptions(k=30, max_quotes=8, max_sentences=5)
    return answer_from(query, passages, backend, embedder, kind="summary", opts=opts)
