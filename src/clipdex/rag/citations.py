"""Every sentence of an answer is checked against the spans it cites.

A sentence is *supported* when its content words are found in the cited spans (recall), it means
what one of the cited sentences means (MiniLM cosine), every figure it states (in digits or words)
appears there, and it does not flip the polarity of the sentence it paraphrases. Recall is also
required of each clause, and no run of content words may be missing from the spans, so a short
made-up clause cannot ride through on the average of a long verbatim quote it is glued to. A
sentence that cites nothing, or cites a number it was not given, may be attributed to the one given
span that supports it; otherwise it is flagged and left out of the answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clipdex.rag import text as tx

_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|neither|nor|cannot|without)\b|n't\b", re.IGNORECASE)
_MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass
class Quote:
    """A numbered span a backend is shown and may cite; ``n`` maps back to a video and times server-side."""

    n: int
    video_id: uuid.UUID
    start: float
    end: float
    text: str
    modality: str = "transcript"
    score: float = 0.0
    words: str | None = None  # the index's word timings of the span (JSON [[start, word], ...]), never shown
    video_title: str | None = None  # filled in from the tenant's rows just before the answer goes out

    def public(self) -> dict:
        return {"n": self.n, "video_id": str(self.video_id), "video_title": self.video_title,
                "start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}


@dataclass
class Sentence:
    """One sentence of an answer with the quote numbers it cites and the verdict of the check."""

    text: str
    cites: list[int] = field(default_factory=list)
    supported: bool = False
    recall: float = 0.0
    similarity: float = 0.0
    auto_cited: bool = False

    def public(self) -> dict:
        return {"text": self.text, "citations": list(self.cites), "supported": self.supported}


@dataclass
class SupportOptions:
    min_recall: float = 0.5  # share of the sentence's content words found in its cited spans
    min_similarity: float = 0.45  # MiniLM cosine to the closest cited sentence
    strong_recall: float = 0.85  # nearly verbatim: a lower similarity is enough
    strong_min_similarity: float = 0.3
    clause_min_terms: int = 2  # a clause with this many content words must itself reach ``min_recall``
    max_unsupported_run: int = 2  # content words in a row that the cited spans may lack (paraphrase)


def parse_cited(answer: str) -> list[Sentence]:
    """Sentences of a generated answer with their ``[n]`` markers taken out as citations."""
    text = _MARKER.sub(lambda m: f" [{m.group(1)}]", answer or "")
    # "March. [1] The team" cites the sentence before the marker; "it.Nothing" is two sentences
    text = re.sub(r"([.!?])((?:\s*\[[\d,\s]+\])+)", r"\2\1", text)
    text = re.sub(r"([.!?])(?=[A-Z])", r"\1 ", text)
    out = []
    for raw in tx.split_claims(text):
        cites = [int(n) for m in _MARKER.finditer(raw) for n in m.group(1).split(",")]
        clean = " ".join(_MARKER.sub("", raw).split())
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if clean and tx.words(clean):
            out.append(Sentence(clean, list(dict.fromkeys(cites))))
    if out and not out[-1].cites and len(out) > 1 and not tx.content_terms(out[-1].text):
        out.pop()
    return out


class SupportChecker:
    """Checks sentences against quotes with one batched embedding call."""

    def __init__(self, embedder, opts: SupportOptions | None = None) -> None:
        self.embedder = embedder
        self.opts = opts or SupportOptions()

    def check(self, sentences: Sequence[Sentence], quotes: Sequence[Quote]) -> list[Sentence]:
        by_n = {q.n: q for q in quotes}
        pieces = {q.n: [q.text] + [s for s in tx.split_sentences(q.text) if s != q.text] for q in quotes}
        texts = [s.text for s in sentences] + [p for q in quotes for p in pieces[q.n]]
        vecs = self.embedder.encode(texts) if texts else np.zeros((0, 1), np.float32)
        svec, rest = vecs[: len(sentences)], vecs[len(sentences):]
        qvec, i = {}, 0
        for q in quotes:
            qvec[q.n] = rest[i:i + len(pieces[q.n])]
            i += len(pieces[q.n])
        for k, s in enumerate(sentences):
            s.cites = [n for n in s.cites if n in by_n]  # a number the backend was not given cites nothing
            if s.cites:
                self._judge(s, s.cites, svec[k], by_n, pieces, qvec)
            if not s.supported:
                self._attribute(s, svec[k], by_n, pieces, qvec)
        return list(sentences)

    def _judge(self, s: Sentence, cites: list[int], vec, by_n, pieces, qvec) -> None:
        terms = tx.content_terms(s.text)
        cited = " ".join(by_n[n].text for n in cites)
        have = set(tx.content_terms(cited))
        s.recall = sum(t in have for t in terms) / len(terms) if terms else 0.0
        s.similarity = max(float(np.max(qvec[n] @ vec)) for n in cites)
        best = _closest_piece(vec, cites, pieces, qvec)
        o = self.opts
        figures_ok = tx.figures(s.text) <= tx.figures(cited)
        polarity_ok = bool(_NEGATION.search(s.text)) == bool(_NEGATION.search(best))
        meaning = (s.recall >= o.min_recall and s.similarity >= o.min_similarity) or (
            s.recall >= o.strong_recall and s.similarity >= o.strong_min_similarity)
        s.supported = (bool(terms) and figures_ok and polarity_ok and meaning and self._every_part(s.text, have)
                       and _markup_quoted(s.text, cited))

    def _every_part(self, text: str, have: set[str]) -> bool:
        """No clause and no run of words rides on the rest: each claim of the sentence is found on its own."""
        o = self.opts
        for clause in tx.clauses(text):
            terms = tx.content_terms(clause)
            if len(terms) >= o.clause_min_terms and sum(t in have for t in terms) / len(terms) < o.min_recall:
                return False
        run = 0
        for t in tx.content_terms(text):
            run = 0 if t in have else run + 1
            if run > o.max_unsupported_run:
                return False
        return True

    def _attribute(self, s: Sentence, vec, by_n, pieces, qvec) -> None:
        """An uncited (or wrongly cited) sentence gets the one given span that supports it, if any."""
        if not by_n:
            return
        best = max(by_n, key=lambda n: float(np.max(qvec[n] @ vec)))
        trial = Sentence(s.text, [best])
        self._judge(trial, [best], vec, by_n, pieces, qvec)
        if trial.supported:
            s.cites, s.supported, s.auto_cited = [best], True, True
            s.recall, s.similarity = trial.recall, trial.similarity
        elif not s.cites:
            s.recall, s.similarity = trial.recall, trial.similarity


# Markup in an answer: whole elements (<script>...</script>), lone tags (<img ... >), markdown links.
_MARKUP = re.compile(r"<\s*([a-zA-Z][\w-]*)\b[^>]*>.*?<\s*/\s*\1\s*>|<\s*/?\s*[a-zA-Z][^>]*>|\[[^\]]*\]\([^)]*\)",
                     re.DOTALL)


def _markup_quoted(text: str, cited: str) -> bool:
    """Markup may appear in an answer only as a verbatim quote of the cited words: a model that composes
    its own (an injected instruction obeyed, "<script>alert('answer')</script>") is not supported, even
    when the transcript it cites holds the same tag names and words (issue 18, prompt injection)."""
    def norm(s: str) -> str:
        return " ".join(s.lower().split())

    source = norm(cited)
    return all(norm(m.group(0)) in source for m in _MARKUP.finditer(text))


def _closest_piece(vec, cites: list[int], pieces, qvec) -> str:
    """The cited sentence closest in meaning (a whole multi-sentence span is never the one compared)."""
    best, score = "", -2.0
    for n in cites:
        first = 1 if len(pieces[n]) > 1 else 0
        sims = qvec[n][first:] @ vec
        j = int(np.argmax(sims))
        if float(sims[j]) > score:
            best, score = pieces[n][first + j], float(sims[j])
    return best


def renumber(sentences: list[Sentence], quotes: Sequence[Quote]) -> tuple[list[Sentence], list[Quote]]:
    """Citations of the supported sentences numbered 1..m in order of first use; the rest keep none."""
    by_n = {q.n: q for q in quotes}
    mapping: dict[int, int] = {}
    for s in sentences:
        if s.supported:
            for n in s.cites:
                mapping.setdefault(n, len(mapping) + 1)
    cited = [Quote(**{**by_n[old].__dict__, "n": new}) for old, new in mapping.items()]
    out = [Sentence(s.text, [mapping[n] for n in s.cites] if s.supported else [], s.supported, s.recall,
                    s.similarity, s.auto_cited) for s in sentences]
    return out, cited


def render(sentences: list[Sentence]) -> str:
    """The answer text: the supported sentences, each followed by its citation markers."""
    parts = []
    for s in sentences:
        if s.supported:
            marks = "".join(f"[{n}]" for n in s.cites)
            parts.append(f"{s.text} {marks}" if marks else s.text)
    return " ".join(parts)
