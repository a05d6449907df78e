"""Language identification on upload: English speech to the English model, other languages to the
multilingual one (per-segment language kept), a declared language or the tenant's default skips it."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from clipdex.app import create_app
from clipdex.pipeline import registry
from clipdex.platform import Platform
from clipdex.speech import routing
from clipdex.speech.audio import load_any, read_wav
from tests.conftest import drain, make_settings, migrated_sqlite_settings, new_tenant, upload
from tests.speech import media

V = "/api/v1"
STAGES = {"fetch", "probe", "extract_audio", "transcribe"}
SPANISH = "Buenos días a todos. La reunión empieza a las diez, y el presupuesto del proyecto está listo."
ENGLISH = "Good morning everyone. The meeting starts at ten, and the project budget is ready for review."


def _never(name):
    raise AssertionError(f"no identification expected (asked to load {name})")


@pytest.mark.parametrize("declared, tenant, model, language, reason", [
    ("en", None, "tiny.en", "en", "declared"),
    ("es", None, "base", "es", "declared"),
    ("pt-BR", "en", "base", "pt", "declared"),
    (None, "ko", "base", "ko", "tenant default"),
    (None, "en", "tiny.en", "en", "tenant default"),
])
def test_a_known_language_needs_no_identification(tmp_path, declared, tenant, model, language, reason):
    r = routing.choose(make_settings(tmp_path), "tiny.en", declared=declared, tenant_language=tenant,
                       audio=np.zeros(16000, np.float32), load=_never)
    assert (r.model, r.language, r.reason) == (model, language, reason)


def test_a_multilingual_model_or_routing_off_is_not_routed(tmp_path):
    st = make_settings(tmp_path)
    assert routing.choose(st, "base", declared=None, tenant_language=None, audio=np.zeros(10),
                          load=_never).reason == "multilingual model"
    st.asr_language_routing = False
    r = routing.choose(st, "tiny.en", declared=None, tenant_language="es", audio=np.zeros(10), load=_never)
    assert (r.model, r.language) == ("tiny.en", "en")


@pytest.fixture(scope="session")
def base_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("base-model")


@pytest.mark.slow
def test_identification_on_real_speech(tmp_path, base_cache):
    from clipdex.speech.asr_models import AsrOptions, load_whisper

    st = make_settings(tmp_path, model_cache_dir=base_cache, asr_threads=2)
    load = lambda m: load_whisper(AsrOptions.from_settings(st, m), base_cache)  # noqa: E731
    es = load_any(media.speak(tmp_path / "es.wav", SPANISH, voice="es", speed=140))
    en = load_any(media.speak(tmp_path / "en.wav", ENGLISH))
    r = routing.choose(st, "tiny.en", declared=None, tenant_language=None, audio=es, load=load)
    assert (r.model, r.language, r.reason) == ("base", None, "identified") and r.identified["language"] == "es"
    r = routing.choose(st, "tiny.en", declared=None, tenant_language=None, audio=en, load=load)
    assert (r.model, r.language) == ("tiny.en", "en") and r.identified["language"] == "en"
    silent = read_wav(media.silence(tmp_path / "quiet.wav", 3.0))
    r = routing.choose(st, "tiny.en", declared=None, tenant_language=None, audio=silent, load=load)
    assert r.reason == "no speech"


@pytest.mark.slow
def test_spanish_upload_is_transcribed_by_the_multilingual_model_by_default(tmp_path, base_cache):
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[n for n in registry.all_stages() if n not in STAGES],
                                        model_cache_dir=base_cache, asr_threads=2)
    assert settings.asr_model == "tiny.en"  # the shipped default
    p = Platform.from_settings(settings)
    try:
        with TestClient(create_app(platform=p, embedded_workers=0)) as c:
            t = new_tenant(p, c, "Iberia")
            wav = media.speak(tmp_path / "es.wav", SPANISH, voice="es", speed=140)
            vid = upload(c, t, media.to_video(wav, tmp_path / "es.mp4")).json()["id"]
            drain(p)
            doc = c.get(f"{V}/videos/{vid}/transcript", headers=t.headers).json()
            assert doc["model"] == "base" and doc["language"] == "es"
            assert doc["routing"]["reason"] == "identified" and doc["routing"]["identified"]["language"] == "es"
            assert {s["language"] for s in doc["segments"]} == {"es"}
            text = " ".join(s["text"] for s in doc["segments"]).lower()
            assert "reunión" in text or "presupuesto" in text, text
            # the tenant's default language: no identification, straight to the model for it
            r = c.put(f"{V}/speech/settings", headers=t.headers, json={"default_language": "es"})
            assert r.status_code == 200 and r.json() == {"default_language": "es"}
            assert c.put(f"{V}/speech/settings", headers=t.headers, json={"default_language": "xx"}).status_code == 422
            wav2 = media.speak(tmp_path / "es2.wav", "El proyecto termina en marzo.", voice="es", speed=140)
            vid2 = upload(c, t, media.to_video(wav2, tmp_path / "es2.mp4")).json()["id"]
            drain(p)
            doc2 = c.get(f"{V}/videos/{vid2}/transcript", headers=t.headers).json()
            assert doc2["routing"]["reason"] == "tenant default" and doc2["routing"]["identified"] is None
            assert doc2["model"] == "base" and doc2["segments"][0]["language"] == "es"
    finally:
        p.close()
