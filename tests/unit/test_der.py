"""DER against cases worked out by hand (pyannote.metrics, the reference implementation, does not
install offline here)."""

from __future__ import annotations

import pytest

from clipdex.evaluation.der import Turn, der


def turn(a, b, s):
    return Turn(a, b, s)


TWO = [turn(0, 10, "A"), turn(10, 20, "B")]


def test_perfect_and_relabelled_hypotheses_score_zero():
    assert der(TWO, [turn(0, 10, "x"), turn(10, 20, "y")]).der == 0
    r = der(TWO, [turn(0, 10, "S2"), turn(10, 20, "S1")])
    assert r.der == 0 and r.mapping == {"S2": "A", "S1": "B"}


def test_one_speaker_for_two_is_half_confusion():
    r = der(TWO, [turn(0, 20, "S1")], collar=0)
    assert r.confusion_s == pytest.approx(10, abs=0.02) and r.der == pytest.approx(0.5, abs=0.002)
    assert r.missed_s == 0 and r.false_alarm_s == 0


def test_missed_and_false_alarm_speech():
    assert der([turn(0, 10, "A")], [turn(0, 5, "x")], collar=0).der == pytest.approx(0.5, abs=0.002)
    r = der([turn(0, 5, "A")], [turn(0, 10, "x")], collar=0)
    assert r.false_alarm_s == pytest.approx(5, abs=0.02) and r.der == pytest.approx(1.0, abs=0.004)


def test_overlap_counts_once_per_speaker():
    r = der([turn(0, 10, "A"), turn(5, 10, "B")], [turn(0, 10, "x")], collar=0)
    assert r.reference_s == pytest.approx(15, abs=0.02)
    assert r.missed_s == pytest.approx(5, abs=0.02) and r.der == pytest.approx(1 / 3, abs=0.002)


def test_the_collar_forgives_boundaries_and_only_boundaries():
    hyp = [turn(0, 10.2, "x"), turn(10.2, 20, "y")]
    assert der(TWO, hyp, collar=0.25).der == 0
    assert der(TWO, hyp, collar=0).der == pytest.approx(0.01, abs=0.001)
    late = [turn(0, 11, "x"), turn(11, 20, "y")]  # a whole second wrong is an error even with the collar
    assert der(TWO, late, collar=0.25).confusion_s == pytest.approx(0.75, abs=0.02)


def test_reference_turns_come_from_the_timed_words_they_align_to():
    from clipdex.evaluation.der import reference_turns

    tagged = [{"word": w, "speaker_tag": s} for w, s in
              [("and", 1), ("so", 1), ("it", 1), ("begins", 1), ("this", 2), ("is", 2), ("what", 2)]]
    timed = [{"word": " And", "start": 0.1, "end": 0.3}, {"word": " so", "start": 0.3, "end": 0.5},
             {"word": " begins.", "start": 0.7, "end": 1.2},  # "it" was not heard
             {"word": " This", "start": 2.0, "end": 2.2}, {"word": " is", "start": 2.2, "end": 2.3},
             {"word": " what?", "start": 2.3, "end": 2.6}]
    assert reference_turns(tagged, timed) == [turn(0.1, 1.2, "1"), turn(2.0, 2.6, "2")]
