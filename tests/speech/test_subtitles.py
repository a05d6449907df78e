"""Subtitle cues obey the broadcast rules on real word timings and on adversarial input."""

from __future__ import annotations

from clipdex.analyzers.transcription import transcribe_array
from clipdex.speech import subtitles
from clipdex.speech import words as wording
from clipdex.speech.subtitles import MAX_CPS, MAX_LINE, MAX_S, MIN_S, build_cues


def _check(cues, words):
    assert cues
    assert " ".join(" ".join(c.lines) for c in cues).split() == wording.join(words).split()
    for a, b in zip(cues, cues[1:]):
        assert a.end <= b.start
    for c in cues:
        assert 1 <= len(c.lines) <= 2 and all(len(line) <= MAX_LINE for line in c.lines)
        assert MIN_S - 1e-6 <= c.end - c.start <= MAX_S + 1e-6 or c is cues[-1]
        assert c.chars / (c.end - c.start) <= MAX_CPS + 0.5


def test_cues_from_real_word_timings(whisper, asr_opts, sms_audio):
    segs = transcribe_array(whisper, sms_audio, asr_opts, "en")["segments"]
    words = [w for s in segs for w in s["words"]]
    cues = build_cues(words)
    _check(cues, words)
    srt, vtt = subtitles.to_srt(cues), subtitles.to_vtt(cues)
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    assert vtt.startswith("WEBVTT\n\n00:00:0")


def test_long_fast_speech_is_split_at_punctuation_and_pauses():
    text = ("So this is a rather long sentence, spoken quite quickly, that can never fit one cue. "
            "Then a pause. And another one after the pause, with several clauses, for good measure.").split()
    words, t = [], 0.0
    for w in text:
        if w == "Then":
            t += 1.5  # a pause
        words.append({"word": w, "start": round(t, 2), "end": round(t + 0.25, 2), "speaker": "S1"})
        t += 0.3
    cues = build_cues(words)
    _check(cues, words)
    assert any(c.lines[-1].endswith(("one cue.", "pause.")) for c in cues)


def test_speaker_labels_and_speaker_changes():
    words = [{"word": w, "start": i * 0.4, "end": i * 0.4 + 0.3, "speaker": "S1" if i < 4 else "S2"}
             for i, w in enumerate("hello there my friend hi back to you".split())]
    cues = build_cues(words, speakers=True)
    assert [c.speaker for c in cues] == ["S1", "S2"]
    assert cues[0].lines[0].startswith("[S1] ") and cues[1].lines[0].startswith("[S2] ")


def test_sound_event_cues_fill_only_the_gaps_without_speech():
    from clipdex.speech.subtitles import Cue, add_event_cues, to_srt

    speech = [Cue(2.0, 4.0, ["Hello there."]), Cue(12.0, 13.5, ["Goodbye."])]
    events = [{"tag": "music", "start": 0.0, "end": 11.0}, {"tag": "speech", "start": 2.0, "end": 4.0},
              {"tag": "applause", "start": 13.0, "end": 15.0}, {"tag": "silence", "start": 16.0, "end": 20.0},
              {"tag": "laughter", "start": 3.0, "end": 4.2}, {"tag": "singing", "start": 5.0, "end": 9.0}]
    cues = add_event_cues(speech, events)
    got = [(c.start, c.end, c.lines) for c in cues]
    assert got == [(0.0, 1.7, ["[music]"]), (2.0, 4.0, ["Hello there."]), (4.3, 11.0, ["[music]"]),
                   (12.0, 13.5, ["Goodbye."]), (13.8, 15.0, ["[applause]"])]
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))  # nothing overlaps
    assert "[music]" in to_srt(cues) and add_event_cues(speech, []) == speech
