"""Speech through the real pipeline and API: transcript formats, speakers, corrections, sound events."""

from __future__ import annotations

import uuid

import pytest

from clipdex.evaluation.wer import error_rate
from clipdex.jobs.service import create_job
from clipdex.models import Video
from clipdex.pipeline import registry
from tests.conftest import (add_user, api_client, drain, login, migrated_sqlite_settings, new_tenant, open_platform,
                            upload)
from tests.speech import media
from tests.speech.conftest import DIALOGUE_TEXT

V = "/api/v1"
SPEECH_PIPELINE = {"fetch", "probe", "extract_audio", "thumbnail", "transcribe", "diarize", "sound_events"}


@pytest.fixture
def speech_platform(tmp_path):
    other_models = [n for n in registry.all_stages() if n not in SPEECH_PIPELINE]  # other capabilities' stages
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=other_models, asr_chunk_s=10.0, asr_threads=2)
    with open_platform(settings) as p:
        yield p


@pytest.fixture
def speech_client(speech_platform):
    with api_client(speech_platform) as c:
        yield c


def test_dialogue_end_to_end(speech_client, speech_platform, dialogue_wav, tmp_path):
    c, p = speech_client, speech_platform
    alpha = new_tenant(p, c, "Alpha")
    h = alpha.headers
    clip = media.to_video(dialogue_wav, tmp_path / "dialogue.mp4")
    vid = upload(c, alpha, clip, language="en").json()["id"]

    r = c.get(f"{V}/videos/{vid}/transcript", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "transcript.not_ready"
    assert c.get(f"{V}/videos/{vid}/sound-events", headers=h).json()["code"] == "sound_events.not_ready"

    drain(p)
    detail = c.get(f"{V}/videos/{vid}", headers=h).json()
    assert detail["status"] == "ready", detail
    stages = {s["name"]: s["status"] for s in detail["job"]["stages"]}
    assert stages["transcribe"] == stages["diarize"] == stages["sound_events"] == "succeeded"

    t = c.get(f"{V}/videos/{vid}/transcript", headers=h).json()
    errs, n = error_rate(DIALOGUE_TEXT, " ".join(s["text"] for s in t["segments"]))
    assert errs / n <= 0.2
    assert t["language"] == "en" and t["chunks"] >= 2  # 10 s chunks over ~17 s of audio
    assert t["speakers"] == ["S1", "S2"]
    assert all(s["speaker"] in ("S1", "S2") and s["words"] for s in t["segments"])
    assert all(w["speaker"] == s["speaker"] for s in t["segments"] for w in s["words"])
    first = next(s for s in t["segments"] if "morning" in s["text"].lower())
    share = next(s for s in t["segments"] if "numbers" in s["text"].lower())
    assert first["speaker"] == "S1" and share["speaker"] == "S2"

    srt = c.get(f"{V}/videos/{vid}/transcript?format=srt&speakers=true", headers=h)
    assert srt.status_code == 200 and srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text.startswith("1\n00:00:") and "[S1]" in srt.text and "[S2]" in srt.text
    vtt = c.get(f"{V}/videos/{vid}/transcript?format=vtt", headers=h)
    assert vtt.text.startswith("WEBVTT") and vtt.headers["content-type"].startswith("text/vtt")
    txt = c.get(f"{V}/videos/{vid}/transcript?format=txt", headers=h).text
    assert "morning" in txt.lower() and "numbers" in txt.lower()  # the WER bound above covers the rest
    assert c.get(f"{V}/videos/{vid}/transcript?format=docx", headers=h).status_code == 422

    # a correction is applied on read and survives processing the video again
    r = c.patch(f"{V}/videos/{vid}/transcript/segments/0", headers=h, json={"text": "Good morning, dear colleagues."})
    assert r.status_code == 200 and r.json()["text"] == "Good morning, dear colleagues." and r.json()["corrected"]
    assert c.patch(f"{V}/videos/{vid}/transcript/segments/999", headers=h,
                   json={"text": "x"}).json()["code"] == "transcript.segment_not_found"
    assert c.patch(f"{V}/videos/{vid}/transcript/segments/0", headers=h, json={"text": "  "}).status_code == 422
    with p.db.tenant(alpha.id) as s:
        create_job(s, p.settings, s.get(Video, uuid.UUID(vid)))
    drain(p)
    again = c.get(f"{V}/videos/{vid}/transcript", headers=h).json()
    assert again["segments"][0]["text"] == "Good morning, dear colleagues." and again["segments"][0]["corrected"]
    assert "dear colleagues" in c.get(f"{V}/videos/{vid}/transcript?format=srt", headers=h).text

    ev = c.get(f"{V}/videos/{vid}/sound-events", headers=h).json()
    assert any(e["tag"] == "speech" for e in ev["events"])
    assert all(e["tag"] == "speech" for e in c.get(f"{V}/videos/{vid}/sound-events?tag=speech",
                                                   headers=h).json()["events"])

    # a viewer reads but cannot correct; another tenant sees nothing
    bravo = new_tenant(p, c, "Bravo")
    assert c.get(f"{V}/videos/{vid}/transcript", headers=bravo.headers).status_code == 404
    add_user(p, alpha.id, f"viewer@{alpha.slug}.example.com", "viewer")
    token = login(c, f"viewer@{alpha.slug}.example.com", tenant=alpha.slug)["access_token"]
    viewer = {"Authorization": "Bearer " + token}
    assert c.get(f"{V}/videos/{vid}/transcript?format=txt", headers=viewer).status_code == 200
    r = c.patch(f"{V}/videos/{vid}/transcript/segments/0", headers=viewer, json={"text": "x"})
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"


def test_music_and_silence_video_has_no_words_but_tags(speech_client, speech_platform, speech_dir, tmp_path):
    c, p = speech_client, speech_platform
    alpha = new_tenant(p, c, "Alpha")
    wav = media.concat(tmp_path / "ms.wav", [media.music(speech_dir / "m2.wav", 8.0),
                                             media.silence(speech_dir / "s2.wav", 6.0)])
    vid = upload(c, alpha, media.to_video(wav, tmp_path / "ms.mp4")).json()["id"]
    drain(p)
    t = c.get(f"{V}/videos/{vid}/transcript", headers=alpha.headers).json()
    assert t["segments"] == [] and t["speakers"] == []
    assert c.get(f"{V}/videos/{vid}/transcript?format=srt", headers=alpha.headers).text.strip() == ""
    srt = c.get(f"{V}/videos/{vid}/transcript?format=srt&events=true", headers=alpha.headers).text
    assert srt.startswith("1\n00:00:00,") and "[music]" in srt and "[silence]" not in srt
    assert "[music]" in c.get(f"{V}/videos/{vid}/transcript?format=vtt&events=true", headers=alpha.headers).text
    r = c.get(f"{V}/videos/{vid}/transcript?format=srt&track=en-translation", headers=alpha.headers)
    assert r.status_code == 409 and r.json()["code"] == "transcript.translation_unavailable"  # tiny.en: English only
    tags = {e["tag"] for e in c.get(f"{V}/videos/{vid}/sound-events", headers=alpha.headers).json()["events"]}
    assert {"music", "silence"} <= tags and "speech" not in tags
