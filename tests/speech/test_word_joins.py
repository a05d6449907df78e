"""Text rebuilt from Whisper's words reads like Whisper's own text: "quarter-lit", "400,000", never
"quarter -lit" or "400 ,000" (subtitles, split segments, summaries, Ask citations, the index)."""

from __future__ import annotations

import json

from clipdex.rag import answer as answers
from clipdex.rag import text as tx
from clipdex.rag.citations import Quote, Sentence
from clipdex.search import documents
from clipdex.speech import subtitles, transcript
from clipdex.speech import words as wording

# What the transcription stage stores for " The quarter-lit hall cost 400,000 dollars." (Whisper's
# tokens: " quarter" "-lit", " 400" ",000").
RAW = [" The", " quarter", "-lit", " hall", " cost", " 400", ",000", " dollars."]


def _words(raw=RAW, t0=0.0, speaker=None, flags=True):
    out = []
    for i, r in enumerate(raw):
        w = {"word": r.strip(), "start": round(t0 + i * 0.3, 2), "end": round(t0 + i * 0.3 + 0.25, 2),
             "probability": 0.9, "speaker": speaker}
        if flags:
            w["space"] = wording.space_before(r)
        out.append(w)
    return out


def _segment(words, text="The quarter-lit hall cost 400,000 dollars."):
    return {"start": words[0]["start"], "end": words[-1]["end"], "text": text, "words": words, "speaker": None}


def test_join_matches_whisper_text_with_and_without_stored_flags():
    assert wording.join(_words()) == "The quarter-lit hall cost 400,000 dollars."
    # transcripts stored before the flag existed: the token's shape decides
    assert wording.join(_words(flags=False)) == "The quarter-lit hall cost 400,000 dollars."
    assert wording.join(["It", "is", "a", "well", "-known", "fact", "."]) == "It is a well-known fact."
    assert wording.join(["价格", "是", "四十万"]) == "价格是四十万"
    # a lone dash between words keeps its spaces when Whisper spaced it
    dash = [{"word": "yes", "space": True}, {"word": "-", "space": True}, {"word": "no", "space": True}]
    assert wording.join(dash) == "yes - no"


def test_subtitle_cues_keep_subword_tokens_together():
    words = _words() * 3
    for i, w in enumerate(words):
        words[i] = dict(w, start=round(i * 0.3, 2), end=round(i * 0.3 + 0.25, 2))
    srt = subtitles.to_srt(subtitles.build_cues(words))
    vtt = subtitles.to_vtt(subtitles.build_cues(words, speakers=True))
    for out in (srt, vtt):
        assert "quarter-lit" in out and "400,000" in out
        assert "quarter -lit" not in out and "400 ,000" not in out and " ,000" not in out
    # a line never breaks inside a glued word, even where that would balance the lines best
    long = _words([" Revenue", " was", " 400", ",000", ",000", " in", " the", " quarter", "-lit", " hall",
                   " downtown", " yesterday."])
    cues = subtitles.build_cues(long)
    lines = [line for c in cues for line in c.lines]
    assert " ".join(lines) == "Revenue was 400,000,000 in the quarter-lit hall downtown yesterday."
    assert all(not line.startswith((",", "-")) for line in lines)


def test_segments_split_by_speaker_join_their_words_like_whisper():
    words = _words()
    turns = [{"start": 0.0, "end": 0.55, "speaker": "S1"}, {"start": 0.55, "end": 9.0, "speaker": "S2"}]
    segs = transcript.assign_speakers([_segment(words)], turns)
    assert [s["text"] for s in segs] == ["The quarter-lit", "hall cost 400,000 dollars."]


def test_summary_and_citation_sentences_and_index_rows_join_like_whisper():
    seg = _segment(_words())
    assert [s.text for s in tx.transcript_sentences({"segments": [seg]})] == [seg["text"]]
    src = documents.Source(video={"id": "v", "title": "t", "tags": [], "language": "en", "uploaded_ts": 0.0},
                           segments=[seg, _segment(_words(t0=3.0), seg["text"])])
    row = documents.build_rows(src)[0]
    assert row["text"] == f"{seg['text']} {seg['text']}"
    pairs = json.loads(row["words"])
    assert [0.6, "-lit", 1] in pairs and [0.3, "quarter"] in pairs
    timed = tx.sentences_from_word_starts(pairs, 6.0)
    assert [s.text for s in timed] == [seg["text"], seg["text"]]
    # Ask narrows a citation to the sentence used: its quoted text is that sentence, joined right
    q = Quote(1, "v", 0.0, 6.0, row["text"], words=row["words"])
    ans = answers.narrow(answers.Answer("The hall cost 400,000 dollars. [1]", [q],
                                        [Sentence("The hall cost 400,000 dollars.", [1], True)], True))
    assert ans.citations[0].text == "The quarter-lit hall cost 400,000 dollars."


def test_api_words_carry_the_space_flag_for_the_console():
    legacy = transcript.wording.normalise(_words(flags=False))
    assert [w["space"] for w in legacy] == [wording.space_before(r) for r in RAW]


def test_real_whisper_sub_word_tokens_join_back_to_its_text(whisper, asr_opts, speech_dir):
    from clipdex.analyzers.transcription import transcribe_array
    from clipdex.speech.audio import load_any
    from tests.speech import media

    wav = media.speak(speech_dir / "figures.wav", "We sold 1,250 tickets at 12.50 dollars each, a well-known record. "
                                                  "The forecast is 400,000 dollars.", speed=140)
    segs = transcribe_array(whisper, load_any(wav), asr_opts, "en")["segments"]
    words = [w for s in segs for w in s["words"]]
    glued = [w["word"] for w in words if not w["space"]]
    assert glued, [w["word"] for w in words]  # Whisper did split numbers/hyphenated words into tokens
    for s in segs:
        assert wording.join(s["words"]) == s["text"]
    srt = subtitles.to_srt(subtitles.build_cues(words))
    for token in glued:
        assert f" {token}" not in srt and f"\n{token}" not in srt  # glued to its word in every cue
