"""Two-hour films: the voice-activity and sound-event front ends work in blocks, so their memory does
not grow with the audio, and the block edges change nothing a listener would notice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from clipdex.analyzers import sound_events
from clipdex.speech.vad import speech_timestamps
from tests.media import FFMPEG

SR = 16000
HARVARD = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "speech" / "harvard" / "OSR_us_000_0034_8k.wav"


def _talk() -> np.ndarray:
    """The corpus's Harvard sentences (real read speech with pauses), twice: about 70 s at 16 kHz."""
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(HARVARD), "-ac", "1", "-ar", str(SR), "-f", "f32le", "-"],
                         check=True, capture_output=True).stdout
    one = np.frombuffer(raw, np.float32)
    return np.concatenate([one, one])


def test_vad_in_blocks_finds_the_regions_of_one_pass():
    audio = _talk()
    opts = VadOptions(threshold=0.4, min_silence_duration_ms=300, speech_pad_ms=100)
    whole = get_speech_timestamps(audio, opts)
    blocks = speech_timestamps(audio, opts, block_s=20)
    speech = lambda ts: sum(t["end"] - t["start"] for t in ts) / SR  # noqa: E731
    assert abs(len(blocks) - len(whole)) <= 3  # a block edge may split or join one region
    assert abs(speech(blocks) - speech(whole)) <= 0.02 * speech(whole)
    for t in blocks:  # every region found in blocks overlaps one found in one pass
        assert any(t["start"] < w["end"] and w["start"] < t["end"] for w in whole)


def test_log_mel_in_blocks_is_the_one_pass_spectrogram(monkeypatch):
    audio = _talk()[: 20 * SR]
    whole = sound_events.log_mel(audio)
    monkeypatch.setattr(sound_events, "FRAME_BLOCK", 333)  # many blocks, edges anywhere
    assert np.allclose(sound_events.log_mel(audio), whole, atol=1e-5)
    assert len(list(sound_events.patches(audio))) == (len(whole) - sound_events.PATCH_FRAMES) // \
        sound_events.PATCH_HOP + 1
