"""The ranking functions on their own: fusion, rerank, cut-offs, caps and moment bonuses, with the
numbers they must produce, so a changed weight fails here before it shifts search results."""

from __future__ import annotations

import uuid

import pytest

from clipdex.search import moments, rank
from clipdex.search.query import parse
from clipdex.search.retrieve import Passage

W = rank.WEIGHTS


def _row(rid: str, text: str = "", modality: str = "transcript", distance: float | None = None) -> dict:
    r = {"id": rid, "text": text, "modality": modality}
    if distance is not None:
        r["_distance"] = distance
    return r


def _passage(text: str, modality: str, score: float, vid: uuid.UUID | None = None, start: float = 0.0) -> Passage:
    return Passage(vid or uuid.uuid4(), start, start + 4.0, text, modality, score)


def test_weights_are_the_tuned_values():
    # a deliberate change to a weight changes this line and the eval numbers, never one silently
    assert (W.rrf_k, W.min_vector_cos, W.min_ocr_vector_cos, W.coverage_weight, W.phrase_weight,
            W.semantic_weight, W.unmatched_text_cap, W.modality_bonus, W.glossary_boost, W.image_base,
            W.fts_exact_boost, W.fts_fuzzy_boost) == (60, 0.30, 0.5, 0.6, 0.4, 0.02, 0.5, 0.25, 1.3, 0.01, 2.0, 0.5)
    with pytest.raises(AttributeError):
        W.rrf_k = 1  # frozen: one place, no run-time drift


def test_fusion_adds_reciprocal_rank_shares_and_keeps_first_seen_order():
    pool: dict[str, rank.Candidate] = {}
    rank.fuse(pool, [_row("a"), _row("b"), _row("c")], "fts")
    rank.fuse(pool, [_row("c", distance=0.2), _row("d", distance=0.5)], "vector")
    assert list(pool) == ["a", "b", "c", "d"]  # full-text candidates first, then vector-only ones
    assert pool["a"].rrf == pytest.approx(1 / 61)
    assert pool["c"].rrf == pytest.approx(1 / 63 + 1 / 61)  # third in one list, first in the other
    assert pool["c"].kinds == {"fts", "vector"} and pool["c"].cos == pytest.approx(0.8)
    assert pool["a"].cos is None and pool["d"].cos == pytest.approx(0.5)
    # found by both lists beats first place in one
    order = sorted(pool, key=lambda k: -pool[k].rrf)
    assert order == ["c", "a", "b", "d"]


def test_ties_keep_the_order_they_were_found_in():
    first, second, third = _passage("x", "transcript", 0.5), _passage("y", "ocr", 0.5), _passage("z", "ocr", 0.7)
    assert rank.best_first([first, second, third]) == [third, first, second]
    assert rank.best_first([second, first]) == [second, first]


def test_lexical_rerank_weights_coverage_and_phrase():
    c = rank.Candidate(_row("a", "Revenue grew by twelve percent this quarter"), rrf=1 / 61, kinds={"fts"})
    plain, cov = rank.score(c, parse("revenue grew"), rerank=False)
    assert plain == pytest.approx(1 / 61) and cov is None
    # every term present and the whole query verbatim: 1 + 0.6 * 1 + 0.4
    s, cov = rank.score(c, parse("revenue grew"), rerank=True)
    assert cov == 1.0 and s == pytest.approx(2.0 / 61)
    # half of the terms, no phrase: 1 + 0.6 * 0.5
    s, cov = rank.score(c, parse("revenue budget"), rerank=True)
    assert cov == 0.5 and s == pytest.approx(1.3 / 61)
    # a quoted phrase counts as the phrase bonus; prefixes of long words count as coverage
    s, _ = rank.score(c, parse('"twelve percent" revenues'), rerank=True)
    assert s == pytest.approx(2.0 / 61)


def test_semantic_bonus_is_small_and_never_negative():
    c = rank.Candidate(_row("a", "nothing shared"), rrf=1 / 70, kinds={"vector"}, cos=0.8)
    s, _ = rank.score(c, parse("budget"), rerank=True)
    assert s == pytest.approx(1 / 70 + 0.02 * 0.8)
    c.cos = -0.3
    assert rank.score(c, parse("budget"), rerank=True)[0] == pytest.approx(1 / 70)
    # about one first-place share at cosine 0.8: meaning can overtake one shared word, not a real match
    assert 0.9 < W.semantic_weight * 0.8 / rank.rrf_share(0) < 1.1


