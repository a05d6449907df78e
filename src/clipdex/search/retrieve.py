"""Hybrid retrieval over one tenant's index: full-text and vector candidates, fused by reciprocal rank.

Full-text handles names, numbers and exact phrases ("quoted"), with edit-distance tolerance for
typos; vectors handle paraphrase. A vector-only candidate must clear a minimum cosine similarity,
so a query about something the library does not contain returns nothing instead of the nearest
noise. A light lexical rerank then prefers rows that contain the phrase or all the terms.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field

import numpy as np

from clipdex.search.embed import get_embedder
from clipdex.search.store import MODALITIES, get_store

log = logging.getLogger("clipdex.search")

RRF_K = 60
MIN_VECTOR_COS = 0.30   # MiniLM: unrelated sentences score about 0.0-0.15, paraphrases 0.5+
CANDIDATES = 100
SEMANTIC_WEIGHT = 0.02  # about one rank-1 RRF share at cosine 0.8
FUZZY_BELOW = 5  # exact full-text hits under which the query is retried with typo tolerance
COLUMNS = ["id", "video_id", "modality", "start", "end", "text", "speaker", "language", "people", "tags",
           "words", "thumb_key"]
_WORD = re.compile(r"\w+", re.UNICODE)
STOP = frozenset("a an and are as at be by did do does for from had has have he her his how i in is it its "
                 "me my of on or our she so that the their them they this to was we were what when where which "
                 "who why will with you your said say says about".split())


@dataclass(frozen=True)
class Filters:
    video_ids: tuple[uuid.UUID, ...] = ()
    person_ids: tuple[uuid.UUID, ...] = ()
    speakers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    uploaded_after: float | None = None
    uploaded_before: float | None = None
    tag_video_ids: tuple[uuid.UUID, ...] = ()  # videos the user tagged so (video tags live in the database)


@dataclass
class Passage:
    video_id: uuid.UUID
    start: float
    end: float
    text: str
    modality: str
    score: float
    speaker: str | None = None
    language: str | None = None
    id: str = ""
    words: str | None = None
    thumb_key: str | None = None
    people: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    matched: tuple[str, ...] = ()  # "fts", "vector"


def _lit(value: str) -> str:
    if len(value) > 200 or any(ord(c) < 32 for c in value):
        raise ValueError("filter value too long or contains control characters")
    return "'" + value.replace("'", "''") + "'"


def _list(values) -> str:
    return "[" + ", ".join(_lit(str(v)) for v in values) + "]"


def where_clause(f: Filters | None, extra: str | None = None) -> str | None:
    """A Lance SQL predicate from validated filter values (every literal quoted and escaped)."""
    parts = [extra] if extra else []
    if f:
        if f.video_ids:
            parts.append(f"video_id IN ({', '.join(_lit(str(uuid.UUID(str(v)))) for v in f.video_ids)})")
        if f.person_ids:
            parts.append(f"array_has_any(people, {_list(uuid.UUID(str(p)) for p in f.person_ids)})")
        if f.tags:
            tagged = f" OR video_id IN ({', '.join(_lit(str(v)) for v in f.tag_video_ids)})" if f.tag_video_ids else ""
            parts.append(f"array_has_any(tags, {_list(f.tags)}){tagged}")
        if f.speakers:
            parts.append(f"speaker IN ({', '.join(_lit(s) for s in f.speakers)})")
        if f.modalities:
            mods = [m for m in f.modalities if m in MODALITIES]
            parts.append(f"modality IN ({', '.join(_lit(m) for m in mods) or _lit('none')})")
        if f.languages:
            parts.append(f"language IN ({', '.join(_lit(x) for x in f.languages)})")
        if f.uploaded_after is not None:
            parts.append(f"uploaded_ts >= {float(f.uploaded_after)}")
        if f.uploaded_before is not None:
            parts.append(f"uploaded_ts < {float(f.uploaded_before)}")
    return " AND ".join(f"({p})" for p in parts) or None


@dataclass
class ParsedQuery:
    text: str
    phrases: list[str]
    terms: list[str]  # content words, lower case


def parse(query: str) -> ParsedQuery:
    phrases = [p.strip() for p in re.findall(r'"([^"]+)"', query) if p.strip()]
    words = [w.lower() for w in _WORD.findall(query)]
    terms = [w for w in words if w not in STOP] or words
    return ParsedQuery(text=query.replace('"', " ").strip(), phrases=phrases, terms=terms)


def fts_query(pq: ParsedQuery, *, fuzzy: bool):
    """Exact terms score highest; with ``fuzzy`` each longer term also matches within 1-2 edits (typos)."""
    from lancedb.query import BooleanQuery, MatchQuery, Occur, PhraseQuery

    clauses = [(Occur.SHOULD, MatchQuery(pq.text, "text", boost=2.0))]
    for t in dict.fromkeys(pq.terms) if fuzzy else ():
        if len(t) >= 5:
            clauses.append((Occur.SHOULD, MatchQuery(t, "text", fuzziness=1 if len(t) < 8 else 2,
                                                     prefix_length=1, boost=0.5)))
    for p in pq.phrases:
        clauses.append((Occur.MUST, PhraseQuery(p, "text")))
    return BooleanQuery(clauses)


def _fts(table, query, where: str | None, depth: int) -> list[dict]:
    b = table.search(query, query_type="fts").select(COLUMNS + ["_score", "vector"]).limit(depth)
    return _rows(b.where(where, prefilter=True) if where else b)


def _rows(builder) -> list[dict]:
    try:
        return builder.to_list()
    except Exception as e:  # noqa: BLE001  an empty table or a table without an FTS index yet
        if "index" in str(e).lower() or "empty" in str(e).lower():
            return []
        raise


def _passage(r: dict, score: float, matched: tuple[str, ...]) -> Passage:
    return Passage(video_id=uuid.UUID(r["video_id"]), start=r["start"], end=r["end"], text=r["text"],
                   modality=r["modality"], score=score, speaker=r.get("speaker"), language=r.get("language"),
                   id=r["id"], words=r.get("words"), thumb_key=r.get("thumb_key"), people=list(r.get("people") or []),
                   tags=list(r.get("tags") or []), matched=matched)


def _norm(text: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(text))


def _coverage(text: str, pq: ParsedQuery) -> float:
    if not pq.terms:
        return 0.0
    words = set(w.lower() for w in _WORD.findall(text))
    hit = sum(1 for t in set(pq.terms) if t in words or any(w.startswith(t[:5]) for w in words if len(t) >= 5))
    return hit / len(set(pq.terms))


def retrieve(platform, tenant_id: uuid.UUID, query: str, *, filters: Filters | None = None, k: int = 20,
             vector: np.ndarray | None = None, extra_where: str | None = None) -> list[Passage]:
    """The ``k`` best rows of the tenant's index for ``query`` (or for a given ``vector``: more like this)."""
    settings = platform.settings
    store = get_store(settings)
    embedder = get_embedder(settings)
    table = store.open(tenant_id, embedder)
    text_only = False
    if table is None:  # the embedding model changed and `clipdex reindex` has not run: full-text only
        others = store.tables(tenant_id)
        if not others:
            return []
        table, text_only = store.db(tenant_id).open_table(sorted(others)[-1]), True
        log.warning("no index table for %s/%s; searching full-text only until `clipdex reindex` runs",
                    embedder.name, embedder.version)
    where = where_clause(filters, extra_where)
    pq = parse(query or "")
    depth = max(CANDIDATES, k * 3)
    ranked: dict[str, dict] = {}

    def add(rows, kind):
        for rank, r in enumerate(rows):
            slot = ranked.setdefault(r["id"], {"row": r, "rrf": 0.0, "kinds": set(), "cos": None})
            slot["rrf"] += 1.0 / (RRF_K + rank + 1)
            slot["kinds"].add(kind)
            if kind == "vector":
                slot["cos"] = 1.0 - float(r["_distance"])

    if pq.text:
        # Fuzzy term expansion is the costly part on large tables: only when exact words find little.
        rows = _fts(table, fts_query(pq, fuzzy=False), where, depth)
        if len(rows) < FUZZY_BELOW and any(len(t) >= 5 for t in pq.terms):
            rows = _fts(table, fts_query(pq, fuzzy=True), where, depth)
        add(rows, "fts")
    qv = vector if vector is not None else (embedder.encode([pq.text])[0] if pq.text else None)
    if qv is not None and not text_only:  # never compare vectors of two different models
        b = table.search(np.asarray(qv, np.float32), vector_column_name="vector").distance_type("cosine")
        b = b.nprobes(20).refine_factor(5)  # with an IVF_PQ index: re-rank by exact distance
        b = b.select(COLUMNS + ["_distance"]).limit(depth)
        add(_rows(b.where(where, prefilter=True) if where else b), "vector")
    if qv is not None and not text_only:  # full-text-only candidates: their similarity from the stored vector
        for slot in ranked.values():
            if slot["cos"] is None and slot["row"].get("vector") is not None:
                slot["cos"] = float(np.dot(np.asarray(slot["row"]["vector"], np.float32), qv))
    out, matched_speech, unmatched_text = [], [], []
    phrases = [_norm(p) for p in pq.phrases]
    for slot in ranked.values():
        if slot["kinds"] == {"vector"} and (slot["cos"] or 0.0) < MIN_VECTOR_COS:
            continue
        if pq.terms and _stray_text(slot, pq):
            continue
        if phrases and not all(p in _norm(slot["row"]["text"]) for p in phrases):
            continue  # a quoted phrase is a requirement, also for semantic candidates
        score = slot["rrf"]
        if settings.search_rerank and pq.terms:
            cov = _coverage(slot["row"]["text"], pq)
            phrase = any(p.lower() in slot["row"]["text"].lower() for p in pq.phrases) or (
                len(pq.terms) > 1 and pq.text.lower() in slot["row"]["text"].lower())
            score *= 1.0 + 0.6 * cov + 0.4 * phrase
            if cov > 0 and slot["row"]["modality"] == "transcript":
                matched_speech.append(len(out))
            elif cov == 0 and slot["row"]["modality"] == "ocr":
                unmatched_text.append(len(out))
        if settings.search_rerank and slot["cos"] is not None:
            # semantic closeness, so a word shared with an unrelated page does not outrank the meaning
            score += SEMANTIC_WEIGHT * max(0.0, slot["cos"])
        out.append(_passage(slot["row"], score, tuple(sorted(slot["kinds"]))))
    _below_speech(out, matched_speech, unmatched_text)
    out.sort(key=lambda p: -p.score)
    return out[:k]


