"""Language and personal-data matching on timed words; policy validation and merging."""

from __future__ import annotations

import pytest

from clipdex.compliance import language as lang
from clipdex.compliance import policies
from clipdex.compliance.evaluate import evaluate


def timed(text: str, start: float = 1.0, step: float = 0.4) -> list[dict]:
    return [{"w": w, "s": round(start + i * step, 3), "e": round(start + i * step + 0.3, 3)}
            for i, w in enumerate(text.split())]


def findings(words, rules_changes=None, screen=None, check=None):
    pol = policies.preset("broadcast-eu")
    pol["rules"] = policies.merged(pol["rules"], rules_changes or {})
    rep = evaluate({"words": words, "screen_text": screen, "video": {"duration_s": 30.0}}, pol)
    return [f for f in rep["findings"] if check is None or f["check"] == check]


def test_banned_term_found_at_its_words_time_multiword_and_case_insensitive():
    words = timed("Our rival Acme Corp, frankly, is a crap company.")
    found = findings(words, {"language": {"banned_terms": ["acme corp"]}}, check="language")
    terms = {f["evidence"]["term"]: f for f in found}
    assert set(terms) == {"acme corp", "crap"}
    assert terms["acme corp"]["start_s"] == words[2]["s"] and terms["acme corp"]["end_s"] == words[3]["e"]
    assert terms["acme corp"]["evidence"]["kind"] == "banned term" and terms["crap"]["evidence"]["kind"] == "profanity"
    # allowed terms and switching profanity off are the policy's
    no_profanity = findings(words, {"language": {"profanity": False, "banned_terms": ["Acme Corp"]}}, check="language")
    assert no_profanity[0]["evidence"]["term"] == "acme corp"
    crap_allowed = findings(words, {"language": {"allowed_terms": ["crap"], "banned_terms": ["acme corp"]}},
                            check="language")
    assert crap_allowed[0]["evidence"]["term"] == "acme corp"


def test_spoken_and_written_phone_numbers_cards_and_emails():
    words = timed("call me on four one five five five five zero one three two or mail jane at example dot com")
    found = findings(words, check="personal_data")
    kinds = [f["evidence"]["kind"] for f in found]
    assert kinds == ["phone", "email"], found
    phone = found[0]
    assert phone["start_s"] == words[3]["s"] and phone["end_s"] == words[12]["e"]
    assert phone["evidence"]["value"].endswith("0132") and "415" not in phone["evidence"]["value"]
    card = findings(timed("my card is 4111 1111 1111 1111 thanks"), check="personal_data")
    assert [f["evidence"]["kind"] for f in card] == ["card"]
    assert not [f for f in findings(timed("4111 1111 1111 1112"), check="personal_data")  # fails Luhn
                if f["evidence"]["kind"] == "card"]
    assert findings(timed("the year 2026 and 42 apples"), check="personal_data") == []


def test_on_screen_text_is_checked_with_the_spans_times():
    screen = [{"text": "WRITE TO boss@example.com", "start_s": 4.0, "end_s": 6.5}]
    found = findings([], screen=screen, check="personal_data")
    assert len(found) == 1 and found[0]["start_s"] == 4.0 and found[0]["end_s"] == 6.5
    assert found[0]["evidence"]["source"] == "on_screen"
    assert findings([], {"personal_data": {"on_screen": False}}, screen=screen, check="personal_data") == []


def test_not_measured_is_not_a_pass():
    rep = evaluate({"words": None, "video": {"duration_s": 3.0, "has_audio": True}}, policies.preset("kids"))
    lang_check = next(c for c in rep["checks"] if c["check"] == "language")
    assert lang_check["verdict"] == "not_measured" and rep["verdict"] == "incomplete"


def test_luhn():
    assert lang.luhn_ok("4111111111111111") and lang.luhn_ok("79927398713") and not lang.luhn_ok("79927398710")


def test_presets_and_validation():
    assert set(policies.PRESETS) == {"broadcast-eu", "broadcast-us", "streaming", "kids"}
    eu, us = policies.preset("broadcast-eu")["rules"], policies.preset("broadcast-us")["rules"]
    assert (eu["loudness"]["target_lufs"], eu["loudness"]["tolerance_lu"], eu["loudness"]["max_true_peak_dbtp"]) == \
        (-23.0, 0.5, -1.0)
    assert (us["loudness"]["target_lufs"], us["loudness"]["tolerance_lu"], us["loudness"]["max_true_peak_dbtp"]) == \
        (-24.0, 2.0, -2.0)
    assert policies.preset("streaming")["rules"]["loudness"]["target_lufs"] == -14.0
    merged = policies.merged(eu, {"loudness": {"target_lufs": -16}, "language": {"banned_terms": ["x y"]}})
    assert merged["loudness"]["target_lufs"] == -16.0 and merged["loudness"]["tolerance_lu"] == 0.5
    for bad, where in (({"nope": {}}, "rules.nope"),
                       ({"loudness": {"target_lufs": "loud"}}, "rules.loudness.target_lufs"),
                       ({"black": {"severity": "fatal"}}, "rules.black.severity"),
                       ({"language": {"banned_terms": [""]}}, "rules.language.banned_terms")):
        with pytest.raises(policies.PolicyInvalid) as e:
            policies.validate(bad)
        assert e.value.extensions["field"] == where


def test_nudity_and_violent_sounds_judge_the_stored_scores():
    samples = [{"t": 0.0, "score": 0.01, "boxes": []},
               {"t": 2.0, "score": 0.45,
                "boxes": [{"class": "FEMALE_BREAST_COVERED", "score": 0.6, "box": [1, 2, 3, 4]}],
                "evidence": "evidence-000002000.jpg"},
               {"t": 4.0, "score": 0.92, "boxes": [], "evidence": "evidence-000004000.jpg"},
               {"t": 10.0, "score": 0.02, "boxes": [{"class": "FEET_EXPOSED", "score": 0.9, "box": [0, 0, 9, 9]}]}]
    m = {"picture": {"nudity": samples, "nudity_period_s": 2.0, "fps": 25.0, "t": [], "black_ratio": [], "diff": [],
                     "bars": [], "flashes": {"general": [], "red": []}},
         "sound_events": [{"tag": "gunshot", "start": 3.0, "end": 4.0, "confidence": 0.7},
                          {"tag": "music", "start": 0.0, "end": 9.0, "confidence": 0.9}],
         "video": {"duration_s": 12.0}}
    eu = [f for f in evaluate(m, policies.preset("broadcast-eu"))["findings"]
          if f["check"] in ("nudity", "violence_audio")]
    assert [(f["check"], f["start_s"], f["severity"]) for f in eu] == [("violence_audio", 3.0, "warning"),
                                                                        ("nudity", 4.0, "violation")]
    assert eu[1]["evidence"]["thumbnail"] == "evidence-000004000.jpg"
    kids = [f for f in evaluate(m, policies.preset("kids"))["findings"] if f["check"] in ("nudity", "violence_audio")]
    # kids: covered breasts count and neighbouring samples merge into one finding; the gunshot is a violation
    nudity = [f for f in kids if f["check"] == "nudity"]
    assert [(f["start_s"], f["end_s"]) for f in nudity] == [(2.0, 6.0)]
    assert nudity[0]["evidence"]["classes"] == ["FEMALE_BREAST_COVERED"]
    assert [f["severity"] for f in kids if f["check"] == "violence_audio"] == ["violation"]
