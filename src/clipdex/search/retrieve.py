"""Hybrid retrieval over one tenant's index: full-text and vector candidates, fused by reciprocal rank.

Full-text handles names, numbers and exact phrases ("quoted"), with edit-distance tolerance for
typos; vectors handle paraphrase. How the candidates are then ordered (and which are too weak to
show) is ``rank.py``'s business; this module fetches, filters and hands over.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import numpy as np

from clipdex.search import rank
from clipdex.search.embed import get_embedder
from clipdex.search.query import ParsedQuery, norm, parse
from clipdex.search.store import MODALITIES, get_store

log = logging.getLogger("clipdex.search")

CANDIDATES = 100  # rows fetched from each list (full-text, vector) before fusion
FUZZY_BELOW = 5  # exact full-text hits under which the query is retried with typo tolerance
COLUMNS = ["id", "video_id", "modality", "start", "end", "text", "speaker", "language", "people", "tags",
           "words", "thumb_key"]


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


def fts_query(pq: ParsedQuery, *, fuzzy: bool):
    """Exact terms score highest; with ``fuzzy`` each longer term also matches within 1-2 edits (typos)."""
    from lancedb.query import BooleanQuery, MatchQuery, Occur, PhraseQuery

    w = rank.WEIGHTS
    clauses = [(Occur.SHOULD, MatchQuery(pq.text, "text", boost=w.fts_exact_boost))]
    for t in dict.fromkeys(pq.terms) if fuzzy else ():
        if len(t) >= 5:
            clauses.append((Occur.SHOULD, MatchQuery(t, "text", fuzziness=1 if len(t) < 8 else 2,
                                                     prefix_length=1, boost=w.fts_fuzzy_boost)))
    for p in pq.phrases:
        clauses.append((Occur.MUST, PhraseQuery(p, "text")))
    return BooleanQuery(clauses)


def _fts(table, query, where: str | None, depth: int) -> list[dict]:
    b = table.search(query, query_type="fts").select(COLUMNS + ["_score", "vector"]).limit(depth)
    return _rows(b.where(where, prefilter=True) if where else b)


def _rows(builder) -> list[dict]:
    try:
        return builder.to_list()
    except Exception as e:  # an empty table or a table without an FTS index yet (anything else is re-raised)
        if "index" in str(e).lower() or "empty" in str(e).lower():
            return []
        raise


def _passage(r: dict, score: float, matched: tuple[str, ...]) -> Passage:
    return Passage(video_id=uuid.UUID(r["video_id"]), start=r["start"], end=r["end"], text=r["text"],
                   modality=r["modality"], score=score, speaker=r.get("speaker"), language=r.get("language"),
                   id=r["id"], words=r.get("words"), thumb_key=r.get("thumb_key"), people=list(r.get("people") or []),
                   tags=list(r.get("tags") or []), matched=matched)


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
    pool: dict[str, rank.Candidate] = {}
    if pq.text:
        # Fuzzy term expansion is the costly part on large tables: only when exact words find little.
        rows = _fts(table, fts_query(pq, fuzzy=False), where, depth)
        if len(rows) < FUZZY_BELOW and any(len(t) >= 5 for t in pq.terms):
            rows = _fts(table, fts_query(pq, fuzzy=True), where, depth)
        rank.fuse(pool, rows, "fts")
    qv = vector if vector is not None else (embedder.encode([pq.text])[0] if pq.text else None)
    if qv is not None and not text_only:  # never compare vectors of two different models
        b = table.search(np.asarray(qv, np.float32), vector_column_name="vector").distance_type("cosine")
        b = b.nprobes(20).refine_factor(5)  # with an IVF_PQ index: re-rank by exact distance
        b = b.select(COLUMNS + ["_distance"]).limit(depth)
        rank.fuse(pool, _rows(b.where(where, prefilter=True) if where else b), "vector")
    if qv is not None and not text_only:  # full-text-only candidates: their similarity from the stored vector
        for c in pool.values():
            if c.cos is None and c.row.get("vector") is not None:
                c.cos = float(np.dot(np.asarray(c.row["vector"], np.float32), qv))
    return _ranked(pool, pq, rerank=settings.search_rerank)[:k]


def _ranked(pool: dict[str, rank.Candidate], pq: ParsedQuery, *, rerank: bool) -> list[Passage]:
    """The fused candidates that pass, scored by ``rank`` and best first."""
    out, coverages = [], []
    phrases = [norm(p) for p in pq.phrases]
    for c in pool.values():
        if rank.dropped(c, pq.terms):
            continue
        if phrases and not all(p in norm(c.row["text"]) for p in phrases):
            continue  # a quoted phrase is a requirement, also for semantic candidates
        score, cov = rank.score(c, pq, rerank=rerank)
        out.append(_passage(c.row, score, tuple(sorted(c.kinds))))
        coverages.append(cov)
    rank.cap_unmatched_text(out, coverages)
    return rank.best_first(out)


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
