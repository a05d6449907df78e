"""Media and platforms shared by the search and answer tests: a two-sentence talk with known times."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from clipdex.pipeline import registry
from clipdex.platform import Platform
from tests.conftest import migrated_sqlite_settings
from tests.speech import media

GAP_S = 3.0
SECRET_B = "The zebra migration crosses the river every October near the old bridge."


def talk_video(tmp: Path) -> tuple[Path, float]:
    """SENTENCE_A, GAP_S of silence, SENTENCE_B; returns the MP4 and the time SENTENCE_B starts."""
    wa = media.speak(tmp / "a.wav", media.SENTENCE_A)
    wb = media.speak(tmp / "b.wav", media.SENTENCE_B, voice="en-us+f3")
    speech = media.concat(tmp / "talk.wav", [wa, media.silence(tmp / "gap.wav", GAP_S), wb])
    return media.to_video(speech, tmp / "talk.mp4"), sf.info(str(tmp / "talk-part0.wav")).duration + GAP_S


def spoken_video(tmp: Path, name: str, text: str) -> Path:
    return media.to_video(media.speak(tmp / f"{name}.wav", text), tmp / f"{name}.mp4")


def pipeline_platform(tmp: Path, stages: set[str], **overrides) -> Platform:
    """A SQLite platform that plans only ``stages``."""
    registry.discover()
    off = [n for n in registry.all_stages() if n not in stages]
    return Platform.from_settings(migrated_sqlite_settings(tmp, disabled_stages=off, asr_threads=2, **overrides))


def assert_ready(client, pairs, prefix: str = "/api/v1") -> None:
    for ctx, vid in pairs:
        v = client.get(f"{prefix}/videos/{vid}", headers=ctx.headers).json()
        assert v["status"] == "ready", v
