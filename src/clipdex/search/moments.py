"""From ranked index rows to moments: hits of one video that overlap in time become one moment.

A moment found through speech and on-screen text at once ranks above one found by either alone.
Its start is the first matching spoken word when the words are known (a 16-second transcript
window would otherwise put the user up to 16 seconds early), and its snippet is cut around the
match with character ranges to highlight.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid
from dataclasses import dataclass, field

from clipdex.search import rank
from clipdex.search.query import ParsedQuery
from clipdex.search.retrieve import Passage

GAP_S = 2.0  # hits of one video this close in time are one moment
SNIPPET_CHARS = 220
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass
class Moment:
    video_id: uuid.UUID
    start: float
    end: float
    score: float
    passages: list[Passage] = field(default_factory=list)

    @property
    def modalities(self) -> list[str]:
        return sorted({p.modality for p in self.passages}, key=rank.modality_rank)

    @property
    def best(self) -> Passage:
        return min(self.passages, key=lambda p: (rank.modality_rank(p.modality), -p.score))


def merge(passages: list[Passage]) -> list[Moment]:
    """Group overlapping hits per video (greedy, best first), each scored by ``rank.moment_score``."""
    moments: list[Moment] = []
    for p in rank.best_first(passages):
        home = next((m for m in moments if m.video_id == p.video_id
                     and p.start <= m.end + GAP_S and m.start <= p.end + GAP_S), None)
        if home is None:
            moments.append(Moment(p.video_id, p.start, p.end, p.score, [p]))
            continue
        home.passages.append(p)
        if p.modality == "transcript" or home.best is p:
            home.start, home.end = min(home.start, p.start), max(home.end, p.end)
    for m in moments:
        m.score = rank.moment_score(m.passages)
    return rank.best_first(moments)


def _similar(word: str, term: str) -> bool:
    if word == term or (len(term) >= 5 and word.startswith(term[:5])):
        return True
    return len(term) >= 5 and difflib.SequenceMatcher(None, word, term).ratio() >= 0.8


def refine_start(m: Moment, pq: ParsedQuery) -> float:
    """The time of the first word of the best transcript hit that matches the query."""
    for p in sorted((p for p in m.passages if p.modality == "transcript" and p.words), key=lambda p: -p.score):
        words = [(pair[0], pair[1].lower().strip(".,!?;:'\"")) for pair in json.loads(p.words)]
        first = phrase_start(words, pq) or next((t for t, w in words if any(_similar(w, q) for q in pq.terms)), None)
        if first is not None:
            return max(0.0, round(first - 0.3, 2))
        return p.start
    return m.start


def phrase_start(words: list[tuple[float, str]], pq: ParsedQuery) -> float | None:
    for phrase in pq.phrases or ([" ".join(pq.terms)] if len(pq.terms) > 1 else []):
        target = [t.lower() for t in _TOKEN.findall(phrase)]
        for i in range(len(words) - len(target) + 1):
            if all(_similar(words[i + j][1], target[j]) for j in range(len(target))):
                return words[i][0]
    return None


def snippet(text: str, pq: ParsedQuery) -> tuple[str, list[list[int]]]:
    """The text around the first match (at most SNIPPET_CHARS) and the [start, end) ranges to highlight."""
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)
             if any(_similar(m.group().lower(), t) for t in pq.terms)]
    lo = 0
    if len(text) > SNIPPET_CHARS and spans:
        lo = max(0, spans[0][0] - SNIPPET_CHARS // 3)
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
    cut = text[lo:lo + SNIPPET_CHARS]
    prefix = "…" if lo > 0 else ""
    suffix = "…" if lo + SNIPPET_CHARS < len(text) else ""
    shift = len(prefix) - lo
    marks = [[a + shift, b + shift] for a, b in spans if a >= lo and b <= lo + SNIPPET_CHARS]
    return prefix + cut + suffix, marks
