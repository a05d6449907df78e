"""The plug-in contract, end to end: the example analyzer in examples/ is installed as a separate
package (no network: pip builds it from its folder with the setuptools already here), found through
its ``clipdex.stages`` entry point, planned and run in a real job after real transcription, and its
artifact is listed and served by the API."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clipdex.pipeline import registry
from tests.conftest import api_client, drain, migrated_sqlite_settings, new_tenant, open_platform, upload
from tests.speech import media

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "clipdex-example-analyzer"
KEEP = {"probe", "extract_audio", "transcribe", "speaking_rate"}
V = "/api/v1"
TEXT = ("The quick brown fox jumps over the lazy dog. Every good boy deserves fudge, "
        "and she sells sea shells by the sea shore.")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example installed into a folder of its own and put on the path; gone afterwards."""
    root = tmp_path_factory.mktemp("plugin")
    src, target = root / "src", root / "site"
    shutil.copytree(EXAMPLE, src)  # pip builds in the source folder: keep the repository clean
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(target), str(src)], check=True, timeout=300)
    saved = dict(registry._STAGES)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        sys.modules.pop("clipdex_speaking_rate", None)
        importlib.invalidate_caches()
        registry._STAGES.clear()
        registry._STAGES.update(saved)


def test_example_analyzer_is_not_part_of_clipdex():
    assert "speaking_rate" not in registry.all_stages()  # only its own installation brings it


def test_installed_example_runs_in_a_job_and_is_served(installed, tmp_path):
    stages = registry.discover()
    assert "speaking_rate" in stages
    assert type(stages["speaking_rate"]).__module__ == "clipdex_speaking_rate"  # from the installed package
    assert Path(sys.modules["clipdex_speaking_rate"].__file__).is_relative_to(installed)

    wav = media.speak(tmp_path / "speech.wav", TEXT, speed=160)
    clip = media.to_video(wav, tmp_path / "speech.mp4")
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[n for n in stages if n not in KEEP],
                                        asr_threads=2)
    with open_platform(settings) as p, api_client(p) as c:
        t = new_tenant(p, c, "Plug")
        vid = upload(c, t, clip, language="en").json()["id"]
        drain(p)
        detail = c.get(f"{V}/videos/{vid}", headers=t.headers).json()
        assert detail["status"] == "ready", detail
        ran = {s["name"]: s for s in detail["job"]["stages"]}
        assert set(ran) == KEEP and ran["speaking_rate"]["status"] == "succeeded"

        arts = c.get(f"{V}/videos/{vid}/artifacts", headers=t.headers).json()
        art = next(a for a in arts if a["name"] == "speaking_rate.json")
        assert art["stage"] == "speaking_rate" and art["content_type"] == "application/json"
        link = c.get(f"{V}/videos/{vid}/artifacts/{art['id']}/download", headers=t.headers).json()
        doc = json.loads(c.get(link["url"].replace("http://127.0.0.1:8000", "")).content)
        transcript = c.get(f"{V}/videos/{vid}/transcript", headers=t.headers).json()

    words = [w for s in transcript["segments"] for w in s["words"]]
    assert doc["words"] == len(words) >= 15  # it read this video's transcript, handed in by the runner
    assert sum(m["words"] for m in doc["minutes"]) == doc["words"]
    speech_s = sum(s["end"] - s["start"] for s in transcript["segments"])
    assert doc["wpm"] == pytest.approx(len(words) * 60 / speech_s, rel=0.01)
    assert 90 <= doc["wpm"] <= 260  # espeak-ng was asked for 160 words a minute
