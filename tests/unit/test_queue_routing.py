"""Stages go to the queue of the resources they use: Whisper on a GPU goes to the gpu workers."""

from __future__ import annotations

from clipdex.pipeline import registry
from clipdex.settings import Settings


def test_transcription_follows_the_configured_device(tmp_path):
    registry.discover()
    cpu, gpu = Settings(data_dir=tmp_path), Settings(data_dir=tmp_path, asr_device="cuda")
    stages = registry.all_stages()
    assert registry.queue_of(stages["transcribe"], cpu) == "cpu"
    assert registry.queue_of(stages["transcribe"], gpu) == "gpu"
    assert {registry.queue_of(s, gpu) for n, s in stages.items() if n != "transcribe"} == {"cpu"}
