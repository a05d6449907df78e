"""Speech fixtures: models loaded once per session through the runtime cache; generated media."""

from __future__ import annotations

import pytest

from clipdex.speech.asr_models import AsrOptions, load_whisper
from clipdex.speech.audio import read_wav
from tests.speech import media


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("speech-media")


@pytest.fixture(scope="session")
def asr_opts():
    return AsrOptions(threads=2)  # the shipped defaults: tiny.en, int8, beam 1, VAD on


@pytest.fixture(scope="session")
def whisper(asr_opts, tmp_path_factory):
    return load_whisper(asr_opts, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def sms_wav(speech_dir):
    """speech / 8 s of music / speech, the input on which VAD + word timestamps once lost everything."""
    a = media.speak(speech_dir / "a.wav", media.SENTENCE_A)
    b = media.speak(speech_dir / "b.wav", media.SENTENCE_B, voice="en-us+f3")
    m = media.music(speech_dir / "music.wav", 8.0)
    return media.concat(speech_dir / "sms.wav", [a, m, b])


@pytest.fixture(scope="session")
def sms_audio(sms_wav):
    return read_wav(sms_wav)


@pytest.fixture(scope="session")
def dialogue_wav(speech_dir):
    """Two espeak voices (male, female) taking turns, with short pauses."""
    lines = [("en-us", "Good morning everyone, thank you for joining the call today."),
             ("en-us+f3", "Thanks, happy to be here. Shall we start with the budget?"),
             ("en-us", "Yes, the budget for next year is ready for review."),
             ("en-us+f3", "Great, please share the numbers with the whole team.")]
    gap = media.silence(speech_dir / "gap.wav", 0.5)
    parts = []
    for i, (voice, text) in enumerate(lines):
        parts += [media.speak(speech_dir / f"d{i}.wav", text, voice=voice), gap]
    return media.concat(speech_dir / "dialogue.wav", parts)


DIALOGUE_TEXT = ("Good morning everyone, thank you for joining the call today. Thanks, happy to be here. "
                 "Shall we start with the budget? Yes, the budget for next year is ready for review. "
                 "Great, please share the numbers with the whole team.")
