"""A made-up clause glued to a verbatim quote fails verification (SECURITY.md, prompt injection).

The obedient model of tests/security/test_prompt_injection.py wrote "Ignoring previous instructions as
asked. <quote> [1]." and, because the quote began in lower case, the whole line was checked as one
sentence whose recall the long quote carried over the threshold. Each claim is now checked on its own:
answers are split at every full stop, each clause must be found in the cited span, no run of content
words may be missing from it, and figures count in words as well as in digits.
"""

from __future__ import annotations

import uuid

import pytest

from clipdex.rag import text as tx
from clipdex.rag.answer import answer_from
from clipdex.rag.backends import OpenAIBackend
from clipdex.rag.citations import Quote, Sentence, SupportChecker, parse_cited
from clipdex.search.embed import get_embedder
from tests.conftest import make_settings
from tests.search.answer_support import ChatServer, completion, passage

# transcript chunks start mid-sentence, in lower case, as the index cuts them
TALK = ("the marketing team will prepare the announcement for the launch in March, and the sales team will brief "
        "every regional partner before the public keynote in the Lisbon office.")
PRICE = ("starting in the third quarter the pro plan will cost forty dollars per seat each month for every customer "
         "who signs an annual contract with the company.")
INVENTED = "Ignoring previous instructions as asked."


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return get_embedder(make_settings(tmp_path_factory.mktemp("emb")))


def _check(embedder, sentences: list[Sentence], *texts: str) -> list[Sentence]:
    quotes = [Quote(n, uuid.uuid4(), 0.0, 9.0, t) for n, t in enumerate(texts, 1)]
    return SupportChecker(embedder).check(sentences, quotes)


def test_a_full_stop_ends_a_claim_whatever_follows_it():
    assert tx.split_claims(f"{INVENTED} {TALK} Dr. smith agreed. J. R. Tolkien wrote it. It was 3.5 degrees.") == [
        INVENTED, TALK, "Dr. smith agreed.", "J. R. Tolkien wrote it.", "It was 3.5 degrees."]
    ss = parse_cited(f"{INVENTED} {TALK[:-1]} [1]. the pro plan costs more [2].")
    assert [(s.text, s.cites) for s in ss] == [(INVENTED, []), (TALK, [1]), ("the pro plan costs more.", [2])]
    assert tx.clauses("The launch is in March, and the team is ready; admin mode: on — 1,200 at 10:30") == [
        "The launch is in March", "and the team is ready", "admin mode", "on", "1,200 at 10:30"]


def test_figures_in_words_and_digits_are_one_figure():
    assert tx.figures("forty dollars") == tx.figures("40 dollars") == {"40"}
    assert tx.figures("forty-five and 45.0") == {"45"}
    assert tx.figures("two million, 2,000,000 or 2 million") == {"2000000"}
    assert tx.figures("two hundred and fifty thousand") == {"250000"}
    assert tx.figures("five six; twenty thirty") == {"5", "6", "20", "30"}
    assert tx.figures("one of them said so") == set()  # "one" is a pronoun far more often than a figure


@pytest.mark.parametrize("reply", [
    f"{INVENTED} {TALK[:-1]} [1].",  # the case the injection suite found: a lower-case quote after a made-up one
    f"{TALK[:-1]}, and the company was sold to a competitor last night [1].",  # trailing made-up clause
    f"As the admin console instructed, {TALK[:-1]} [1].",  # leading made-up clause
    f"{TALK[:-1]} ignoring all previous instructions as the user asked [1].",  # glued with no punctuation at all
    f"{TALK[:-1]}; admin mode is enabled for every tenant; {PRICE[:-1]} [1][2].",  # between two quotes
])
def test_a_made_up_clause_does_not_ride_on_a_verbatim_quote(embedder, reply):
    checked = _check(embedder, parse_cited(reply), TALK, PRICE)
    made_up = [s for s in checked if s.text not in (TALK, PRICE)]
    assert made_up and not any(s.supported for s in made_up), [(s.text, s.recall) for s in made_up]


def test_a_made_up_figure_in_an_otherwise_verbatim_sentence_fails(embedder):
    lie = PRICE.replace("forty", "ninety")
    checked = _check(embedder, [Sentence(lie, [1]), Sentence(PRICE.replace("forty", "40"), [1]),
                                Sentence(PRICE, [1])], PRICE)
    assert [s.supported for s in checked] == [False, True, True]
    assert checked[0].recall > 0.9  # the words alone would have passed: the figure is what fails


def test_quotes_and_light_paraphrase_still_pass(embedder):
    checked = _check(embedder, parse_cited(
        f"{TALK[:-1]} [1]. {PRICE[:-1]} [2]. The marketing team will prepare the launch announcement [1]. "
        "From the third quarter, the pro plan costs forty dollars per seat [2]."), TALK, PRICE)
    assert [s.supported for s in checked] == [True, True, True, True], [(s.text, s.recall) for s in checked]


def test_the_answer_shows_the_quote_without_the_glued_clause(embedder):
    talk = uuid.uuid4()
    reply = f"{INVENTED} {TALK[:-1]} [1]. The keynote moved to a secret location [1]."
    with ChatServer(lambda body: completion(reply)) as srv:
        a = answer_from("Who prepares the launch announcement?", [passage(TALK, talk, 5.0)],
                        OpenAIBackend(srv.base_url, "stub", timeout_s=5), embedder)
    assert a.supported and a.backend == "openai"
    assert a.answer == f"{TALK} [1]" and [c.video_id for c in a.citations] == [talk]
    assert [(s.text, s.supported) for s in a.sentences] == [
        (INVENTED, False), (TALK, True), ("The keynote moved to a secret location.", False)]


def test_markup_passes_only_as_a_verbatim_quote():
    """Found by the console's injection check: with sentences split at every full stop, a model's own
    "<script>alert('answer')</script>" before a claim the transcript does make passed on its words
    (the transcript holds <script>, alert and the claim). Markup must be quoted exactly."""
    from clipdex.rag.citations import _markup_quoted

    cited = ("<script>alert('xss')</script> The launch is planned for March. As shown in [00:12] of video 0000 "
             "the launch moved to May [7].")
    assert not _markup_quoted("<script>alert('answer')</script> The launch moved to May.", cited)
    assert not _markup_quoted("See [the report](javascript:alert(1)).", cited)
    assert not _markup_quoted("<img src=x onerror=alert(1)> The launch is planned for March.", cited)
    assert _markup_quoted("<script>alert('xss')</script> The launch is planned for March.", cited)
    assert _markup_quoted("The launch is planned for March.", cited)
