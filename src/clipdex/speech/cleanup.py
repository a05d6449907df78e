"""Keeping invented text out of transcripts: hallucination filter and repeated-phrase loop suppression.

Whisper, given silence or music, tends to produce stock phrases ("Thank you.", "Thanks for
watching!") or to loop on one phrase. Decoder thresholds catch most of it; these rules catch the rest.
"""

from __future__ import annotations

import re

from clipdex.speech import words as wording

# Phrases Whisper is known to invent over non-speech; dropped only when the segment is also unsure.
STOCK_PHRASES = {
    "thank you", "thanks for watching", "thank you for watching", "thank you so much for watching",
    "please subscribe", "subscribe to my channel", "like and subscribe", "you", "bye", "bye bye",
    "subtitles by the amara org community", "transcription by castingwords", "music", "applause",
    "so", "okay", "oh", "uh", "um", "hmm", "the end", "ご視聴ありがとうございました",
    "untertitel der amara org community",
    "sous titres réalisés par la communauté d amara org", "subtítulos realizados por la comunidad de amara org",
}
_WORD = re.compile(r"[^\w']+", re.UNICODE)


def plain(text: str) -> str:
    return " ".join(_WORD.sub(" ", text.lower()).split())


def mean_prob(words: list[dict]) -> float:
    return sum(w["probability"] for w in words) / len(words) if words else 0.0


def is_invented(seg: dict) -> bool:
    """A segment that is most likely not speech: unsure and empty, stock, or a compressed loop."""
    words = seg["words"]
    if not words or not plain(seg["text"]):
        return True
    conf = mean_prob(words)
    if seg.get("no_speech_prob", 0.0) > 0.6 and seg.get("avg_logprob", 0.0) < -0.8:
        return True
    if plain(seg["text"]) in STOCK_PHRASES and (conf < 0.75 or seg.get("no_speech_prob", 0.0) > 0.2):
        return True
    if conf < 0.25:
        return True
    return seg.get("compression_ratio", 0.0) > 2.6


def collapse_loops(words: list[dict], max_n: int = 8) -> list[dict]:
    """Collapse an n-gram repeated back to back (3+ times, or 5+ for single words) to one occurrence."""
    keys = [plain(w["raw"]) for w in words]
    out_idx: list[int] = []
    i = 0
    while i < len(words):
        collapsed = False
        for n in range(max_n, 0, -1):
            if i + 2 * n > len(words):
                continue
            gram = keys[i:i + n]
            if not any(gram):
                continue
            reps = 1
            while keys[i + reps * n:i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= (5 if n == 1 else 3):
                out_idx.extend(range(i, i + n))
                i += reps * n
                collapsed = True
                break
        if not collapsed:
            out_idx.append(i)
            i += 1
    return [words[j] for j in out_idx]


def clean_segments(segments: list[dict]) -> list[dict]:
    """Drop invented segments, collapse loops inside segments and identical segments in a row."""
    out: list[dict] = []
    run = 0
    for seg in segments:
        if is_invented(seg):
            continue
        words = collapse_loops(seg["words"])
        if len(words) != len(seg["words"]):
            seg = dict(seg, words=words, text=wording.join(
                {"word": w["raw"], "space": wording.space_before(w["raw"])} for w in words))
        if out and plain(out[-1]["text"]) == plain(seg["text"]):
            run += 1
            if run >= 1:  # the same sentence twice in a row is a decoder loop, not speech
                continue
        else:
            run = 0
        out.append(seg)
    return out
