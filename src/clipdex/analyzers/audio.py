"""Stage ``extract_audio``: the one decode of the audio track, 16 kHz mono WAV for every audio model."""

from __future__ import annotations

from pathlib import Path

from clipdex.media.formats import pinned_for
from clipdex.media.transcode import extract_audio
from clipdex.pipeline.stage import StageResult


class ExtractAudioStage:
    name, version = "extract_audio", "1"
    requires = ("probe",)
    inputs = ()
    outputs = ("audio.wav",)
    queue = "cpu"

    def run(self, ctx):
        if not ctx.upstream.get("probe", {}).get("has_audio"):
            return StageResult.skipped("no audio stream")
        with ctx.source_path() as src, ctx.scratch_dir() as tmp:
            out = Path(tmp) / "audio.wav"
            ctx.progress(0.05)
            extract_audio(ctx.settings, src, out, fmt=pinned_for(ctx.video.media))
            ctx.check_alive()
            ctx.write_artifact("audio.wav", out, "audio/wav", sample_rate=16000, channels=1)
        return {"sample_rate": 16000, "channels": 1}


STAGE = ExtractAudioStage()
