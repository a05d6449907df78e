"""Question-answer pairs from transcript sentences, by rules (no generative model needed).

Why rules and not spaCy: the only spaCy English pipelines on PyPI are unofficial re-uploads of
``en_core_web_sm`` (the official ones are GitHub release downloads), so the offline default cannot
depend on one. The rules cover what transcripts of talks and meetings state most often:

- ``when``: "The launch is planned for March." -> "When is the launch planned?" (auxiliary inversion)
- ``where``: "The team is based in Lisbon." -> "Where is the team based?"
- ``who``: "Maria Lopez leads the design team." -> "Who leads the design team?"
- ``how_many``: "The team has 12 engineers." -> "How many engineers does the team have?"
- ``definition``: "A codec is a program that compresses video." -> "What is a codec?"
- ``cloze``: the sentence with its most informative phrase (date, figure, name, long term) blanked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from clipdex.rag import text as tx

BLANK = "_____"
CLOZE_PREFIX = "Fill in the blank: "
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AUX = ("is", "are", "was", "were", "will", "can", "could", "should", "would", "must", "may", "might")
_NUMWORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
             "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
             "million billion").split()
_DATE = (r"(?:(?:early|late|mid)[- ])?(?:" + "|".join(MONTHS)
         + r")(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+(?:19|20)\d{2})?"
         r"|(?:" + "|".join(WEEKDAYS) + r")|(?:19|20)\d{2}|Q[1-4](?:\s+(?:19|20)\d{2})?")
DATE_RE = re.compile(rf"\b({_DATE})\b")
NUMBER_RE = re.compile(r"(?<![\w.])(\$?\d[\d,]*(?:\.\d+)?%?(?:\s+(?:percent|per cent|million|billion|thousand))?"
                       rf"|(?:{'|'.join(_NUMWORDS)})(?:[- ](?:{'|'.join(_NUMWORDS)}))*)(?![\w])", re.IGNORECASE)
_CAP = r"[A-Z][a-zA-Z'\-]+"
ENTITY_RE = re.compile(rf"\b({_CAP}(?:\s+(?:of\s+|de\s+|van\s+)?{_CAP}){{0,3}})\b")
_ORG = re.compile(r"\b(?:Inc|Corp|Ltd|GmbH|Company|University|Bank|Group|Labs?|Systems|Institute|Agency)\b")
_NOT_NAMES = set(MONTHS) | set(WEEKDAYS) | {"I", "The", "A", "An", "This", "That", "These", "Those", "We", "You",
                                             "It", "They", "He", "She", "Our", "My", "So", "And", "But", "Then",
                                             "Today", "Tomorrow", "Yesterday", "Next", "Last", "In", "On", "At"}
_STOP = set(tx.STOPWORDS)


@dataclass
class Sentence:
    """A transcript sentence with the segments and times it came from."""

    text: str
    start: float
    end: float
    segment_ids: list[int]
    context: str = ""  # the sentence with its neighbours (what a model is shown)


@dataclass
class Pair:
    question: str
    answer: str
    kind: str
    source: str
    sentence: Sentence
    extra: dict = field(default_factory=dict)


def _words_ok(text: str) -> bool:
    n = len(text.split())
    return 5 <= n <= 40


def _strip_end(text: str) -> str:
    return text.rstrip(" .!?;:,")


def _lower_first(text: str) -> str:
    """Lower-case the first word unless it is a name (two capitals or a capitalised non-article)."""
    first = text.split(" ", 1)[0]
    if first in ("The", "A", "An", "This", "That", "These", "Those", "Our", "Their", "Its", "My", "Your", "His",
                 "Her", "Every", "Each", "All", "Some", "Most", "Many", "We", "They", "He", "She", "It", "You"):
        return first.lower() + text[len(first):]
    return text


def _clean_question(q: str) -> str:
    q = re.sub(r"\s+", " ", q).strip()
    q = re.sub(r"\s+([,?])", r"\1", q)
    return q[0].upper() + q[1:] if q else q


# --- wh-questions -------------------------------------------------------------------------------

_WHEN = re.compile(rf"^(?P<subj>.+?)\s+(?P<aux>{'|'.join(AUX)})\s+(?P<rest>.*?)\s*,?\s+"
                   rf"(?P<prep>in|on|for|by|during|until|before|after|since)\s+(?P<date>{_DATE})(?P<tail>[^.?!]*)$")
_WHERE = re.compile(rf"^(?P<subj>.+?)\s+(?P<aux>{'|'.join(AUX)})\s+(?P<rest>.*?)\s+(?:in|at|near)\s+"
                    rf"(?P<place>{_CAP}(?:\s+{_CAP}){{0,2}})(?P<tail>[^.?!]*)$")
_HAVE = re.compile(r"^(?P<subj>.+?)\s+(?P<verb>has|have|had)\s+(?P<num>\d[\d,]*|" + "|".join(_NUMWORDS)
                   + r")\s+(?P<noun>[a-z][a-z\-]+)(?P<tail>[^.?!]*)$", re.IGNORECASE)
_DEF = re.compile(r"^(?P<art>A|An|The)?\s*(?P<term>[A-Za-z][\w\-]*(?:\s+[\w\-]+){0,3}?)\s+"
                  r"(?P<verb>is|are|means|refers to)\s+"
                  r"(?P<defn>(?:a|an|the|one|any)\s+.{6,160})$")
_WHO = re.compile(rf"^(?P<who>{_CAP}(?:\s+{_CAP}){{0,3}})\s+(?P<rest>(?!is\b|are\b|was\b|were\b)[a-z].{{8,}})$")


def _when(s: str) -> Pair | None:
    m = _WHEN.match(s)
    if not m or len(m["subj"].split()) > 8 or not m["rest"] and not m["tail"].strip():
        return None
    q = f"When {m['aux']} {_lower_first(m['subj'])} {m['rest']}{m['tail']}?"
    return Pair(_clean_question(q), m["date"], "date", "wh", None)  # type: ignore[arg-type]


def _where(s: str) -> Pair | None:
    m = _WHERE.match(s)
    if not m or m["place"].split()[0] in _NOT_NAMES or DATE_RE.fullmatch(m["place"]) or len(m["subj"].split()) > 8:
        return None
    q = f"Where {m['aux']} {_lower_first(m['subj'])} {m['rest']}{m['tail']}?"
    return Pair(_clean_question(q), m["place"], "place", "wh", None)  # type: ignore[arg-type]


def _how_many(s: str) -> Pair | None:
    m = _HAVE.match(s)
    if not m or len(m["subj"].split()) > 8:
        return None
    do = {"has": "does", "have": "do", "had": "did"}[m["verb"].lower()]
    q = f"How many {m['noun']}{m['tail']} {do} {_lower_first(m['subj'])} have?"
    return Pair(_clean_question(q), m["num"], "number", "wh", None)  # type: ignore[arg-type]


def _definition(s: str) -> Pair | None:
    m = _DEF.match(s)
    if not m or m["term"].split()[0] in _NOT_NAMES or m["term"].lower() in ("it", "this", "that", "there", "what"):
        return None
    term = f"{m['art'].lower()} {m['term']}" if m["art"] else m["term"]
    verb = m["verb"]
    q = f"What does {term} mean?" if verb == "means" else f"What does {term} refer to?" if verb == "refers to" \
        else f"What {verb} {term}?"
    return Pair(_clean_question(q), m["defn"], "definition", "wh", None)  # type: ignore[arg-type]


def _who(s: str) -> Pair | None:
    m = _WHO.match(s)
    if not m:
        return None
    who = m["who"]
    parts = who.split()
    if parts[0] in _NOT_NAMES or (len(parts) == 1 and not _ORG.search(who)):
        return None  # one capitalised word opening a sentence is usually not a name
    word = "What" if _ORG.search(who) or len(parts) == 1 else "Who"
    return Pair(_clean_question(f"{word} {m['rest']}?"), who, "organization" if word == "What" else "person",
                "wh", None)  # type: ignore[arg-type]


WH_RULES = (_when, _where, _how_many, _definition, _who)


# --- cloze --------------------------------------------------------------------------------------

def _entities(s: str) -> list[str]:
    out = []
    for m in ENTITY_RE.finditer(s):
        ent = m.group(1)
        parts = ent.split()
        if m.start() == 0 and len(parts) == 1:
            continue  # a capital at the start of a sentence is not a name
        if m.start() == 0 and parts[0] in _NOT_NAMES:
            ent = " ".join(parts[1:])
        if ent and ent.split()[0] not in _NOT_NAMES:
            out.append(ent)
    return out


def cloze_answer(s: str) -> tuple[str, str] | None:
    """(answer, kind) for the blank: a date, a figure, a name, else the longest uncommon word."""
    m = DATE_RE.search(s)
    if m:
        return m.group(1), "date"
    m = NUMBER_RE.search(s)
    if m and m.group(1).strip().lower() not in ("one",):
        return m.group(1).strip(), "number"
    ents = _entities(s)
    if ents:
        return max(ents, key=len), "entity"
    terms = [w for w in re.findall(r"[A-Za-z][a-z\-]{6,}", s) if w.lower() not in _STOP]
    if terms:
        return max(terms, key=len), "term"
    return None


def _cloze(s: str) -> Pair | None:
    found = cloze_answer(s)
    if not found:
        return None
    answer, kind = found
    blanked = re.sub(rf"(?<![\w]){re.escape(answer)}(?![\w])", BLANK, s, count=1)
    if blanked == s:
        return None
    return Pair(CLOZE_PREFIX + blanked.rstrip() + ("" if blanked.rstrip()[-1:] in ".!?" else "."),
                answer, kind, "cloze", None)  # type: ignore[arg-type]


def fill_cloze(question: str, answer: str) -> str | None:
    """The statement a cloze question makes once its blank holds ``answer`` (None: not a cloze)."""
    if not question.startswith(CLOZE_PREFIX) or BLANK not in question:
        return None
    return question[len(CLOZE_PREFIX):].replace(BLANK, answer.strip(), 1)


def pairs_for(sentence: Sentence, *, max_wh: int = 2) -> list[Pair]:
    """Every rule's pair for one sentence: up to ``max_wh`` wh-questions and one cloze."""
    s = _strip_end(" ".join(sentence.text.split()))
    if not _words_ok(s):
        return []
    out = []
    for rule in WH_RULES:
        p = rule(s)
        if p and p.answer.strip() and len(out) < max_wh and p.answer.lower() not in p.question.lower():
            out.append(p)
    c = _cloze(sentence.text.strip())
    if c:
        out.append(c)
    for p in out:
        p.sentence = sentence
    return out


