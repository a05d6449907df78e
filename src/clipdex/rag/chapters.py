"""Chapters: topic shifts in the transcript (TextTiling depth scores over MiniLM sentence windows),
snapped to a nearby scene cut, titled by the key phrases that set each chapter apart from the rest.

Chapters cover the video without gaps: the first starts at 0, the last ends at the video's end.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from clipdex.rag import text as tx


@dataclass
class ChapterOptions:
    window: int = 3  # sentences on each side of a gap
    min_sentences: int = 3  # per chapter
    min_seconds: float = 20.0  # per chapter
    min_depth: float = 0.25  # a shallower valley in similarity is not a topic change
    max_chapters: int = 30
    snap_s: float = 4.0  # move a boundary to a scene cut this close (never into a sentence)
    title_phrases: int = 2
    title_candidates: int = 20
    title_chars: int = 60


@dataclass
class Chapter:
    title: str
    start: float
    end: float

    def public(self) -> dict:
        return {"title": self.title, "start": round(self.start, 3), "end": round(self.end, 3)}


def gap_similarity(vecs: np.ndarray, window: int) -> np.ndarray:
    """Cosine between the mean of ``window`` sentences before each gap and of ``window`` after it."""
    sims = np.zeros(max(len(vecs) - 1, 0), np.float32)
    for g in range(1, len(vecs)):
        a = vecs[max(0, g - window):g].mean(0)
        b = vecs[g:g + window].mean(0)
        sims[g - 1] = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))
    return sims


def depth_scores(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth: how far each gap's similarity lies below the peaks on both sides of it."""
    depth = np.zeros_like(sims)
    for i, s in enumerate(sims):
        left = i
        while left > 0 and sims[left - 1] >= sims[left]:
            left -= 1
        right = i
        while right < len(sims) - 1 and sims[right + 1] >= sims[right]:
            right += 1
        depth[i] = (sims[left] - s) + (sims[right] - s)
    return depth


def boundaries(sentences: list[tx.TimedSentence], vecs: np.ndarray, opts: ChapterOptions) -> list[int]:
    """Indices of the sentences that start a new chapter (deepest valleys first, spaced out)."""
    n = len(sentences)
    if n < 2 * opts.min_sentences:
        return []
    sims = gap_similarity(vecs, opts.window)
    depth = depth_scores(sims)
    valleys = [g for g in range(len(sims)) if (g == 0 or sims[g] <= sims[g - 1])
               and (g == len(sims) - 1 or sims[g] <= sims[g + 1])]
    if not valleys:
        return []
    d = depth[valleys]
    # TextTiling's conservative cutoff: its liberal one (mean - sd/2) splits short talks on one topic
    cutoff = max(opts.min_depth, float(d.mean() + d.std() / 2))
    chosen: list[int] = []
    for g in sorted(valleys, key=lambda g: -depth[g]):
        if depth[g] < cutoff or len(chosen) >= opts.max_chapters - 1:
            break
        b = g + 1  # the gap after sentence g: sentence g+1 starts the chapter
        edges = sorted(chosen + [0, n])
        lo = max(e for e in edges if e < b) if any(e < b for e in edges) else 0
        hi = min(e for e in edges if e > b)
        if b - lo < opts.min_sentences or hi - b < opts.min_sentences:
            continue
        if _span(sentences, lo, b) < opts.min_seconds or _span(sentences, b, hi) < opts.min_seconds:
            continue
        chosen.append(b)
    return sorted(chosen)


def _span(sentences: list[tx.TimedSentence], a: int, b: int) -> float:
    return sentences[b - 1].end - sentences[a].start


def boundary_time(sentences: list[tx.TimedSentence], b: int, cuts: list[float], snap_s: float) -> float:
    """Between the two sentences, at a scene cut when one is close and does not fall inside a sentence."""
    prev, nxt = sentences[b - 1], sentences[b]
    t = (prev.end + nxt.start) / 2
    near = [c for c in cuts if abs(c - t) <= snap_s and prev.end - 0.2 <= c <= nxt.start + 0.2]
    if not near:  # a cut inside the neighbouring sentences still beats none when speech runs on
        near = [c for c in cuts if abs(c - t) <= snap_s / 2 and prev.start < c < nxt.end]
    return min(near, key=lambda c: abs(c - t)) if near else t


def titles(groups: list[list[str]], opts: ChapterOptions, embed=None) -> list[str]:
    """A title per group of sentences: its key phrases, weighted against the other groups (tf-idf) and,
    given ``embed``, by how close each phrase is to what the whole group says (KeyBERT-style)."""
    counts = [_phrases(" ".join(g)) for g in groups]
    df = Counter(p for c in counts for p in c)
    out = []
    for gi, c in enumerate(counts):
        base = {p: c[p] * (math.log((1 + len(groups)) / (1 + df[p])) + 1) * (1.5 if " " in p and c[p] > 1 else 1.0)
                for p in c}
        ranked = sorted(base, key=lambda p: -base[p])[:opts.title_candidates]
        if embed is not None and ranked:
            # the group's text as one passage (what it is about); phrases apart, so they are not padded to it
            vecs, centre = embed(ranked), embed([" ".join(groups[gi])])[0]
            top = max(base.values())
            score = {p: 0.5 * base[p] / top + float(vecs[i] @ centre) for i, p in enumerate(ranked)}
            ranked.sort(key=lambda p: -score[p])
        picked: list[str] = []
        for p in ranked:
            if any(set(p.split()) & set(q.split()) for q in picked):
                continue
            picked.append(p)
            if len(picked) >= opts.title_phrases:
                break
        out.append(_title(picked, opts.title_chars))
    return out


def _phrases(text: str) -> Counter:
    """Content words and two-word phrases of content words (surface forms, lowercased)."""
    out: Counter = Counter()
    for sentence in tx.split_sentences(text):
        ws = tx.words(sentence)
        keep = [w if (w not in tx.STOPWORDS and len(w) > 2 and not w.isdigit()) else None for w in ws]
        for i, w in enumerate(keep):
            if w:
                out[w] += 1
                if i + 1 < len(keep) and keep[i + 1]:
                    out[f"{w} {keep[i + 1]}"] += 1
    return out


def _title(phrases: list[str], limit: int) -> str:
    if not phrases:
        return ""
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return (text[0].upper() + text[1:])[:limit].rstrip()


def chapters(sentences: list[tx.TimedSentence], vecs: np.ndarray, duration: float | None,
             cuts: list[float] | None = None, opts: ChapterOptions | None = None,
             fallback_title: str = "", embed=None) -> list[Chapter]:
    """Chapters covering [0, duration] from timed sentences and their embeddings (pure)."""
    opts = opts or ChapterOptions()
    end = max([duration or 0.0] + [s.end for s in sentences])
    if not sentences:
        return [Chapter(fallback_title, 0.0, end)] if end > 0 else []
    bs = boundaries(sentences, vecs, opts)
    times = [0.0] + [boundary_time(sentences, b, sorted(cuts or []), opts.snap_s) for b in bs] + [end]
    groups = [[s.text for s in sentences[a:z]] for a, z in zip([0] + bs, bs + [len(sentences)])]
    names = titles(groups, opts, embed)
    return [Chapter(names[i] or fallback_title, times[i], times[i + 1]) for i in range(len(groups))]
