"""The one way text is rebuilt from Whisper's words.

Whisper's tokens carry their own leading space (" quarter", "-lit"; " 400", ",000"; no space at all
between Chinese or Japanese characters), and its segment text is those tokens concatenated. The
stage stores each word stripped with ``space``: whether a space came before it. Every place that
turns words back into text (subtitle cues, split segments, sentences for summaries and Ask, the
index's word timings, the console's transcript panel via the API) joins through ``join`` so they
all read like the plain-text transcript: "quarter-lit", "400,000".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Transcripts stored before ``space`` existed: a token that starts with a joining mark followed by a
# letter or digit ("-lit", ",000", ".5", "'s"), or that is only closing punctuation, continued the word
# before it (what faster-whisper's word splitter produces for such tokens).
_GLUED = re.compile(r"^(?:[-‐–,.'’%/][^\W_]|[.,!?;:%)\]}”’…、。，！？：]+$)", re.UNICODE)
# Scripts written without spaces: neighbouring words of these scripts never get one.
_NO_SPACE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")


def space_before(raw: str) -> bool:
    """From a raw Whisper token: does it start a new word (a leading space)?"""
    return raw[:1].isspace()


def text_of(w) -> str:
    return (w.get("word", "") if isinstance(w, dict) else w[1] if isinstance(w, (list, tuple)) else str(w)).strip()


def spaced(w, prev=None) -> bool:
    """Whether ``w`` (a word dict, an index pair ``[t, word(, glued)]`` or a string) is written after a space.

    The stored flag decides; words stored without it fall back to the shape of the token.
    """
    if isinstance(w, dict) and "space" in w:
        return bool(w["space"])
    if isinstance(w, (list, tuple)) and len(w) > 2:
        return not w[2]
    word = text_of(w)
    if _GLUED.match(word):
        return False
    return not (prev is not None and _NO_SPACE.match(word[:1]) and _NO_SPACE.search(text_of(prev)[-1:] or " "))


def join(words: Iterable) -> str:
    """The text of a run of words, spaced the way Whisper wrote them."""
    out: list[str] = []
    prev = None
    for w in words:
        t = text_of(w)
        if not t:
            continue
        if out and spaced(w, prev):
            out.append(" ")
        out.append(t)
        prev = w
    return "".join(out)


def normalise(words: Sequence[dict]) -> list[dict]:
    """The same words, each with an explicit ``space`` (the API's and the console's view)."""
    out, prev = [], None
    for i, w in enumerate(words):
        out.append(dict(w, space=True if i == 0 and "space" not in w else spaced(w, prev)))
        prev = w
    return out


def index_pairs(words: Iterable[dict]) -> list[tuple]:
    """``(start, word)`` for the index, ``(start, word, 1)`` where the word continues the one before it."""
    out, prev = [], None
    for w in words:
        glued = prev is not None and not spaced(w, prev)
        out.append((w["start"], text_of(w), 1) if glued else (w["start"], text_of(w)))
        prev = w
    return out
