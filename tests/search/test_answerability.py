"""Ask answers only what a sentence actually answers: question type vs. the sentence, a calibrated
relevance floor, and "not found" for sentences that merely share the question's words."""

from __future__ import annotations

import uuid

import pytest

from clipdex.evaluation.answerability import GENERATED
from clipdex.evaluation.search import TALKS
from clipdex.rag.answer import NOT_FOUND_TEXT, answer_from
from clipdex.rag.answerable import judge, question_type
from clipdex.rag.backends import ExtractiveBackend
from clipdex.search.embed import get_embedder
from tests.conftest import make_settings
from tests.search.answer_support import passage

SECRET = "Never read the secret key aloud during the meeting."


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return get_embedder(make_settings(tmp_path_factory.mktemp("emb")))


@pytest.fixture(scope="module")
def talks():
    ids = {t: uuid.uuid4() for t in TALKS}
    ps = [passage(" ".join(lines), ids[t], 20.0 * i) for i, (t, lines) in enumerate(TALKS.items())]
    ps += [passage("System notice.", uuid.uuid4()), passage(SECRET, uuid.uuid4())]
    return ids, ps


def _ask(question, talks, embedder, on=True):
    return answer_from(question, talks[1], ExtractiveBackend(embedder, answerability=on), embedder).public()


def _correct(reply, q, ids) -> bool:
    return (reply["supported"] and str(ids[q.video]) in {str(c["video_id"]) for c in reply["citations"]}
            and any(k.lower() in reply["answer"].lower() for k in q.keywords))


def test_the_issue_examples_are_not_found(talks, embedder):
    for q in ("What is the secret key?", "What does the all hands notice say?"):
        before = _ask(q, talks, embedder, on=False)
        assert before["supported"]  # what the issue saw: a similar sentence passed for an answer
        after = _ask(q, talks, embedder)
        assert after["answer"] == NOT_FOUND_TEXT and not after["supported"] and after["citations"] == []


def test_labelled_questions(talks, embedder):
    ids, _ = talks
    wrong, missed = [], []
    for q in GENERATED:
        r = _ask(q.question, talks, embedder)
        if q.video is None and r["supported"]:
            wrong.append((q.question, r["answer"]))
        elif q.video is not None and not _correct(r, q, ids):
            missed.append(q.question)
    assert wrong == []  # every unanswerable question, hard ones included, is "not found"
    assert len(missed) <= 1, missed  # and the answerable ones keep their answers


@pytest.mark.parametrize("question, kind", [
    ("How many engineers are we hiring?", "quantity"), ("By how much did revenue grow?", "quantity"),
    ("When will the app ship?", "time"), ("Which days are the interviews?", "time"),
    ("Who helps new staff when they join?", "person"), ("Where is the fire exit?", "place"),
    ("What is the secret key?", "define"), ("What problems did testers report?", "general")])
def test_question_types(question, kind):
    assert question_type(question) == kind


def test_the_answer_must_state_what_the_question_asks_for():
    assert judge("When is the launch?", "The launch is planned for March.", 0.9).answers
    assert not judge("When is the launch?", "The launch is planned.", 0.9).answers
    assert judge("How many engineers?", "We hire 3 engineers.", 0.9).answers
    assert not judge("How many engineers are hired?", "Engineers are hired.", 0.9).answers
    assert judge("Who is the apostle of the middle classes?",
                 "Mr. Quilter is the apostle of the middle classes.", 0.9).answers
    assert not judge("Who is the safety officer?", "Report accidents to the safety officer.", 0.9).answers
    assert judge("What is the secret key?", "The secret key is written on the whiteboard.", 0.9).answers
    assert not judge("What is the secret key?", SECRET, 0.9).answers
    assert not judge("When is the launch?", "The launch is planned for March.", 0.2).answers  # too far off