def test_weak_vector_only_candidates_are_dropped():
    near = rank.Candidate(_row("a", "a paraphrase"), kinds={"vector"}, cos=0.30)
    far = rank.Candidate(_row("b", "unrelated"), kinds={"vector"}, cos=0.29)
    text_hit = rank.Candidate(_row("c", "budget"), kinds={"fts"}, cos=0.05)
    assert not rank.dropped(near, ["budget"]) and rank.dropped(far, ["budget"])
    assert not rank.dropped(text_hit, ["budget"])  # a full-text hit stays whatever its cosine


def test_stray_on_screen_text_is_dropped_but_close_text_stays():
    def ocr(text, cos, kinds=frozenset({"vector"})):
        return rank.Candidate(_row("o", text, "ocr"), kinds=set(kinds), cos=cos)

    assert rank.dropped(ocr("250", 0.9), ["budget"])  # a number shares no meaning with a word
    assert rank.dropped(ocr("Quarterly", 0.45), ["budget"])  # loosely close short string
    assert not rank.dropped(ocr("Spending plan", 0.55), ["budget"])
    assert not rank.dropped(ocr("Budget 250", 0.2, {"fts", "vector"}), ["budget"])
    assert not rank.dropped(ocr("250", 0.9), [])  # no query words (more like this): nothing to compare


def test_on_screen_text_without_a_query_word_is_capped_below_matching_speech():
    speech_hi, speech_lo = _passage("budget up", "transcript", 0.04), _passage("the budget", "transcript", 0.03)
    stray, relevant = _passage("250", "ocr", 0.05), _passage("budget", "ocr", 0.05)
    unscored = _passage("250", "ocr", 0.05)
    passages = [speech_hi, speech_lo, stray, relevant, unscored]
    rank.cap_unmatched_text(passages, [1.0, 0.5, 0.0, 1.0, None])
    assert stray.score == pytest.approx(0.5 * 0.03)  # half the weakest spoken match
    assert relevant.score == 0.05 and unscored.score == 0.05 and speech_hi.score == 0.04
    alone = _passage("250", "ocr", 0.05)
    rank.cap_unmatched_text([alone], [0.0])  # no spoken match to rank below: unchanged
    assert alone.score == 0.05


def test_moment_bonus_per_independent_modality():
    assert rank.moment_score([_passage("a", "transcript", 0.02)]) == pytest.approx(0.02)
    assert rank.moment_score([_passage("a", "transcript", 0.02), _passage("a", "ocr", 0.01)]) == pytest.approx(0.025)
    assert rank.moment_score([_passage("a", "transcript", 0.02), _passage("a", "ocr", 0.01),
                              _passage("a", "face", 0.03)]) == pytest.approx(0.045)
    # shot rows restate what is on screen: no bonus
    assert rank.moment_score([_passage("a", "transcript", 0.02), _passage("a", "shot", 0.01)]) == pytest.approx(0.02)


def test_merged_moments_rank_two_modalities_above_one_and_show_speech():
    vid, other = uuid.uuid4(), uuid.uuid4()
    spoken = _passage("the budget", "transcript", 0.020, vid, 10.0)
    shown = _passage("BUDGET", "ocr", 0.024, vid, 11.0)
    lone = _passage("budget", "transcript", 0.027, other, 0.0)
    found = moments.merge([lone, spoken, shown])
    assert [m.video_id for m in found] == [vid, other]  # 0.024 * 1.25 = 0.030 > 0.027
    assert found[0].score == pytest.approx(0.030)
    assert found[0].best is spoken and found[0].modalities == ["transcript", "ocr"]
    far = _passage("budget", "transcript", 0.01, vid, 30.0)  # beyond the gap: a moment of its own
    assert len(moments.merge([spoken, far])) == 2


def test_named_people_and_images_rank_against_text_hits():
    # a person the query names ranks like a first-place full-text hit holding every query word
    full = rank.Candidate(_row("a", "budget"), rrf=rank.rrf_share(0), kinds={"fts"})
    assert rank.named_person_score() == pytest.approx(rank.score(full, parse("budget"), rerank=True)[0])
    assert rank.named_person_score() == pytest.approx(1.6 / 61)
    assert rank.image_score(0.3) == pytest.approx(0.013)
    assert rank.image_score(0.6) < rank.rrf_share(0) < rank.image_score(0.7)


def test_glossary_boost_reorders_and_keeps_ties():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    found = [moments.Moment(v, 0.0, 5.0, s, [_passage(t, "transcript", s, v)])
             for v, t, s in ((a, "plain words", 1.0), (b, "we ship Zorblax", 0.8), (c, "zorblax again", 0.8))]
    boosted = rank.boost_glossary(found, ["  ", "ZORBLAX"])
    assert [m.video_id for m in boosted] == [b, c, a]  # 0.8 * 1.3 = 1.04 > 1.0; b before c as found
    assert boosted[0].score == pytest.approx(1.04)
