"""Search ranking: how the candidates that full-text and vector search found become one order.

Every weight and relevance cut-off lives in ``Weights`` below, with the reason for its value;
retrieval (``retrieve.py``), moments (``moments.py``), image hits (``images.py``) and the service's
people and glossary boosts call the functions here and keep no numbers of their own. How many
candidates are fetched and when typo tolerance is tried stay in ``retrieve.py``: they decide what
is found, not in which order.

The order, step by step: reciprocal-rank fusion of the full-text and vector lists; candidates that
are only loosely close as vectors dropped; a lexical rerank (share of the query's words, the phrase
verbatim) and a small semantic bonus; on-screen text that shares no query word capped below the
spoken passages that do; hits grouped into moments, with a bonus per independent modality; moments
holding a glossary term the query names boosted. Sorts are stable: equal scores keep the order in
which the candidates were found (full-text before vector).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from clipdex.search.query import WORD, ParsedQuery


@dataclass(frozen=True)
class Weights:
    # Reciprocal-rank fusion constant (Cormack et al., 2009): large enough that the first place of
    # one list does not drown the other list; 60 is the value the method was tuned with.
    rrf_k: int = 60
    # Full-text clause boosts: the query as written counts four times a term matched within 1-2
    # edits, so a typo finds the row without outranking rows that hold the word itself.
    fts_exact_boost: float = 2.0
    fts_fuzzy_boost: float = 0.5
    # A candidate found only as a vector must be at least this close (MiniLM cosine): unrelated
    # sentences score about 0.0-0.15, paraphrases 0.5+, so an absent topic returns nothing.
    min_vector_cos: float = 0.30
    # On-screen text found only as a vector and sharing no query word needs more: MiniLM puts short
    # strings close to anything ("250" is 0.42 from "budget").
    min_ocr_vector_cos: float = 0.5
    # Lexical rerank: score *= 1 + coverage_weight * (share of query words in the row)
    #                             + phrase_weight * (the quoted phrase, or the whole query, verbatim)
    coverage_weight: float = 0.6
    phrase_weight: float = 0.4
    # Semantic bonus per unit of cosine: about one rank-1 RRF share (1/61) at cosine 0.8, so a word
    # shared with an unrelated page does not outrank the meaning.
    semantic_weight: float = 0.02
    # On-screen text with no query word scores at most this share of the weakest spoken passage
    # that has one, with room to spare for the bonus a moment gets per extra modality.
    unmatched_text_cap: float = 0.5
    # A moment found through several independent modalities (speech and text on screen) gains this
    # share of its best hit per modality beyond the first.
    modality_bonus: float = 0.25
    # A moment holding a glossary term the query names ranks this much higher.
    glossary_boost: float = 1.3
    # Image-text hits score image_base * (1 + cosine): below a first-place full-text hit (1/61)
    # for any cosine under 0.64, so a shot the model places near the query ranks among the text
    # hits, not above the ones that say it.
    image_base: float = 0.01


WEIGHTS = Weights()

# Which passage represents a moment (its snippet, speaker and thumbnail): speech first, then
# on-screen text; shot rows only restate the tags and text on screen.
MODALITY_PRIORITY = {"transcript": 0, "ocr": 1, "face": 2, "tag": 3, "sound": 4, "shot": 5}
# Shot rows restate the tags and text on screen: they add no independent evidence to a moment.
NOT_EVIDENCE = frozenset({"shot"})


class Scored(Protocol):
    score: float


S = TypeVar("S", bound=Scored)


@dataclass
class Candidate:
    """One index row on its way through fusion: its RRF sum, the lists that found it, its cosine."""
    row: dict
    rrf: float = 0.0
    kinds: set[str] = field(default_factory=set)
    cos: float | None = None  # similarity to the query vector, when there is one


def rrf_share(rank: int, w: Weights = WEIGHTS) -> float:
    """What a row at 0-based ``rank`` of one result list adds to its fused score."""
    return 1.0 / (w.rrf_k + rank + 1)


def fuse(pool: dict[str, Candidate], rows: list[dict], kind: str, w: Weights = WEIGHTS) -> None:
    """Add one ranked list (``kind``: "fts" or "vector") to ``pool``, keyed by row id."""
    for rank, r in enumerate(rows):
        c = pool.setdefault(r["id"], Candidate(r))
        c.rrf += rrf_share(rank, w)
        c.kinds.add(kind)
        if kind == "vector":
            c.cos = 1.0 - float(r["_distance"])


def coverage(text: str, terms: list[str]) -> float:
    """Share of the distinct query ``terms`` in ``text`` (a longer term also by its first 5 letters)."""
    if not terms:
        return 0.0
    words = set(w.lower() for w in WORD.findall(text))
    hit = sum(1 for t in set(terms) if t in words or any(w.startswith(t[:5]) for w in words if len(t) >= 5))
    return hit / len(set(terms))


def dropped(c: Candidate, terms: list[str], w: Weights = WEIGHTS) -> bool:
    """Too weak to show: a vector-only row below the minimum cosine, or stray on-screen text."""
    if c.kinds == {"vector"} and (c.cos or 0.0) < w.min_vector_cos:
        return True
    return bool(terms) and _stray_text(c, terms, w)


def _stray_text(c: Candidate, terms: list[str], w: Weights) -> bool:
    """On-screen text found only as a vector, sharing no word with the query, that is a number or a
    string only loosely close: a slide's "250" is no answer to "budget"; "Spending plan" still is."""
    row = c.row
    if row["modality"] != "ocr" or c.kinds != {"vector"} or coverage(row["text"], terms) > 0:
        return False
    return (c.cos or 0.0) < w.min_ocr_vector_cos or not any(ch.isalpha() for ch in row["text"])


