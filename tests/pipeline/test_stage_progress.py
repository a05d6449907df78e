"""Long stages report progress from inside (audio seconds transcribed, frames decoded), so the job's
progress moves during the stage instead of jumping at its end."""

from __future__ import annotations

import pytest

from clipdex.jobs import runner
from clipdex.pipeline import registry
from tests.conftest import api_client, drain, migrated_sqlite_settings, new_tenant, open_platform, upload
from tests.media import make_video
from tests.speech import media

pytestmark = pytest.mark.slow


@pytest.fixture
def progress_log(monkeypatch):
    """Every progress value a stage reports, by stage name (the lease keeps only the latest)."""
    log: dict[str, list[float]] = {}
    original = runner._Lease.set_progress

    def record(self, value):
        log.setdefault(self.claim.name, []).append(value)
        original(self, value)

    monkeypatch.setattr(runner._Lease, "set_progress", record)
    return log


def _run(tmp_path, stages, path, **settings):
    st = migrated_sqlite_settings(tmp_path, disabled_stages=[n for n in registry.all_stages() if n not in stages],
                                  **settings)
    with open_platform(st) as p, api_client(p) as c:
        t = new_tenant(p, c, "Progress")
        assert upload(c, t, path).status_code == 201
        drain(p)


def test_transcription_reports_audio_seconds_as_it_decodes(tmp_path, progress_log):
    lines = [("en-us", "Good morning everyone, thank you for joining the call today."),
             ("en-us+f3", "Thanks, happy to be here. Shall we start with the budget?"),
             ("en-us", "Yes, the budget for next year is ready for review."),
             ("en-us+f3", "Great, please share the numbers with the whole team.")]
    gap = media.silence(tmp_path / "gap.wav", 0.8)
    parts = []
    for i, (voice, text) in enumerate(lines):
        parts += [media.speak(tmp_path / f"l{i}.wav", text, voice=voice), gap]
    wav = media.concat(tmp_path / "talk.wav", parts)
    _run(tmp_path, {"fetch", "probe", "extract_audio", "transcribe"}, media.to_video(wav, tmp_path / "talk.mp4"),
         asr_threads=2)  # one chunk (asr_chunk_s is 120 s): before, the only report was 1.0 at its end
    seen = progress_log["transcribe"]
    inside = [v for v in seen if 0.0 < v < 1.0]
    assert len(set(inside)) >= 3, seen
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_visual_stage_reports_decoded_frames(tmp_path, progress_log):
    video = make_video(tmp_path / "long.mp4", seconds=24, size="160x120", rate=25, audio=False)
    _run(tmp_path, {"fetch", "probe", "visual"}, video, visual_faces=False, visual_ocr=False, visual_tags=False)
    inside = sorted({v for v in progress_log["visual"] if 0.0 < v < 0.9})
    assert len(inside) >= 6, progress_log["visual"]  # at least every few seconds of video
