"""Library search for a principal: validated parameters in, a page of moments out."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from clipdex.errors import (InvalidFilter, InvalidLike, InvalidModality, InvalidSearchCursor, InvalidSearchLanguage,
                            MomentNotIndexed, QueryRequired, QueryTooLong)
from clipdex.models import Person, Video
from clipdex.tenancy.scope import owned_by
from clipdex.search import moments as mom
from clipdex.search import rank
from clipdex.search.images import image_hits
from clipdex.search.query import parse
from clipdex.search.retrieve import Filters, Passage, matching, retrieve, vector_of
from clipdex.search.store import MODALITIES
from clipdex.storage import presign, signing
from clipdex.tenancy import access

MAX_QUERY = 500
MAX_DEPTH = 500
_LIKE = re.compile(r"^([0-9a-fA-F-]{36})@(\d+(?:\.\d+)?)$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@dataclass
class SearchParams:
    q: str = ""
    limit: int = 20
    cursor: str | None = None
    like: str | None = None
    filters: Filters = field(default_factory=Filters)
    verdict: str | None = None  # compliance verdict against the tenant's default policy


def _verdict_filter(s, principal, platform, f: Filters, verdict: str) -> Filters | None:
    """Only videos with ``verdict`` against the tenant's default compliance policy (None: no video has it)."""
    from clipdex.compliance.service import videos_with_verdict

    ids = videos_with_verdict(s, access.tenant_of(principal), verdict, platform.settings.compliance_default_policy)
    if f.video_ids:
        ids &= set(f.video_ids)
    if not ids:
        return None
    return Filters(**{**f.__dict__, "video_ids": tuple(sorted(ids))[:1000]})


