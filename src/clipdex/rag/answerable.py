"""Does a sentence answer a question, or does it only resemble it?

A sentence similar to the question is not an answer: "What is the secret key?" is not answered by
"Never read the secret key aloud.", nor "What does the all-hands notice say?" by "System notice.".
The decision, made per candidate sentence of the extractive backend:

* the question's type asks for a kind of thing, which the sentence must state *beyond the words of
  the question*: who -> a person or a role, when -> a date or time, how many/how much -> a number,
  where -> a place;
* "what is X" asks for X's value or definition: the sentence must say X is/means/equals something;
* any other question needs a sentence that adds content of its own (at least MIN_NEW_TERMS content
  words the question does not have) and is a clause, not a caption (MIN_WORDS words);
* and every answer needs a minimum relevance (MiniLM cosine plus term coverage), calibrated on the
  labelled questions in ``evaluation/answerability.py`` (``clipdex eval search`` prints the result).

English question words only; a question in another language is judged by the relevance floor alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clipdex.rag import text as tx

MIN_NEW_TERMS, MIN_WORDS = 2, 4
MIN_RELEVANCE = 0.46  # cosine + 0.3 * coverage; between the weakest right answer (0.47) and the strongest
# wrong sentence of the right type (0.45) on the labelled set (evaluation/answerability.py)

_Q_QUANTITY = re.compile(r"\bhow (?:many|much|long|often|old|far|big|large|high|fast|tall|heavy)\b|"
                         r"\bwhat (?:percentage|percent|number|amount|share|price|cost|size|rate)\b|"
                         r"\bby how much\b", re.I)
_Q_TIME = re.compile(r"\bwhen\b|\bwhat (?:time|date|day|year|month)\b|"
                     r"\bwhich (?:day|days|date|month|year|week|quarter|time)\b|\bhow soon\b", re.I)
_Q_PERSON = re.compile(r"\b(?:who|whom|whose)\b", re.I)
_Q_PLACE = re.compile(r"\bwhere\b|\bwhich (?:room|building|floor|city|country|office|place)\b", re.I)
_Q_DEFINE = re.compile(r"^\s*what(?:'s| is| are| was| were)\s+(?:the |a |an |our |your |their )?(.+?)\s*\??\s*$", re.I)

NUMBER_WORDS = frozenset("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
thousand million billion trillion dozen dozens half quarter percent twice double triple single first second
third fourth fifth""".split())
MONTHS = frozenset("""january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec""".split())
DAYS = frozenset("""monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays
thursdays fridays saturdays sundays weekend weekends""".split())
TIME_WORDS = MONTHS | DAYS | frozenset("""today tomorrow yesterday tonight morning afternoon evening night noon
midnight week weeks month months year years quarter decade century centuries spring summer autumn fall winter
ago annually daily weekly monthly yearly hour hours minute minutes o'clock am pm""".split())
PERSON_WORDS = frozenset("""team teams officer officers manager managers engineer engineers mentor mentors employee
employees staff customer customers tester testers lead leader leaders director directors ceo cfo cto president
chief head department committee board people person man men woman women child children girl boy friend friends
colleague colleagues everyone someone nobody member members owner owners founder founders author authors
speaker speakers host hosts doctor nurse teacher student students volunteer volunteers partner partners
client clients user users admin administrator developer developers designer designers apostle king queen
mister mr mrs ms dr""".split())
PLACE_WORDS = frozenset("""next near behind beside opposite inside outside upstairs downstairs located floor room
building office street city country site beach house home hall kitchen lobby entrance exit door corner left
right north south east west abroad online""".split())
_COPULA = r"(?:is|are|was|were|'s|means|mean|equals|stands for|refers to|called|named|:)"


@dataclass(frozen=True)
class Verdict:
    answers: bool
    reason: str


def question_type(question: str) -> str:
    """quantity | time | person | place | define | general."""
    q = question.strip()
    found = [(m.start(), kind) for kind, pattern in (("quantity", _Q_QUANTITY), ("time", _Q_TIME),
                                                     ("person", _Q_PERSON), ("place", _Q_PLACE))
             if (m := pattern.search(q))]
    if found:  # the first question word decides: "Who helps staff when they join?" asks for a person
        return min(found)[1]
    return "define" if _Q_DEFINE.match(q) else "general"


def _tokens(text: str) -> list[str]:
    return re.findall(r"[A-Za-zÀ-ÿ]+(?:['’-][A-Za-zÀ-ÿ]+)*|\d[\d,.:]*%?", text)


def _new_tokens(question: str, sentence: str) -> list[tuple[int, str]]:
    """Tokens of the sentence (with their position) that the question does not contain (by stem)."""
    asked = {tx.stem(w.lower()) for w in _tokens(question)}
    return [(i, t) for i, t in enumerate(_tokens(sentence)) if tx.stem(t.lower()) not in asked]


def _has_quantity(new: list[tuple[int, str]]) -> bool:
    return any(t[0].isdigit() or t.lower() in NUMBER_WORDS or t.endswith("%") for _, t in new)


def _has_time(new: list[tuple[int, str]]) -> bool:
    words = [t.lower() for _, t in new]
    if any(w in TIME_WORDS for w in words) or any(re.fullmatch(r"(1[0-9]|20)\d\d|\d{1,2}:\d\d", w) for w in words):
        return True
    # a year in words ("fourteen fifty-five"): two number words in a row
    nums = [i for i, t in new if t.lower().split("-")[0] in NUMBER_WORDS]
    return any(b == a + 1 for a, b in zip(nums, nums[1:]))


def _has_person(new: list[tuple[int, str]]) -> bool:
    for i, t in new:
        low = t.lower()
        if low in PERSON_WORDS or low.rstrip("s") in PERSON_WORDS:
            return True
        if i > 0 and t[:1].isupper() and low not in MONTHS | DAYS and low not in tx.STOPWORDS and t != "I":
            return True  # a name in the middle of a sentence
    return False


def _has_place(new: list[tuple[int, str]]) -> bool:
    return any(t.lower() in PLACE_WORDS or (i > 0 and t[:1].isupper()) for i, t in new)


def _defines(question: str, sentence: str) -> bool:
    """"What is X": the sentence says X is (means, equals, is called) something new."""
    m = _Q_DEFINE.match(question)
    terms = [w for w in tx.words(m.group(1)) if w not in tx.STOPWORDS] if m else []
    if not terms:
        return False
    head = re.escape(terms[-1])
    s = sentence.lower()
    stated = re.search(rf"\b{head}\w*\b(?:\s+\w+){{0,2}}?\s*{_COPULA}\s+\S", s) or \
        re.search(rf"{_COPULA}\s+(?:the\s+|a\s+|an\s+)?(?:\w+\s+){{0,2}}{head}\w*", s)
    return bool(stated)


def judge(question: str, sentence: str, relevance: float) -> Verdict:
    """Whether ``sentence`` answers ``question``, and why not."""
    if relevance < MIN_RELEVANCE:
        return Verdict(False, "relevance")
    kind = question_type(question)
    new = _new_tokens(question, sentence)
    new_terms = {tx.stem(t.lower()) for _, t in new if t.lower() not in tx.STOPWORDS and len(t) > 1}
    checks = {"quantity": _has_quantity, "time": _has_time, "person": _has_person, "place": _has_place}
    if kind in checks:
        return Verdict(checks[kind](new), kind)
    if kind == "define" and not _defines(question, sentence):
        return Verdict(False, "define")
    if len(_tokens(sentence)) < MIN_WORDS or len(new_terms) < MIN_NEW_TERMS:
        return Verdict(False, "adds nothing")
    return Verdict(True, kind)
