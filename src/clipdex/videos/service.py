"""Library operations on videos that routes and workers share."""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlalchemy import Select, Text, cast, delete, select
from sqlalchemy.orm import Session

from clipdex.models import Artifact, Job, JobStage, Video
from clipdex.platform import Platform
from clipdex.storage import keys

_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def clean_language(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not _LANG.match(value):
        from clipdex.errors import InvalidLanguage

        raise InvalidLanguage("language must be a BCP 47 code such as 'en' or 'pt-BR'.")
    return value


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def apply_filters(q: Select, *, status: str | None = None, tag: str | None = None, q_text: str | None = None,
                  language: str | None = None, created_after: datetime | None = None,
                  created_before: datetime | None = None) -> Select:
    if status:
        q = q.where(Video.status == status)
    if tag:
        # tags are stored as the JSON text of a list of strings on both databases
        q = q.where(cast(Video.tags, Text).like(f"%{_like_escape(json.dumps(tag))}%", escape="\\"))
    if q_text:
        q = q.where(Video.title.ilike(f"%{_like_escape(q_text)}%", escape="\\"))
    if language:
        q = q.where(Video.language == language)
    if created_after:
        q = q.where(Video.created_at >= created_after)
    if created_before:
        q = q.where(Video.created_at < created_before)
    return q


def delete_video_rows(s: Session, video: Video) -> list[str]:
    """Delete the video's rows and what was derived from it; returns the blob prefixes to remove once the
    transaction commits."""
    from clipdex.tenancy.deletion import video_residue

    extra = video_residue(s, video)
    job_ids = s.scalars(select(Job.id).where(Job.video_id == video.id)).all()
    s.execute(delete(Artifact).where(Artifact.video_id == video.id))
    if job_ids:
        s.execute(delete(JobStage).where(JobStage.job_id.in_(job_ids)))
        s.execute(delete(Job).where(Job.id.in_(job_ids)))
    s.delete(video)
    s.flush()
    return [keys.video_prefix(video.tenant_id, video.id), *extra]


def delete_blobs(platform: Platform, prefixes: list[str]) -> int:
    return sum(platform.blobs.delete_prefix(p) for p in prefixes)
