"""The transcription path the stage uses, on generated speech, music and silence (real tiny.en)."""

from __future__ import annotations

import numpy as np

from clipdex.analyzers.transcription import transcribe_array
from clipdex.evaluation.wer import error_rate
from clipdex.speech import cleanup
from clipdex.speech.audio import SR, chunk_bounds, read_wav
from tests.speech import media


def _wer(ref: str, segs: list[dict]) -> float:
    e, n = error_rate(ref, " ".join(s["text"] for s in segs))
    return e / n


def test_speech_music_speech_with_the_shipped_settings(whisper, asr_opts, sms_audio):
    # VAD filter + word timestamps, exactly as shipped: both sentences, nothing during the music.
    assert asr_opts.vad
    out = transcribe_array(whisper, sms_audio, asr_opts, "en")
    segs = out["segments"]
    assert segs, "VAD + word timestamps returned no segments"
    assert _wer(f"{media.SENTENCE_A} {media.SENTENCE_B}", segs) <= 0.15
    words = [w for s in segs for w in s["words"]]
    first_end = next(w["end"] for w in words if w["word"].lower().startswith("platform"))
    music_span = (first_end + 1.0, first_end + 7.0)
    assert not [w for w in words if music_span[0] < w["start"] < music_span[1]]
    for s in segs:
        assert s["language"] == "en" and 0 < s["confidence"] <= 1 and s["speaker"] is None
        assert all(s["start"] <= w["start"] <= w["end"] <= s["end"] + 0.01 for w in s["words"])
        assert all(0 <= w["probability"] <= 1 for w in s["words"])


def test_no_invented_words_over_silence_noise_or_music(whisper, asr_opts, speech_dir):
    quiet = read_wav(media.silence(speech_dir / "quiet.wav", 20))
    hiss = read_wav(media.silence(speech_dir / "hiss.wav", 12, noise=0.02))
    tune = read_wav(media.concat(speech_dir / "tune16.wav", [media.music(speech_dir / "tune.wav", 12.0)]))
    for audio in (quiet, hiss, tune):
        assert transcribe_array(whisper, audio, asr_opts, "en")["segments"] == []


def test_loops_and_stock_phrases_are_removed():
    def seg(text, prob=0.9, **kw):
        words = [{"raw": " " + w, "start": i * 0.3, "end": i * 0.3 + 0.2, "probability": prob}
                 for i, w in enumerate(text.split())]
        return {"text": text, "words": words, "avg_logprob": -0.3, "no_speech_prob": 0.1, **kw}

    looped = cleanup.clean_segments([seg("we will we will we will we will rock you")])
    assert looped[0]["text"] == "we will rock you"
    assert cleanup.clean_segments([seg("Thank you.", prob=0.4)]) == []
    assert cleanup.clean_segments([seg("no speech here", no_speech_prob=0.9, avg_logprob=-1.2)]) == []
    same = cleanup.clean_segments([seg("the same line"), seg("the same line"), seg("another line")])
    assert [s["text"] for s in same] == ["the same line", "another line"]


def test_chunks_are_deterministic_and_cut_in_quiet_places(sms_audio):
    b1, b2 = chunk_bounds(sms_audio, 5.0, search_s=2.0), chunk_bounds(sms_audio, 5.0, search_s=2.0)
    assert b1 == b2 and b1[0][0] == 0 and b1[-1][1] == len(sms_audio)
    assert all(a1 == b0 for (_, a1), (b0, _) in zip(b1, b1[1:]))
    loud = np.abs(sms_audio).mean()
    for _, cut in b1[:-1]:
        assert np.abs(sms_audio[cut - SR // 20:cut + SR // 20]).mean() < loud


def test_chunked_transcript_matches_the_whole(whisper, asr_opts, sms_audio):
    whole = transcribe_array(whisper, sms_audio, asr_opts, "en")["segments"]
    parts = []
    for a, b in chunk_bounds(sms_audio, 6.0, search_s=3.0):
        parts += transcribe_array(whisper, sms_audio[a:b], asr_opts, "en", offset_s=a / SR)["segments"]
    ref = f"{media.SENTENCE_A} {media.SENTENCE_B}"
    assert _wer(ref, parts) <= _wer(ref, whole) + 0.1
    assert all(x["start"] <= y["start"] for x, y in zip(parts, parts[1:]))
