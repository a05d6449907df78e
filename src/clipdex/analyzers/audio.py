"""Stage ``extract_audio``: the one decode of the audio track, 16 kHz mono WAV for every audio model."""

from __future__ import annotations

from pathlib import Path

from clipdex.media.formats import pinned_for
from clipdex.media.transcode import extract_audio
from clipdex.pipeline import registry


class ExtractAudioStage:
    name, version = "extract_audio", "1"
    requires = ("probe",)
    produces = ("audio.wav",)
    queue = "cpu"

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        if not ctx.inputs.get("probe", {}).get("has_audio"):
            return {"skipped": "no audio stream"}
        with ctx.source_path() as src, ctx.scratch_dir() as tmp:
            out = Path(tmp) / "audio.wav"
            ctx.progress(0.05)
            extract_audio(ctx.settings, src, out, fmt=pinned_for(ctx.video.media))
            ctx.check_alive()
            ctx.write_artifact("audio.wav", out, "audio/wav", sample_rate=16000, channels=1)
        return {"sample_rate": 16000, "channels": 1}


registry.register(ExtractAudioStage())
