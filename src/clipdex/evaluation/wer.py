"""Word and character error rates, with the text normalisation of the evaluation corpus README.

NFKC; curly quotes to ``'``; lower case; punctuation dropped (word-internal apostrophes kept);
hyphens to spaces; English digits spelled out; ``mr``/``mister`` and ``d``/``don`` counted equal.
"""

from __future__ import annotations

import re
import unicodedata

from clipdex.evaluation.scoring import edit_distance

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
EQUIV = {"mister": "mr", "d": "don", "ok": "okay"}
CHAR_LANGS = {"ja", "ko", "zh", "th"}


def _below_1000(n: int) -> list[str]:
    out = []
    if n >= 100:
        out += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        out.append(TENS[n // 10])
        n %= 10
        if n:
            out.append(ONES[n])
    elif n or not out:
        out.append(ONES[n])
    return out


def spell_english(n: int) -> list[str]:
    """1881 -> eighteen eighty one (years read as pairs), 2500 -> two thousand five hundred."""
    if 1100 <= n <= 1999 and n % 100:
        return _below_1000(n // 100) + (["oh"] if n % 100 < 10 else []) + _below_1000(n % 100)
    out = []
    for value, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= value:
            out += _below_1000(n // value) + [name]
            n %= value
    if n or not out:
        out += _below_1000(n)
    return out


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "`": "'", "\u00b4": "'"})


def normalize(text: str, language: str = "en") -> list[str]:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    text = re.sub(r"[-\u2010-\u2015]", " ", text)
    if language == "en":
        text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text)
        text = re.sub(r"\d+", lambda m: " " + " ".join(spell_english(int(m.group()))) + " ", text.replace(",", " , "))
    chars = []
    for i, ch in enumerate(text):
        if ch == "'":
            keep = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
            chars.append(ch if keep else " ")
        elif unicodedata.category(ch).startswith(("P", "S")):
            chars.append(" ")
        else:
            chars.append(ch)
    return [EQUIV.get(w, w) for w in "".join(chars).split()]


def units(text: str, language: str) -> list[str]:
    """Words, or characters (spaces and punctuation removed) for languages scored by CER."""
    words = normalize(text, language)
    return list("".join(words)) if language in CHAR_LANGS else words


def error_rate(ref: str, hyp: str, language: str = "en") -> tuple[int, int]:
    """(edits, reference units)."""
    r, h = units(ref, language), units(hyp, language)
    return edit_distance(r, h), len(r)