# --- sentences from transcript segments -----------------------------------------------------------

def sentences_of(segments: list[dict], window: int = 1) -> list[Sentence]:
    """Transcript sentences with times and segment ids; segments without an end mark are joined."""
    units: list[tuple[str, list[dict], list[int]]] = []
    text, words, ids = "", [], []
    for seg in segments:
        t = " ".join(str(seg.get("text", "")).split())
        if not t:
            continue
        text = f"{text} {t}".strip()
        words += seg.get("words") or [{"word": w, "start": seg["start"], "end": seg["end"]} for w in t.split()]
        ids.append(int(seg.get("index", len(ids))))
        if t[-1:] in ".!?" or len(text.split()) > 60:
            units.append((text, words, ids))
            text, words, ids = "", [], []
    if text:
        units.append((text, words, ids))
    out: list[Sentence] = []
    for text, words, ids in units:
        pos = 0
        for sent in tx.split_sentences(text):
            n = len(sent.split())
            span = words[pos:pos + n] or words[-1:]
            pos += n
            out.append(Sentence(sent, float(span[0]["start"]), float(span[-1]["end"]), list(ids)))
    for i, s in enumerate(out):
        s.context = " ".join(x.text for x in out[max(0, i - window):i + window + 1])
    return out


# --- duplicates ---------------------------------------------------------------------------------

def _key(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", text.lower()))


def dedupe(pairs: list[Pair], near: float = 0.8) -> list[Pair]:
    """Drop exact and near-duplicate questions with the same answer (token Jaccard >= ``near``)."""
    kept: list[Pair] = []
    seen: dict[tuple[str, ...], list[set[str]]] = {}
    for p in pairs:
        ans = _key(p.answer)
        qset = set(_key(p.question))
        prior = seen.setdefault(ans, [])
        if any(len(qset & other) / max(1, len(qset | other)) >= near for other in prior):
            continue
        prior.append(qset)
        kept.append(p)
    return kept
