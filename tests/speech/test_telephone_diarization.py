"""Two people on a phone line are two speakers: espeak-ng voices of different pitch and gender, cut
to 8 kHz telephone band (300-3400 Hz) with overlapping turns, scored by DER against the exact turn
times the test builds. One voice on the same line stays one speaker (the corpus's 8 kHz Harvard list).

Before the silhouette split (issue 17, item 10) both calls below came out as one speaker, DER 0.43."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clipdex.analyzers.diarization import diarize
from clipdex.evaluation.der import Turn, der, turns_of
from clipdex.speech.audio import SR, load_any
from tests.speech.media import SOX, speak

pytestmark = pytest.mark.slow  # resemblyzer over ~40 s of audio per call
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
LINES = ["Hello, thanks for calling the support line, how can I help you today?",
         "Hi, I ordered a camera last week and it still has not arrived.",
         "I am sorry to hear that. Could you give me the order number please?",
         "Sure, it is four five seven two nine one.",
         "Thank you. I can see the parcel left our warehouse on Monday.",
         "Monday? The tracking page says nothing at all.",
         "The courier updates the page late. It should arrive tomorrow morning.",
         "All right, and if it does not come, what should I do?"]


def _voice(tmp: Path, text: str, voice: str, i: int) -> np.ndarray:
    raw, wav = tmp / f"raw-{i}.wav", tmp / f"turn-{i}.wav"
    speak(raw, text, voice=voice, speed=160)
    subprocess.run([SOX, str(raw), "-r", str(SR), "-c", "1", "-b", "16", str(wav)], check=True)
    a = sf.read(wav, dtype="float32")[0]
    loud = np.nonzero(np.abs(a) > 0.01)[0]
    return a[loud[0]:loud[-1] + 1]


def phone_call(tmp: Path, voices: tuple[str, str], overlap_s: float = 0.6) -> tuple[np.ndarray, list[Turn]]:
    """Alternating turns (every third one overlapping the next), telephone band, back at 16 kHz."""
    pos, parts, reference = 0.5, [], []
    for i, line in enumerate(LINES):
        a = _voice(tmp, line, voices[i % 2], i)
        parts.append((round(pos * SR), a))
        reference.append(Turn(pos, pos + len(a) / SR, "AB"[i % 2]))
        pos += len(a) / SR + (-overlap_s if i % 3 == 1 else 0.4)
    mix = np.zeros(round((pos + 1) * SR), np.float32)
    for start, a in parts:
        mix[start:start + len(a)] += a
    wide, narrow, back = tmp / "call.wav", tmp / "call-8k.wav", tmp / "call-8k-16k.wav"
    sf.write(wide, mix / max(1.0, float(np.abs(mix).max()) / 0.9), SR)
    subprocess.run([SOX, str(wide), "-r", "8000", str(narrow), "sinc", "300-3400"], check=True)
    subprocess.run([SOX, str(narrow), "-r", str(SR), str(back)], check=True)
    return sf.read(back, dtype="float32")[0], reference


@pytest.mark.parametrize("voices", [("en-us+m3", "en-us+f3"), ("en-us+f2", "en-gb+f4")], ids=["man-woman", "two-women"])
def test_two_voices_on_a_phone_line_are_two_speakers(tmp_path, voices):
    audio, reference = phone_call(tmp_path, voices)
    found = diarize(audio)
    assert len(found["speakers"]) == 2
    score = der(reference, turns_of(found["turns"]))
    assert score.der < 0.15, score.as_dict()


def test_one_voice_on_a_phone_line_stays_one_speaker():
    harvard = CORPUS / "speech" / "harvard" / "OSR_us_000_0034_8k.wav"
    if not harvard.is_file():
        pytest.skip(f"shared corpus file {harvard} missing")
    assert diarize(load_any(harvard))["speakers"] == ["S1"]
