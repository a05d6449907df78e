"""Spoken language through the whole pipeline: a banned word found at its time, a spoken phone number,
and a clean video that passes every check (transcription, sound events and compliance stages on)."""

from __future__ import annotations

import pytest

from tests.compliance import media
from tests.conftest import MODEL_STAGES, api_client, drain, migrated_sqlite_settings, new_tenant, open_platform, upload

pytestmark = pytest.mark.slow
ON = ("transcribe", "sound_events", "compliance")


@pytest.fixture(scope="module")
def speech_world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cspeech")
    settings = migrated_sqlite_settings(tmp, disabled_stages=[s for s in MODEL_STAGES if s not in ON])
    with open_platform(settings) as p, api_client(p) as c:
        t = new_tenant(p, c, "Speech")
        r = c.post("/api/v1/compliance/policies", headers=t.headers, json={
            "name": "family", "base": "kids", "default": True, "rules": {"language": {"banned_terms": ["banana"]}}})
        assert r.status_code == 201, r.text
        yield p, c, t, tmp


def _report(world, path) -> dict:
    p, c, t, _ = world
    vid = upload(c, t, path).json()["id"]
    drain(p)
    r = c.get(f"/api/v1/videos/{vid}/compliance", headers=t.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_banned_word_at_its_time_and_a_spoken_phone_number(speech_world):
    path = speech_world[3] / "speech.mp4"
    starts = media.speech_video(path, ["Hello and welcome to the kitchen.", 1.0, "banana", 0.8,
                                       "Call me on four one five, five five five, zero one three two.", 0.5])
    rep = _report(speech_world, path)
    assert rep["policy"]["name"] == "family" and rep["verdict"] == "fail"
    banned = [f for f in rep["findings"] if f["check"] == "language"]
    assert [f["evidence"]["term"] for f in banned] == ["banana"], rep["findings"]
    assert abs(banned[0]["start_s"] - starts[2]) <= 0.5, (banned[0], starts)
    phone = [f for f in rep["findings"] if f["check"] == "personal_data"]
    assert [f["evidence"]["kind"] for f in phone] == ["phone"], rep["findings"]
    assert phone[0]["evidence"]["value"].endswith("0132")
    assert starts[4] - 0.3 <= phone[0]["start_s"] <= phone[0]["end_s"] <= starts[4] + 6.0


def test_clean_video_passes_every_check(speech_world):
    path = speech_world[3] / "clean.mp4"
    media.speech_video(path, ["Good morning. Today we look at the weather in the mountains, and the forecast for "
                              "the weekend is sunny and mild.", 0.5])
    rep = _report(speech_world, path)
    verdicts = {c["check"]: c["verdict"] for c in rep["checks"]}
    assert rep["verdict"] == "pass" and set(verdicts.values()) == {"pass"}, (verdicts, rep["findings"])
    assert {"loudness", "flashes", "black", "freeze", "silence", "audio_present", "language", "personal_data",
            "nudity", "violence_audio", "format"} <= set(verdicts)
    assert rep["findings"] == []