def build_filters(*, video_id=(), person_id=(), speaker=(), tag=(), modality=(), language=(),
                  uploaded_after=None, uploaded_before=None) -> Filters:
    bad = [m for m in modality if m not in MODALITIES]
    if bad:
        raise InvalidModality(f"Unknown modality. Use one of: {', '.join(MODALITIES)}.")
    if any(not _LANG.match(x) for x in language):
        raise InvalidSearchLanguage("Languages are ISO codes such as en or pt-BR.")
    if any(len(x) > 200 for x in (*speaker, *tag)) or len(video_id) > 100:
        raise InvalidFilter("Too many or too long filter values.")
    return Filters(video_ids=tuple(video_id), person_ids=tuple(person_id), speakers=tuple(speaker),
                   tags=tuple(t.lower() for t in tag), modalities=tuple(modality), languages=tuple(language),
                   uploaded_after=uploaded_after.timestamp() if uploaded_after else None,
                   uploaded_before=uploaded_before.timestamp() if uploaded_before else None)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        o = int(json.loads(signing.unb64url(cursor))["o"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise InvalidSearchCursor("The cursor is not valid for this search.") from None
    if not 0 <= o <= MAX_DEPTH:
        raise InvalidSearchCursor("The cursor is not valid for this search.")
    return o


def _cursor(offset: int) -> str:
    return signing.b64url(json.dumps({"o": offset}).encode())


def _people_hits(platform, principal, s, pq, filters: Filters, k: int) -> list[Passage]:
    """Named people whose name the query mentions: their appearances are hits (names change after indexing)."""
    terms = set(pq.terms)
    if not terms:
        return []
    named = s.execute(access.list_owned(principal, Person, "video:read").where(Person.name.is_not(None))
                      .with_only_columns(Person.id, Person.name)).all()
    ids = [pid for pid, name in named if terms & {w.lower() for w in re.findall(r"\w+", name or "")}]
    if not ids:
        return []
    merged = Filters(**{**filters.__dict__, "person_ids": tuple(ids), "modalities": ("face",)})
    return matching(platform, access.tenant_of(principal), merged, k, score=rank.named_person_score(),
                    matched=("people",))


def search(platform, principal, params: SearchParams) -> dict:
    """One page of moments; the tenant comes only from the principal."""
    access.ensure(principal, "video:read")
    q = (params.q or "").strip()
    if len(q) > MAX_QUERY:
        raise QueryTooLong(f"The query is longer than {MAX_QUERY} characters.")
    if not q and not params.like:
        raise QueryRequired("Type something to search for, or pass like=<video_id>@<seconds>.")
    limit, offset = max(1, min(params.limit, 50)), _offset(params.cursor)
    tenant_id = access.tenant_of(principal)
    depth = min(MAX_DEPTH, offset + limit + 1) * 3
    pq = parse(q)
    vector, exclude = None, None
    if params.like:
        vector, exclude = _like_vector(platform, principal, params.like)
    with access.session_for(platform, principal, readonly=True) as s:
        filters = _with_tagged_videos(s, principal, params.filters)
        if params.verdict:
            filters = _verdict_filter(s, principal, platform, filters, params.verdict)
            if filters is None:
                return {"items": [], "next_cursor": None}
        passages = retrieve(platform, tenant_id, q, filters=filters, k=depth, vector=vector)
        passages += _people_hits(platform, principal, s, pq, filters, 50) if q else []
        passages += image_hits(platform, tenant_id, q, filters, 20) if q else []
        found = mom.merge(passages)
        if q:
            from clipdex.training.glossary import boost_terms

            found = rank.boost_glossary(found, boost_terms(s, tenant_id, q))
        if exclude:
            found = [m for m in found if not (m.video_id == exclude[0] and m.start <= exclude[1] <= m.end + 1)]
        titles = dict(s.execute(select(Video.id, Video.title).where(
            owned_by(Video, tenant_id), Video.id.in_({m.video_id for m in found}))).all()) if found else {}
    found = [m for m in found if m.video_id in titles]  # the database is the truth: deleted videos vanish
    page = found[offset:offset + limit]
    more = len(found) > offset + limit and offset + limit < MAX_DEPTH
    return {"items": [_item(platform, m, pq, titles[m.video_id]) for m in page],
            "next_cursor": _cursor(offset + limit) if more else None}


def _with_tagged_videos(s, principal, f: Filters) -> Filters:
    """Tags users put on videos live in the database (editable any time); visual/sound tags in the index."""
    if not f.tags:
        return f
    wanted = set(f.tags)
    rows = s.execute(access.list_owned(principal, Video, "video:read").with_only_columns(Video.id, Video.tags)).all()
    ids = tuple(vid for vid, tags in rows if wanted & {str(t).lower() for t in tags or []})[:1000]
    return Filters(**{**f.__dict__, "tag_video_ids": ids})


def _like_vector(platform, principal, like: str):
    m = _LIKE.match(like.strip())
    if not m:
        raise InvalidLike("like must be <video_id>@<seconds>.")
    video_id, t = uuid.UUID(m.group(1)), float(m.group(2))
    with access.session_for(platform, principal, readonly=True) as s:
        access.get_video_for(s, principal, video_id, "video:read")  # 404 for other tenants' videos
    v = vector_of(platform, access.tenant_of(principal), video_id, t)
    if v is None:
        raise MomentNotIndexed("Nothing is indexed at that moment of the video.")
    return v, (video_id, t)


def _item(platform, m: mom.Moment, pq, title: str) -> dict:
    best = m.best
    text, marks = mom.snippet(best.text, pq)
    thumb = next((p.thumb_key for p in m.passages if p.thumb_key), None)
    thumb_url = presign.blob_link(platform, thumb, filename="moment.jpg") if thumb else None
    start = mom.refine_start(m, pq) if pq.terms else m.start
    return {"video_id": str(m.video_id), "video_title": title, "start": round(start, 2), "end": round(m.end, 2),
            "snippet": text, "highlights": marks, "thumbnail_url": thumb_url,
            "modalities": m.modalities, "score": round(m.score, 5), "speaker": best.speaker}