def score(c: Candidate, pq: ParsedQuery, *, rerank: bool, w: Weights = WEIGHTS) -> tuple[float, float | None]:
    """The candidate's score after the lexical and semantic rerank (plain RRF without ``rerank``),
    and its query-word coverage (None where the lexical rerank did not run)."""
    s, cov = c.rrf, None
    text = c.row["text"]
    if rerank and pq.terms:
        cov = coverage(text, pq.terms)
        phrase = any(p.lower() in text.lower() for p in pq.phrases) or (
            len(pq.terms) > 1 and pq.text.lower() in text.lower())
        s *= 1.0 + w.coverage_weight * cov + w.phrase_weight * phrase
    if rerank and c.cos is not None:
        s += w.semantic_weight * max(0.0, c.cos)
    return s, cov


def cap_unmatched_text(passages: list, coverages: list[float | None], w: Weights = WEIGHTS) -> None:
    """On-screen text that shares no word with the query ("250" for "budget", close only as vectors
    of short strings are close) is capped below every spoken passage that does share one."""
    speech = [p.score for p, cov in zip(passages, coverages) if cov and p.modality == "transcript"]
    if not speech:
        return
    cap = w.unmatched_text_cap * min(speech)
    for p, cov in zip(passages, coverages):
        if cov == 0 and p.modality == "ocr":
            p.score = min(p.score, cap)


def moment_score(passages: list, w: Weights = WEIGHTS) -> float:
    """The best hit's score, plus ``modality_bonus`` of it per independent modality beyond the first."""
    evidence = {p.modality for p in passages} - NOT_EVIDENCE
    return max(p.score for p in passages) * (1.0 + w.modality_bonus * max(0, len(evidence) - 1))


def modality_rank(modality: str) -> int:
    """Position of ``modality`` when choosing the passage that represents a moment (unknown last)."""
    return MODALITY_PRIORITY.get(modality, 9)


def named_person_score(w: Weights = WEIGHTS) -> float:
    """An appearance of a person the query names ranks like a first-place full-text hit that holds
    every query word (the query named them)."""
    return (1.0 + w.coverage_weight) / (w.rrf_k + 1)


def image_score(cos: float, w: Weights = WEIGHTS) -> float:
    """A shot the image-text model places at cosine ``cos`` from the query."""
    return w.image_base * (1 + cos)


def boost_glossary(found: list[S], terms: list[str], w: Weights = WEIGHTS) -> list[S]:
    """Moments whose text holds one of ``terms`` (the tenant's glossary terms the query names) ranked up."""
    low = [t.lower() for t in terms if t.strip()]
    if not low:
        return found
    for m in found:
        if any(t in (p.text or "").lower() for p in m.passages for t in low):
            m.score *= w.glossary_boost
    return best_first(found)


def best_first(items: list[S]) -> list[S]:
    """Highest score first; equal scores keep their order (stable)."""
    return sorted(items, key=lambda x: -x.score)
