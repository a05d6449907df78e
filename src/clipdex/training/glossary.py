"""A tenant's custom vocabulary: product names, people, jargon; per-video hints.

Transcription gets the terms as faster-whisper ``hotwords`` (a decoder prompt that biases spelling
toward them), and the chunk plan includes them, so a changed glossary re-transcribes instead of
reusing chunks decoded without it.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from sqlalchemy import delete, select

from clipdex.errors import InvalidGlossary, TooManyGlossaryTerms
from clipdex.models import GlossaryTerm
from clipdex.tenancy.access import owned_by

MAX_TERMS = 200
MAX_TERM_CHARS = 100
MAX_HINT_CHARS = 600  # Whisper's prompt holds ~220 tokens; the rest of it is the previous text
_TERM = re.compile(r"^[^\x00-\x1f<>]{1,100}$")


def clean_terms(terms: list[str]) -> list[str]:
    out: list[str] = []
    for t in terms:
        t = " ".join(str(t).split())
        if not t:
            continue
        if len(t) > MAX_TERM_CHARS or not _TERM.match(t):
            raise InvalidGlossary(f"Glossary terms are 1-{MAX_TERM_CHARS} printable characters.")
        if t.lower() not in {x.lower() for x in out}:
            out.append(t)
    if len(out) > MAX_TERMS:
        raise TooManyGlossaryTerms(f"A glossary holds at most {MAX_TERMS} terms.")
    return out


def read(s, tenant_id: uuid.UUID) -> dict:
    rows = s.scalars(select(GlossaryTerm).where(owned_by(GlossaryTerm, tenant_id)).order_by(
        GlossaryTerm.created_at, GlossaryTerm.term)).all()
    hints: dict[str, list[str]] = {}
    for r in rows:
        if r.video_id is not None:
            hints.setdefault(str(r.video_id), []).append(r.term)
    return {"terms": [r.term for r in rows if r.video_id is None], "video_hints": hints}


def replace(s, tenant_id: uuid.UUID, terms: list[str], video_hints: dict[uuid.UUID, list[str]]) -> dict:
    """PUT semantics: the glossary becomes exactly ``terms`` and ``video_hints``."""
    s.execute(delete(GlossaryTerm).where(owned_by(GlossaryTerm, tenant_id)))
    for t in clean_terms(terms):
        s.add(GlossaryTerm(tenant_id=tenant_id, term=t))
    for vid, hint_terms in video_hints.items():
        for t in clean_terms(hint_terms):
            s.add(GlossaryTerm(tenant_id=tenant_id, video_id=vid, term=t))
    s.flush()
    return read(s, tenant_id)


def terms_for(s, tenant_id: uuid.UUID, video_id: uuid.UUID | None = None) -> list[str]:
    """The video's hints first, then the tenant's glossary."""
    rows = s.execute(select(GlossaryTerm.term, GlossaryTerm.video_id).where(
        owned_by(GlossaryTerm, tenant_id),
        (GlossaryTerm.video_id.is_(None)) | (GlossaryTerm.video_id == video_id)).order_by(
        GlossaryTerm.created_at, GlossaryTerm.term)).all()
    ordered = [t for t, v in rows if v is not None] + [t for t, v in rows if v is None]
    return list(dict.fromkeys(ordered))


def hotwords(terms: list[str]) -> str | None:
    """The hotwords string for faster-whisper (None: no glossary)."""
    out, n = [], 0
    for t in terms:
        if n + len(t) + 2 > MAX_HINT_CHARS:
            break
        out.append(t)
        n += len(t) + 2
    return ", ".join(out) or None


def hints_for_stage(ctx) -> str | None:
    """Hotwords for the video a transcription stage works on."""
    with ctx.platform.db.tenant(ctx.video.tenant_id, readonly=True) as s:
        return hotwords(terms_for(s, ctx.video.tenant_id, ctx.video.id))


def plan_with_hints(plan: str, hints: str | None) -> str:
    """The chunk plan key, changed by the glossary (chunks decoded without it are not reused)."""
    if not hints:
        return plan
    return plan[:6] + hashlib.sha256(f"{plan}|{hints}".encode()).hexdigest()[:6]


class HintedModel:
    """A Whisper model whose ``transcribe`` calls carry the glossary as ``hotwords``."""

    def __init__(self, model, hints: str | None) -> None:
        self._model, self._hints = model, hints

    def transcribe(self, audio, **kw):
        if self._hints and "hotwords" not in kw:
            kw["hotwords"] = self._hints
        return self._model.transcribe(audio, **kw)

    def __getattr__(self, name):
        return getattr(self._model, name)


def with_hints(model, hints: str | None):
    return HintedModel(model, hints) if hints else model


def boost_terms(s, tenant_id: uuid.UUID, query: str) -> list[str]:
    """Glossary terms a search query names (case-insensitively): search ranks passages holding them up."""
    q = query.lower()
    return [t for t in terms_for(s, tenant_id) if t.lower() in q]
