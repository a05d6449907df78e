"""A search query taken apart: the text, its "quoted phrases" and its content words.

Shared by retrieval (what to look for), ranking (how much of the query a row holds) and moments
(where in a row the match starts), so the three agree on what a query word is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"\w+", re.UNICODE)
STOP = frozenset("a an and are as at be by did do does for from had has have he her his how i in is it its "
                 "me my of on or our she so that the their them they this to was we were what when where which "
                 "who why will with you your said say says about".split())


@dataclass
class ParsedQuery:
    text: str
    phrases: list[str]
    terms: list[str]  # content words, lower case


def parse(query: str) -> ParsedQuery:
    """Phrases in double quotes, and the lower-case words less stop words (all words if only stop words)."""
    phrases = [p.strip() for p in re.findall(r'"([^"]+)"', query) if p.strip()]
    words = [w.lower() for w in WORD.findall(query)]
    terms = [w for w in words if w not in STOP] or words
    return ParsedQuery(text=query.replace('"', " ").strip(), phrases=phrases, terms=terms)


def norm(text: str) -> str:
    """Lower-case words joined by single spaces: phrase matching that ignores punctuation."""
    return " ".join(w.lower() for w in WORD.findall(text))