MIN_OCR_VECTOR_COS = 0.5  # MiniLM puts short strings close to anything: "250" is 0.42 from "budget"


def _stray_text(slot: dict, pq: ParsedQuery) -> bool:
    """On-screen text found only as a vector, sharing no word with the query, that is a number or a
    string only loosely close: a slide's "250" is no answer to "budget"; "Spending plan" still is."""
    row = slot["row"]
    if row["modality"] != "ocr" or slot["kinds"] != {"vector"} or _coverage(row["text"], pq) > 0:
        return False
    return (slot["cos"] or 0.0) < MIN_OCR_VECTOR_COS or not any(c.isalpha() for c in row["text"])


def _below_speech(out: list[Passage], speech: list[int], ocr: list[int]) -> None:
    """On-screen text that shares no word with the query ("250" for "budget", close only as vectors
    of short strings are close) ranks below every spoken passage that does share one, with room to
    spare for the bonus a moment gets per extra modality."""
    if not speech or not ocr:
        return
    cap = 0.5 * min(out[i].score for i in speech)
    for i in ocr:
        out[i].score = min(out[i].score, cap)


def matching(platform, tenant_id: uuid.UUID, filters: Filters, k: int, *, score: float,
             matched: tuple[str, ...]) -> list[Passage]:
    """Up to ``k`` rows that satisfy ``filters`` alone (no query), each given ``score``."""
    table = get_store(platform.settings).open(tenant_id, get_embedder(platform.settings))
    if table is None:
        return []
    rows = table.search().where(where_clause(filters)).select(COLUMNS).limit(k).to_list()
    return [_passage(r, score, matched) for r in rows]


def vector_of(platform, tenant_id: uuid.UUID, video_id: uuid.UUID, t: float) -> np.ndarray | None:
    """The mean vector of the video's rows covering time ``t`` (a moment to find more like)."""
    table = get_store(platform.settings).open(tenant_id, get_embedder(platform.settings))
    if table is None:
        return None
    vid = str(uuid.UUID(str(video_id)))
    rows = table.search().where(f"video_id = '{vid}' AND start <= {float(t) + 1.0} AND \"end\" >= {float(t) - 1.0}"
                                ).select(["vector", "modality"]).limit(50).to_list()
    if not rows:
        return None
    speech = [r for r in rows if r["modality"] == "transcript"] or rows
    v = np.mean([np.asarray(r["vector"], np.float32) for r in speech], axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-12)
