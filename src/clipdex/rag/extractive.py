"""The default answer backend: no generative model, the quote sentences closest to the query."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipdex.rag import answerable
from clipdex.rag import text as tx
from clipdex.rag.citations import Quote, Sentence
from clipdex.rag.protocol import Task


@dataclass
class ExtractiveBackend:
    """No generative model: the quote sentences closest to the query, each citing its quote."""

    embedder: object
    name: str = "extractive"
    answerability: bool = True  # off only to measure what the decision changes (clipdex eval search)

    def draft(self, task: Task, quotes: list[Quote]) -> list[Sentence]:
        cands = [(q.n, s) for q in quotes for s in tx.split_sentences(q.text) if tx.content_terms(s)]
        if not cands:
            return []
        vecs = self.embedder.encode([task.query] + [s for _, s in cands])
        qv, sv = vecs[0], vecs[1:]
        qterms = set(tx.content_terms(task.query))
        rel = np.array([float(sv[i] @ qv) + 0.3 * _coverage(qterms, s) for i, (_, s) in enumerate(cands)])
        if task.kind == "answer" and self.answerability:  # similar to the question is not an answer
            keep = [i for i, (_, s) in enumerate(cands) if answerable.judge(task.query, s, float(rel[i])).answers]
            if not keep:
                return []
            cands, sv, rel = [cands[i] for i in keep], sv[keep], rel[keep]
        picked = mmr(rel, sv, task.max_sentences, lam=0.7)
        if not picked:
            return []
        floor = rel[picked[0]] * (0.75 if task.kind == "answer" else 0.5)  # keep only near-best company
        picked = [i for i in picked if rel[i] >= floor]
        if task.kind == "summary":
            order = {q.n: (str(q.video_id), q.start) for q in quotes}
            picked.sort(key=lambda i: (order[cands[i][0]], i))
        return [Sentence(cands[i][1], [cands[i][0]]) for i in picked]


def _coverage(qterms: set[str], sentence: str) -> float:
    return len(qterms & set(tx.content_terms(sentence))) / len(qterms) if qterms else 0.0


def mmr(relevance: np.ndarray, vecs: np.ndarray, k: int, lam: float = 0.7, min_gap: float = 0.92) -> list[int]:
    """Maximal marginal relevance: relevant picks that do not repeat each other (near-duplicates skipped)."""
    chosen: list[int] = []
    left = list(range(len(relevance)))
    while left and len(chosen) < k:
        def score(i: int) -> float:
            red = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
            return lam * float(relevance[i]) - (1 - lam) * red
        best = max(left, key=score)
        left.remove(best)
        if any(float(vecs[best] @ vecs[j]) >= min_gap for j in chosen):
            continue
        chosen.append(best)
    return chosen
