"""Labelled questions for Ask: does the extractive backend answer what the library answers, and say
"not found" for the rest? Scored with the answerability decision off (before) and on (after).

The talks are the generated ones of ``evaluation/search.py`` (known sentences); the corpus questions
are asked only when the corpus is part of the run. Unanswerable questions are mostly hard: they share
words with a sentence of the library that does not answer them ("Who is the safety officer?" next to
"Report every accident to the safety officer").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Labelled:
    question: str
    video: str | None          # label of the video that answers it; None: the library cannot answer it
    keywords: tuple[str, ...] = ()  # one of these must be in a correct answer (case-insensitive)


GENERATED = [
    Labelled("How much did sales increase?", "Quarterly review", ("twelve", "12")),
    Labelled("By how much did revenue grow?", "Quarterly review", ("twelve", "12")),
    Labelled("When does the new enterprise pricing start?", "Quarterly review", ("September",)),
    Labelled("When will the app be released?", "Product launch", ("March",)),
    Labelled("Who will prepare the announcement video?", "Product launch", ("marketing",)),
    Labelled("What problems did beta testers report?", "Product launch", ("login",)),
    Labelled("How many engineers are we hiring?", "Hiring update", ("three", "3")),
    Labelled("Who helps new staff when they join?", "Hiring update", ("mentor",)),
    Labelled("What do new employees get?", "Hiring update", ("mentor",)),
    Labelled("Which days are the job interviews?", "Hiring update", ("Tuesday", "Thursday")),
    Labelled("What should you wear on the construction site?", "Site safety", ("helmet",)),
    Labelled("Where is the emergency way out?", "Site safety", ("elevator",)),
    Labelled("Where is the fire exit?", "Site safety", ("elevator",)),
    Labelled("What should I do after an injury at work?", "Site safety", ("officer",)),
    # not in the library
    Labelled("What is the capital of Australia?", None),
    Labelled("Who won the football world cup in 1998?", None),
    Labelled("What is the recipe for lasagna?", None),
    Labelled("What is the secret key?", None),
    Labelled("What does the all hands notice say?", None),
    # hard: a sentence shares the question's words and does not answer it
    Labelled("Who is the safety officer?", None),
    Labelled("Who leads the marketing team?", None),
    Labelled("How much does the enterprise pricing cost?", None),
    Labelled("When was the elevator installed?", None),
    Labelled("How many beta testers reported problems?", None),
    Labelled("What is the name of the mentor?", None),
    Labelled("Where is the platform team located?", None),
    Labelled("When is the quarterly review meeting?", None),
    Labelled("How long did the login screen problems last?", None),
]

CORPUS = [  # ids of MANIFEST.json entries
    Labelled("Who is the apostle of the middle classes?", "speech_multilingual_leopard_test", ("Quilter",)),
    Labelled("What did the blind man count?", "speech_harvard_OSR_us_000_0034_8k", ("coins",)),
    Labelled("Where was the pink shell found?", "speech_harvard_OSR_us_000_0034_8k", ("beach",)),
    Labelled("When was the Gutenberg Bible printed?", "speech_ljspeech_LJ001_0007", ("fifty", "1455", "14")),
    Labelled("How many coins did the blind man count?", None),
    Labelled("When did the storm tear down the barn?", None),
    Labelled("Who found the pink shell?", None),
    Labelled("What is the price of the gold ring?", None),
]


def labelled_set(labels: set[str]) -> list[Labelled]:
    """The questions on the videos in the library (the corpus's only when the corpus was processed)."""
    corpus = CORPUS if any(q.video in labels for q in CORPUS) else []
    return [q for q in GENERATED + corpus if q.video is None or q.video in labels]


def _correct(reply: dict, q: Labelled, ids: dict[str, uuid.UUID]) -> bool:
    if q.video is None:
        return False
    cited = {str(c["video_id"]) for c in reply["citations"]}
    text = reply["answer"].lower()
    return str(ids[q.video]) in cited and any(k.lower() in text for k in q.keywords)


def score(platform, principal, ids: dict[str, uuid.UUID], *, answerability: bool) -> dict:
    """Precision of the answers given, share of correct "not found"s, and each reply."""
    from clipdex.rag.answer import AnswerOptions, answer_from
    from clipdex.rag.backends import ExtractiveBackend
    from clipdex.rag.service import _passages
    from clipdex.search.embed import get_embedder

    embedder = get_embedder(platform.settings)
    backend = ExtractiveBackend(embedder, answerability=answerability)
    opts = AnswerOptions()
    rows = []
    for q in labelled_set(set(ids)):
        passages = _passages(platform, principal.tenant_id, q.question, [], opts.k)
        reply = answer_from(q.question, passages, backend, embedder, opts=opts).public()
        rows.append({"question": q.question, "answerable": q.video is not None, "answered": reply["supported"],
                     "correct": _correct(reply, q, ids), "answer": reply["answer"][:160]})
    answered = [r for r in rows if r["answered"]]
    absent = [r for r in rows if not r["answerable"]]
    present = [r for r in rows if r["answerable"]]
    return {"questions": len(rows), "answerable": len(present), "unanswerable": len(absent),
            "answer_precision": round(sum(r["correct"] for r in answered) / len(answered), 3) if answered else None,
            "answered": len(answered),
            "not_found_correct": round(sum(not r["answered"] for r in absent) / len(absent), 3) if absent else None,
            "answer_recall": round(sum(r["correct"] for r in present) / len(present), 3) if present else None,
            "details": rows}
