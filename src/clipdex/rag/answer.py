"""Ask: retrieve the tenant's passages -> keep those that answer -> backend -> verify every sentence.

When no passage actually answers the question (weak similarity and few of the question's words), or
the backend's sentences all fail verification, the reply says so instead of inventing an answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clipdex.rag import text as tx
from clipdex.rag.backends import AnswerBackend, Task
from clipdex.rag.citations import Quote, Sentence, SupportChecker, render, renumber

NOT_FOUND_TEXT = "I could not find this in your library."


@dataclass
class AnswerOptions:
    k: int = 20  # passages retrieved
    max_quotes: int = 6  # passages shown to the backend
    min_similarity: float = 0.45  # MiniLM cosine of question and passage (or one of its sentences) ...
    min_similarity_with_terms: float = 0.3  # ... or this much together with
    min_coverage: float = 0.5  # this share of the question's content words in the passage
    max_sentences: int = 3


@dataclass
class Answer:
    answer: str
    citations: list[Quote] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    supported: bool = False
    backend: str = "extractive"

    def public(self) -> dict:
        return {"answer": self.answer, "citations": [q.public() for q in self.citations],
                "supported": self.supported, "sentences": [s.public() for s in self.sentences],
                "backend": self.backend}


def not_found(backend: str, sentences: list[Sentence] | None = None) -> Answer:
    return Answer(NOT_FOUND_TEXT, [], [Sentence(s.text, [], False) for s in sentences or []], False, backend)


def relevance(query: str, passages: Sequence, embedder) -> list[tuple[float, float]]:
    """(similarity, coverage) of each passage to the query: best of the passage and its sentences."""
    pieces = [[p.text] + tx.split_sentences(p.text)[:20] for p in passages]
    flat = [t for ps in pieces for t in ps]
    if not flat:
        return []
    vecs = embedder.encode([query] + flat)
    qv, rest = vecs[0], vecs[1:]
    qterms = set(tx.content_terms(query))
    out, i = [], 0
    for p, ps in zip(passages, pieces):
        sim = float(np.max(rest[i:i + len(ps)] @ qv))
        i += len(ps)
        cov = len(qterms & set(tx.content_terms(p.text))) / len(qterms) if qterms else 0.0
        out.append((sim, cov))
    return out


def select_quotes(query: str, passages: Sequence, embedder, opts: AnswerOptions) -> list[Quote]:
    """The passages that plausibly answer ``query``, best first, numbered 1..n (none: not found)."""
    scored = []
    for p, (sim, cov) in zip(passages, relevance(query, passages, embedder)):
        if sim >= opts.min_similarity or (sim >= opts.min_similarity_with_terms and cov >= opts.min_coverage):
            scored.append((sim + 0.3 * cov, p))
    scored.sort(key=lambda x: -x[0])
    quotes, seen = [], set()
    for score, p in scored:
        key = (p.video_id, round(float(p.start), 1), p.text)
        if key in seen:
            continue
        seen.add(key)
        quotes.append(Quote(len(quotes) + 1, p.video_id, float(p.start), float(p.end), p.text,
                            getattr(p, "modality", "transcript"), round(score, 4), getattr(p, "words", None)))
        if len(quotes) >= opts.max_quotes:
            break
    return quotes


def answer_from(query: str, passages: Sequence, backend: AnswerBackend, embedder, *, kind: str = "answer",
                opts: AnswerOptions | None = None) -> Answer:
    """The verified answer to ``query`` from ``passages`` (pure: no database, no index)."""
    opts = opts or AnswerOptions()
    query = tx.expand_query(query)
    quotes = select_quotes(query, passages, embedder, opts)
    if not quotes:
        return not_found(backend.name)
    drafted = backend.draft(Task(kind, query, opts.max_sentences), quotes)
    checker = SupportChecker(embedder)
    checked, name = checker.check(drafted, quotes), backend.name
    if drafted and not any(s.supported for s in checked) and backend.name != "extractive":
        # The model answered, but its wording failed the check (an invented year, say), while the
        # library holds passages that match the question: answer with those passages themselves.
        # A model that explicitly says the passages do not answer is believed.
        from clipdex.rag.backends import ExtractiveBackend

        rejected = [Sentence(x.text, x.cites, False) for x in checked]
        checked = checker.check(ExtractiveBackend(embedder).draft(Task(kind, query, opts.max_sentences), quotes),
                                quotes)
        name = f"extractive (fallback from {backend.name})"
        if not any(s.supported for s in checked):
            return not_found(backend.name, rejected)
        checked = rejected + checked
    elif not any(s.supported for s in checked):
        return not_found(backend.name, checked)
    sentences, cited = renumber(checked, quotes)
    return narrow(Answer(render(sentences), cited, sentences, True, name))


# --- narrowing citations to the sentence that was used -------------------------------------------

def _timed(q: Quote) -> list[tx.TimedSentence]:
    try:
        pairs = json.loads(q.words) if q.words else []
    except ValueError:
        return []
    return tx.sentences_from_word_starts(pairs, q.end)


def narrow(answer: Answer) -> Answer:
    """Shrink each transcript citation to the one sentence of its span that supports the answer's
    sentences, when that sentence holds every supporting word the whole span held."""
    for q in answer.citations:
        timed = _timed(q)
        users = [s for s in answer.sentences if q.n in s.cites]
        if len(timed) < 2 or not users:
            continue
        need = set().union(*(set(tx.content_terms(s.text)) for s in users)) & set(tx.content_terms(q.text))
        best = max(timed, key=lambda t: len(need & set(tx.content_terms(t.text))))
        if need and need <= set(tx.content_terms(best.text)):
            q.start, q.end, q.text = best.start, best.end, best.text
    return answer
