"""Language checks on timed words: profanity and banned terms, spoken or written personal data.

Words come with times (the transcript's word timestamps; an on-screen text span's words all carry
the span's times), so every match names the exact words and when they were said or shown.
Profanity uses the word list maintained in ``better-profanity`` (English); tenants add their own
terms in any language. Personal data: e-mail addresses, phone numbers (Google's libphonenumber via
``phonenumbers``) and payment card numbers (13-19 digits that pass the Luhn checksum), after spoken
forms are normalised ("four one five", "at", "dot").
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "for": "4",
           "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_MULT = {"double": 2, "triple": 3}
_EMAIL = re.compile(r"^[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,24}$")
_EMAIL_IN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


def norm(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"^[^\w@]+|[^\w@]+$", "", t)


@functools.cache
def profanity_words() -> frozenset[str]:
    spec = importlib.util.find_spec("better_profanity")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(list(spec.submodule_search_locations)[0]) / "profanity_wordlist.txt"
    return frozenset(norm(x) for x in path.read_text().splitlines() if x.strip())


def _phrases(terms) -> dict[int, set[tuple[str, ...]]]:
    by_len: dict[int, set[tuple[str, ...]]] = {}
    for term in terms:
        key = tuple(n for n in (norm(p) for p in term.split()) if n)
        if key:
            by_len.setdefault(len(key), set()).add(key)
    return by_len


def term_matches(words: list[Word], terms, allowed=()) -> list[tuple[int, int, str]]:
    """(first word, last word, matched term) for every occurrence of a (multi-word) term."""
    phrases = _phrases(terms)
    allow = {tuple(norm(p) for p in a.split()) for a in allowed}
    toks = [norm(w.text) for w in words]
    out = []
    for n, keys in sorted(phrases.items(), reverse=True):
        for i in range(len(toks) - n + 1):
            key = tuple(toks[i:i + n])
            if key in keys and key not in allow and not any(a <= i < b + 1 for a, b, _ in out):
                out.append((i, i + n - 1, " ".join(key)))
    return sorted(out)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digit_piece(tok: str) -> str | None:
    if re.fullmatch(r"[\d\-().+]+", tok) and any(c.isdigit() for c in tok):
        return re.sub(r"\D", "", tok)
    return _DIGITS.get(tok)


def digit_runs(words: list[Word]) -> list[tuple[int, int, str]]:
    """Consecutive words that spell digits ("415", "five", "double two"), joined."""
    runs, i = [], 0
    toks = [norm(w.text) for w in words]
    while i < len(toks):
        j, digits = i, ""
        while j < len(toks):
            tok = toks[j]
            if tok in _MULT and j + 1 < len(toks) and _DIGITS.get(toks[j + 1]):
                digits += _DIGITS[toks[j + 1]] * _MULT[tok]
                j += 2
                continue
            piece = _digit_piece(tok)
            # "o"/"oh" count as zero only next to other digits
            if piece is None or (tok in ("o", "oh", "for") and not digits):
                break
            digits += piece
            j += 1
        if j > i and digits:
            runs.append((i, j - 1, digits))
            i = j
        else:
            i += 1
    return runs


def personal_data(words: list[Word], kinds, region: str = "US") -> list[dict]:
    """E-mail addresses, phone numbers and card numbers among ``words`` (kinds: email, phone, card)."""
    found = []
    if "card" in kinds or "phone" in kinds:
        for a, b, digits in digit_runs(words):
            if "card" in kinds and 13 <= len(digits) <= 19 and luhn_ok(digits):
                found.append({"kind": "card", "first": a, "last": b, "value": mask(digits)})
            elif "phone" in kinds and 7 <= len(digits) <= 15 and _phone(digits, region):
                found.append({"kind": "phone", "first": a, "last": b, "value": mask(digits)})
    if "email" in kinds:
        found += _emails(words)
    return sorted(found, key=lambda f: f["first"])


def _phone(digits: str, region: str) -> bool:
    import phonenumbers

    for candidate in (digits, "+" + digits):
        try:
            num = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(num):
            return True
    return False


def _emails(words: list[Word]) -> list[dict]:
    """Written addresses as they are, spoken ones as "name at example dot com"."""
    out = []
    toks = [norm(w.text) for w in words]
    for i, w in enumerate(words):
        m = _EMAIL_IN.search(w.text)
        if m:
            out.append({"kind": "email", "first": i, "last": i, "value": mask(m.group(0))})
    for i, tok in enumerate(toks):
        if tok != "at" or i == 0:
            continue
        j, parts = i + 1, [toks[i + 1]] if i + 1 < len(toks) else []
        while j + 2 < len(toks) + 1 and j + 1 < len(toks) and toks[j + 1] == "dot" and j + 2 < len(toks):
            parts += [".", toks[j + 2]]
            j += 2
        candidate = f"{toks[i - 1]}@{''.join(parts)}"
        if "." in parts and _EMAIL.match(candidate):
            out.append({"kind": "email", "first": i - 1, "last": j, "value": mask(candidate)})
    return out


def mask(value: str) -> str:
    """Evidence without the secret: keep the last few characters."""
    keep = 4 if value.isdigit() else 3
    return "•" * max(0, len(value) - keep) + value[-keep:]


def words_of_transcript(doc: list[dict]) -> list[Word]:
    return [Word(w["w"], float(w["s"]), float(w["e"])) for w in doc]


def words_of_text_span(span: dict) -> list[Word]:
    return [Word(tok, float(span["start_s"]), float(span["end_s"])) for tok in str(span.get("text", "")).split()]
