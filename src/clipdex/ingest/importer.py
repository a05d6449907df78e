"""URL imports: checked when asked for, fetched by a worker stage, then processed like uploads."""

from __future__ import annotations

import uuid

from clipdex.auth.principal import Principal
from clipdex.ingest.service import IngestMeta, tier_of
from clipdex.ingest.ssrf import FetchPolicy, check_url
from clipdex.jobs.service import create_job
from clipdex.models import Video
from clipdex.platform import Platform
from clipdex.settings import Settings, Tier


def policy_for(settings: Settings, tier: Tier) -> FetchPolicy:
    return FetchPolicy(max_bytes=tier.max_upload_bytes, timeout_s=settings.import_timeout_s,
                       max_redirects=settings.import_max_redirects,
                       allowed_cidrs=tuple(settings.import_allowed_cidrs))


def create_import(platform: Platform, principal: Principal, url: str, meta: IngestMeta) -> Video:
    """Refuse obviously bad URLs now (clear error to the caller); the worker re-checks every hop."""
    check_url(url, policy_for(platform.settings, tier_of(platform, principal)))
    with platform.db.tenant(principal.tenant_id) as s:
        video = Video(id=uuid.uuid4(), tenant_id=principal.tenant_id, title=meta.title or url.rsplit("/", 1)[-1][:500],
                      tags=meta.tags, language=meta.language, source="import", source_url=url[:2048],
                      created_by=principal.actor)
        s.add(video)
        s.flush()
        create_job(s, platform.settings, video)
    return video
