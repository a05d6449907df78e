"""Ask and summaries for a principal: access checks, the tenant's own index, the chosen backend."""

from __future__ import annotations

import uuid


from clipdex.auth.principal import Principal
from clipdex.auth.service import ensure
from clipdex.errors import (
    QuestionRequired,
    QuestionTooLong,
    ScopeTooLarge,
    SummaryNotReady,
    SummaryQueryRequired,
    SummaryQueryTooLong,
)
from clipdex.models import Tenant, Video
from clipdex.pipeline.artifacts import Summary
from clipdex.rag import backends
from clipdex.rag.answer import AnswerOptions, answer_from
from clipdex.rag.summarize import query_summary
from clipdex.rag.text import expand_query
from clipdex.tenancy import access, audit

MAX_QUESTION_CHARS = 1000
MAX_SCOPE_VIDEOS = 100
# Spoken and on-screen text answer questions; tag/shot/face rows are labels, not statements.
ANSWER_MODALITIES = ("transcript", "ocr")


# A question (answers) and a topic (summaries) are checked alike; each has its own codes.
_QUERY_ERRORS = {"question": (QuestionRequired, QuestionTooLong), "query": (SummaryQueryRequired, SummaryQueryTooLong)}


def validate(query: str, scope_ids: list[uuid.UUID], field: str = "question") -> str:
    query = " ".join((query or "").split())
    required, too_long = _QUERY_ERRORS[field]
    if not query:
        raise required(f"The {field} is empty.")
    if len(query) > MAX_QUESTION_CHARS:
        raise too_long(f"The {field} is longer than {MAX_QUESTION_CHARS} characters.")
    if len(scope_ids) > MAX_SCOPE_VIDEOS:
        raise ScopeTooLarge(f"The scope names more than {MAX_SCOPE_VIDEOS} videos.")
    return query


def _tenant_backend(platform, principal: Principal, scope_ids: list[uuid.UUID], requested: str | None) -> str:
    """The backend to use, after checking that every scoped video is the principal's (else 404)."""
    with access.session_for(platform, principal, readonly=True) as s:
        for vid in dict.fromkeys(scope_ids):
            access.get_video_for(s, principal, vid, "video:read")
        tenant = s.get(Tenant, access.tenant_of(principal))
        return backends.choose(platform.settings, dict(tenant.settings or {}) if tenant else {}, requested)


def _passages(platform, tenant_id: uuid.UUID, query: str, scope_ids: list[uuid.UUID], k: int) -> list:
    from clipdex.search.retrieve import Filters, retrieve

    filters = Filters(video_ids=tuple(dict.fromkeys(scope_ids)), modalities=ANSWER_MODALITIES)
    return retrieve(platform, tenant_id, expand_query(query), filters=filters, k=k)


def ask(platform, principal: Principal, question: str, scope_ids: list[uuid.UUID], requested: str | None,
        *, kind: str = "answer") -> dict:
    """POST /ask and POST /summarize: a verified, cited answer from the tenant's own library."""
    ensure(principal, "video:read")
    query = validate(question, scope_ids, "question" if kind == "answer" else "query")
    name = _tenant_backend(platform, principal, scope_ids, requested)
    from clipdex.search.embed import get_embedder

    embedder = get_embedder(platform.settings)
    tenant_id = access.tenant_of(principal)
    backend = backends.get_backend(platform.settings, name, embedder, platform=platform, tenant_id=tenant_id)
    if kind == "summary":
        result = query_summary(query, _passages(platform, tenant_id, query, scope_ids, 30), backend, embedder)
    else:
        opts = AnswerOptions()
        result = answer_from(query, _passages(platform, tenant_id, query, scope_ids, opts.k), backend, embedder,
                             opts=opts)
    _add_titles(platform, principal, result.citations)
    return result.public()


def _add_titles(platform, principal: Principal, quotes: list) -> None:
    """Each citation's video title (else its filename), looked up once per answer in the tenant's session."""
    ids = list(dict.fromkeys(q.video_id for q in quotes))
    if not ids:
        return
    with access.session_for(platform, principal, readonly=True) as s:
        rows = s.execute(access.list_owned(principal, Video, "video:read").with_only_columns(
            Video.id, Video.title, Video.filename).where(Video.id.in_(ids))).all()
    titles = {vid: title or filename or None for vid, title, filename in rows}
    for q in quotes:
        q.video_title = titles.get(q.video_id)


def video_summary(platform, principal: Principal, video_id: uuid.UUID) -> dict:
    """The summary.json of a video the principal may read (404 summary.not_ready until computed)."""
    with access.session_for(platform, principal, readonly=True) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        doc = Summary.doc_of(platform, s, v.id)
    if doc is None:
        raise SummaryNotReady("The summary of this video is not ready (it needs a transcript).")
    return {"short": doc.get("short", ""), "long": doc.get("long", ""), "chapters": doc.get("chapters", []),
            "sentences": doc.get("sentences", [])}


def answer_settings(platform, principal: Principal) -> dict:
    ensure(principal, "tenant:read")
    with access.session_for(platform, principal, readonly=True) as s:
        chosen = (s.get(Tenant, access.tenant_of(principal)).settings or {}).get("answer_backend")
    return {"answer_backend": chosen, "effective": backends.choose(platform.settings, {"answer_backend": chosen}, None),
            "available": backends.enabled(platform.settings)}


def set_answer_backend(platform, principal: Principal, name: str | None) -> dict:
    """Owners pick one of the enabled backends (null: follow the deployment's default)."""
    ensure(principal, "tenant:update")
    if name is not None and name not in backends.enabled(platform.settings):
        raise backends.BackendNotEnabled(f"Backend {name!r} is not enabled here; choose one of "
                                         f"{backends.enabled(platform.settings)}.")
    with access.session_for(platform, principal) as s:
        t = s.get(Tenant, access.tenant_of(principal))
        rest = {k: v for k, v in (t.settings or {}).items() if k != "answer_backend"}
        t.settings = {**rest, **({"answer_backend": name} if name else {})}
        audit.record(s, "tenant.answer_backend", actor=principal.actor, tenant_id=t.id, target=f"tenant:{t.id}",
                     answer_backend=name)
    return answer_settings(platform, principal)
