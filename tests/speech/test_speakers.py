"""Named voices: a speaker named in one video is recognised by name in the tenant's other videos,
never in another tenant's; deleting the voice removes the name everywhere."""

from __future__ import annotations

import uuid

import pytest

from clipdex.models import SpeakerProfile
from clipdex.pipeline import registry
from clipdex.pipeline.artifacts import Speakers
from clipdex.tenancy.system import SystemReason
from tests.conftest import api_client, drain, migrated_sqlite_settings, new_tenant, open_platform, upload
from tests.speech import media

V = "/api/v1"
STAGES = {"fetch", "probe", "extract_audio", "transcribe", "diarize"}


@pytest.fixture
def voice_platform(tmp_path):
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[n for n in registry.all_stages() if n not in STAGES],
                                        asr_threads=2)
    with open_platform(settings) as p:
        yield p


@pytest.fixture
def voice_client(voice_platform):
    with api_client(voice_platform) as c:
        yield c


@pytest.fixture(scope="module")
def second_clip(tmp_path_factory):
    """The two voices of the dialogue again, other words, the other voice first."""
    d = tmp_path_factory.mktemp("voices")
    gap = media.silence(d / "gap.wav", 0.5)
    parts = [media.speak(d / "v0.wav", "The report for the second quarter is finished and ready to send.", "en-us+f3"),
             gap, media.speak(d / "v1.wav", "Thank you, I will read it tonight and send comments tomorrow.", "en-us")]
    return media.to_video(media.concat(d / "second.wav", parts), d / "second.mp4")


def _speakers_json(p, tenant_id, vid):
    with p.db.tenant(tenant_id, readonly=True) as s:
        return Speakers.doc_of(p, s, uuid.UUID(vid))


def test_named_voice_is_recognised_in_the_tenants_other_videos(voice_client, voice_platform, dialogue_wav,
                                                              second_clip, tmp_path):
    c, p = voice_client, voice_platform
    alpha, bravo = new_tenant(p, c, "Alpha"), new_tenant(p, c, "Bravo")
    first = upload(c, alpha, media.to_video(dialogue_wav, tmp_path / "dialogue.mp4"), language="en").json()["id"]
    r = c.post(f"{V}/videos/{first}/speakers/S1/name", headers=alpha.headers, json={"name": "Alice"})
    assert r.status_code == 409 and r.json()["code"] == "speakers.not_ready"
    drain(p)
    assert c.post(f"{V}/videos/{first}/speakers/S9/name", headers=alpha.headers,
                  json={"name": "Alice"}).json()["code"] == "speaker.not_found"
    assert c.post(f"{V}/videos/{first}/speakers/x1/name", headers=alpha.headers, json={"name": "A"}).status_code == 422
    r = c.post(f"{V}/videos/{first}/speakers/S1/name", headers=alpha.headers, json={"name": " Alice "})
    assert r.status_code == 200, r.text
    alice = r.json()
    assert alice["name"] == "Alice" and alice["samples"] == 1 and alice["source_label"] == "S1"
    t1 = c.get(f"{V}/videos/{first}/transcript", headers=alpha.headers).json()
    assert t1["speaker_names"] == {"S1": "Alice"}  # shown at once in the video it was named in
    assert {s["speaker_name"] for s in t1["segments"] if s["speaker"] == "S1"} == {"Alice"}

    # the same voices, other words, in a new video of the tenant: the diarize stage recognises Alice
    second = upload(c, alpha, second_clip, language="en").json()["id"]
    other = upload(c, bravo, second_clip, language="en").json()["id"]
    drain(p)
    spk = _speakers_json(p, alpha.id, second)
    assert spk["speakers"] == ["S1", "S2"]
    assert {k: v["name"] for k, v in spk["names"].items()} == {"S2": "Alice"}  # en-us speaks second here
    assert spk["names"]["S2"]["score"] >= 0.88
    t2 = c.get(f"{V}/videos/{second}/transcript", headers=alpha.headers).json()
    tonight = next(s for s in t2["segments"] if "tonight" in s["text"].lower())
    assert tonight["speaker_name"] == "Alice" and all(w["speaker_name"] == "Alice" for w in tonight["words"])
    assert all(s["speaker_name"] is None for s in t2["segments"] if s["speaker"] == "S1")
    srt = c.get(f"{V}/videos/{second}/transcript?format=srt&speakers=true", headers=alpha.headers).text
    assert "[Alice]" in srt and "[S1]" in srt
    assert "Alice:" in c.get(f"{V}/videos/{second}/transcript?format=txt&speakers=true", headers=alpha.headers).text

    # another tenant's profiles never match, and are not listed or deletable
    assert _speakers_json(p, bravo.id, other)["names"] == {}
    tb = c.get(f"{V}/videos/{other}/transcript?format=srt&speakers=true", headers=bravo.headers).text
    assert "Alice" not in tb
    assert c.get(f"{V}/speakers", headers=bravo.headers).json()["items"] == []
    assert c.delete(f"{V}/speakers/{alice['id']}", headers=bravo.headers).status_code == 404
    listed = c.get(f"{V}/speakers", headers=alpha.headers).json()["items"]
    assert [s["name"] for s in listed] == ["Alice"]

    # naming the same voice again averages it in; deleting removes the embedding and the name
    r = c.post(f"{V}/videos/{second}/speakers/S2/name", headers=alpha.headers, json={"name": "Alice"})
    assert r.json()["id"] == alice["id"] and r.json()["samples"] == 2
    assert c.delete(f"{V}/speakers/{alice['id']}", headers=alpha.headers).status_code == 204
    with p.db.system(reason=SystemReason.OPERATOR) as s:
        assert s.get(SpeakerProfile, uuid.UUID(alice["id"])) is None
    assert c.get(f"{V}/videos/{second}/transcript", headers=alpha.headers).json()["speaker_names"] == {}
