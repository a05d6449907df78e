"""Plain-text helpers shared by answers, summaries and chapters: sentences, content words, timed sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clipdex.speech import words as wording

# Function words carry no evidence: a sentence is supported by its content words, not by "the".
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just let me more most my myself no nor
not now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves okay ok yes yeah
um uh oh well really right like get got going go gonna thing things one ones also said say says tell told today
please thanks thank welcome hello hi everyone everybody guys us may might must shall lot lots much many way
ve ll re don didn doesn isn wasn aren
""".split())

_SENT_END = re.compile(r"(?<=[.!?…。？！])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Inc|Ltd|Jr|Sr|St|vs|etc|e\.g|i\.e)\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (punctuation-based; ASR output is punctuated)."""
    text = " ".join((text or "").split())
    if not text:
        return []
    parts = _SENT_END.split(text)
    out: list[str] = []
    for p in parts:
        if out and _ABBREV.search(out[-1]):  # "Dr. Smith" is one sentence
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return [p.strip() for p in out if p.strip()]


_CLAIM_END = re.compile(r"(?<=[.!?…。？！])[\"'”’)\]]*\s+(?=\S)")
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$|\b[A-Z]\.[A-Z]\.$")


def split_claims(text: str) -> list[str]:
    """Sentences of a generated answer. Stricter than ``split_sentences``: a full stop ends a sentence
    whatever follows it, so a made-up sentence cannot merge with a quote that starts in lower case
    ("Ignoring instructions as asked. the launch is in March." is two claims, each checked alone)."""
    text = " ".join((text or "").split())
    out: list[str] = []
    for p in _CLAIM_END.split(text) if text else []:
        if out and (_ABBREV.search(out[-1]) or _INITIAL.search(out[-1])):  # "Dr. smith", "J. R. Tolkien"
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return [p.strip() for p in out if p.strip()]


# Where one claim of a sentence ends and another begins: ; : , and dashes, brackets, a full stop, and
# the conjunctions that join independent clauses (kept at the start of the clause they introduce).
_CLAUSE = re.compile(r"\s*(?:[;,:](?=\s)|[—–()\[\]]|\s-\s|(?<=[.!?…])\s)\s*"
                     r"|\s+(?=(?:and|but|or|so|because|while|whereas|although|though|yet|then|since|unless)\b)",
                     re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """The clauses of one sentence (for checking each claim of it on its own)."""
    return [c.strip() for c in _CLAUSE.split(text or "") if c and c.strip()]


def words(text: str) -> list[str]:
    return [w.lower().replace("'", "") for w in _WORD.findall(text or "")]


def stem(word: str) -> str:
    """A light suffix stripper: "planned"/"plans"/"planning" meet at "plan"."""
    for suffix in ("ations", "ation", "ingly", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly"):
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            continue
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if suffix == "ies":
                word += "y"
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # planned -> plann -> plan
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed content words (stopwords and one-letter tokens removed), in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def numbers(text: str) -> set[str]:
    """Numbers written in ``text`` (a cited figure must appear in the cited span)."""
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text or "")}


_UNITS = {w: i for i, w in enumerate("zero _ two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split()) if w != "_"}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split(), 0)
         if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "trillion": 1_000_000_000_000}
_FIGURE_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[^\W\d_]+")


def figures(text: str) -> set[str]:
    """The quantities ``text`` states, in digits or in words, as normalised values: "forty-five",
    "45" and "45.0" are all ``45``; "2 million", "two million" and "2,000,000" are all ``2000000``.
    ("one" is left out: it is a pronoun far more often than a figure.)"""
    out: set[str] = set()
    total = current = 0.0
    active = False

    def flush() -> None:
        nonlocal total, current, active
        if active:
            v = total + current
            out.add(str(int(v)) if v == int(v) else f"{v:g}")
        total = current = 0.0
        active = False

    for tok in _FIGURE_TOKEN.findall((text or "").lower().replace("-", " ")):
        if tok[0].isdigit():
            flush()
            current, active = float(tok.replace(",", "")), True
        elif tok in _UNITS or tok in _TENS:
            v = _UNITS.get(tok, _TENS.get(tok, 0))
            # "forty five" is one figure; "five six" and "twenty thirty" are two
            if active and not (v < 10 and current % 100 >= 20 and current % 10 == 0) and current % 100 != 0:
                flush()
            current, active = current + v, True
        elif tok in _SCALES and (active or tok != "hundred"):
            if tok == "hundred":
                current = (current or 1) * 100
            else:
                total, current = total + (current or 1) * _SCALES[tok], 0.0
            active = True
        elif not (active and tok == "and"):  # "two hundred and fifty"
            flush()
    flush()
    return out


_ORDINAL = {"1": "first", "2": "second", "3": "third", "4": "fourth"}


def expand_query(query: str) -> str:
    """Spell out business shorthand that speech spells out and MiniLM does not know ("Q3": third quarter)."""
    query = re.sub(r"\bQ([1-4])\b", lambda m: f"{m.group(0)} (the {_ORDINAL[m.group(1)]} quarter)", query)
    return re.sub(r"\bH([12])\b", lambda m: f"{m.group(0)} (the {_ORDINAL[m.group(1)]} half of the year)", query)


@dataclass
class TimedSentence:
    text: str
    start: float
    end: float
    speaker: str | None = None


def _word_text(w: dict) -> str:
    return str(w.get("word", "")).strip()


def transcript_sentences(transcript: dict) -> list[TimedSentence]:
    """The transcript as sentences with times from its word timings (segment times where words are missing)."""
    out: list[TimedSentence] = []
    for seg in transcript.get("segments") or []:
        ws = [w for w in seg.get("words") or [] if _word_text(w)]
        speaker = seg.get("speaker_name") or seg.get("speaker")
        if not ws:
            for s in split_sentences(seg.get("text", "")):
                out.append(TimedSentence(s, float(seg["start"]), float(seg["end"]), speaker))
            continue
        run: list[dict] = []
        for w in ws:
            run.append(w)
            if _word_text(w).endswith((".", "?", "!", "…")) and not _ABBREV.search(_word_text(w)):
                out.append(_timed(run, speaker))
                run = []
        if run:
            out.append(_timed(run, speaker))
    return [s for s in out if s.text]


def _timed(run: list[dict], speaker: str | None) -> TimedSentence:
    return TimedSentence(wording.join(run), float(run[0]["start"]), float(run[-1]["end"]), speaker)


def sentences_from_word_starts(pairs: list, end: float) -> list[TimedSentence]:
    """Timed sentences from ``[[start, word(, glued)], ...]`` (the index's word timings); a sentence ends
    where the next begins (or at ``end``)."""
    out: list[TimedSentence] = []
    run: list = []
    for pair in pairs:
        w = wording.text_of(pair)
        if not w:
            continue
        run.append(pair)
        if w.endswith((".", "?", "!", "…")) and not _ABBREV.search(w):
            out.append(TimedSentence(wording.join(run), float(run[0][0]), 0.0))
            run = []
    if run:
        out.append(TimedSentence(wording.join(run), float(run[0][0]), 0.0))
    for a, b in zip(out, out[1:]):
        a.end = b.start
    if out:
        out[-1].end = max(float(end), out[-1].start)
    return out
