"""`clipdex eval search` on the generated half of its query set (the corpus half is for the CLI)."""

from __future__ import annotations

import pytest

from clipdex.evaluation.search import evaluate, metrics

pytestmark = pytest.mark.slow


def test_generated_queries_are_found_at_the_right_moment():
    result = evaluate(None, with_ask=False)
    assert result["videos"] == 5
    assert result["overall"]["queries"] == 14
    # exact wording and drawn text must be found first; paraphrases at least in the top 5 mostly
    assert result["by_group"]["generated-exact"]["recall@1"] == 1.0
    assert result["by_group"]["generated-ocr"]["recall@1"] == 1.0
    assert result["by_group"]["generated-paraphrase"]["recall@5"] >= 0.75
    assert metrics([{"rank": 1}, {"rank": None}, {"rank": 4}]) == {"queries": 3, "recall@1": 0.333,
                                                                     "recall@5": 0.667, "mrr": 0.417}
