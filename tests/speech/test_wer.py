"""WER/CER scoring: the corpus normalisation and the one edit distance it counts with."""

from __future__ import annotations

from clipdex.evaluation.scoring import edit_distance
from clipdex.evaluation.wer import error_rate, normalize


def test_edit_distance_counts_insertions_deletions_and_substitutions():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    assert edit_distance([], ["x", "y"]) == 2 and edit_distance("same", "same") == 0


def test_error_rate_normalises_before_counting():
    assert error_rate("The cat sat.", "the cat, sat") == (0, 3)
    assert error_rate("In 1881 Mr. Smith met us", "in eighteen eighty one mister smith met us") == (0, 8)
    assert error_rate("the cat sat on the mat", "the cat sit on mat") == (2, 6)
    assert normalize("Don't stop-start \u2018now\u2019") == ["don't", "stop", "start", "now"]


def test_character_languages_are_scored_by_characters():
    assert error_rate("你好，世界", "你好世", "zh") == (1, 4)
