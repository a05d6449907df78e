"""Accepting a staged file as a video: probe, limits, quotas, duplicates, storage, a job."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from clipdex.auth.principal import Principal
from clipdex.billing import state as billing_state
from clipdex.billing.metering import month_of, storage_bytes, usage_totals
from clipdex.errors import (
    ConcurrentJobsLimit,
    DuplicateVideo,
    ProcessingMinutesExceeded,
    StorageQuotaExceeded,
    UploadTooLarge,
)
from clipdex.jobs.service import create_job
from clipdex.media.probe import check_media, probe_file
from clipdex.models import Job, Tenant, Video
from clipdex.platform import Platform
from clipdex.settings import Tier
from clipdex.storage import keys
from clipdex.tenancy.access import owned_by


@dataclass
class IngestMeta:
    title: str = ""
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    filename: str = ""


@dataclass
class StagedFile:
    path: Path
    size: int
    sha256: str
    source_key: str | None = None  # already in the store (a presigned upload): copied there, not re-sent


def tier_of(platform: Platform, principal: Principal) -> Tier:
    return platform.settings.tier(principal.tenant_tier or platform.settings.default_tier)


# Multipart bodies carry boundaries and small fields around the file; the file itself is held to
# the exact limit while streaming, so the declared body size gets this much slack.
FORM_OVERHEAD_BYTES = 256 * 1024


def check_upload_allowed(platform: Platform, principal: Principal, declared_size: int | None,
                         *, overhead: int = 0) -> Tier:
    """Checks that need no bytes: size limit, storage quota, concurrent jobs. Run before reading."""
    tier = tier_of(platform, principal)
    if declared_size is not None and declared_size - overhead > tier.max_upload_bytes:
        raise UploadTooLarge(f"Uploads are limited to {tier.max_upload_bytes} bytes on the {tier.name} tier.")
    with platform.db.tenant(principal.tenant_id) as s:
        billing_state.ensure_processing_allowed(s, platform.settings, principal.tenant_id)
        used = storage_bytes(s, principal.tenant_id)
        # the whole declared body counts here: refusing a file within a few KB of a full quota is
        # cheaper than accepting one we must delete after the transfer
        if used + (declared_size or 0) > tier.storage_bytes:
            raise StorageQuotaExceeded("The tenant's storage quota is used up.")
        _check_active_jobs(s, principal.tenant_id, tier)
    return tier


def _check_active_jobs(s, tenant_id: uuid.UUID, tier: Tier) -> None:
    active = s.scalar(select(func.count()).select_from(Job).where(
        owned_by(Job, tenant_id), Job.status.in_(("queued", "running"))))
    if active >= tier.concurrent_jobs:
        raise ConcurrentJobsLimit(f"At most {tier.concurrent_jobs} jobs may be queued or running.",
                                  headers={"Retry-After": "60"})


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def stage_copy(settings, path: Path) -> StagedFile:
    """A local file copied into staging (hashed while copied) for ``accept``: the CLI, evals, benches.

    The ``cli-`` name lets the janitor remove copies a crash left behind.
    """
    staged = settings.staging_dir / f"cli-{uuid.uuid4().hex}"
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as src, open(staged, "wb") as dst:
        while chunk := src.read(1 << 20):
            h.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return StagedFile(staged, size, h.hexdigest())


def _ext(filename: str) -> str:
    ext = os.path.splitext(filename)[1].lstrip(".").lower()
    return ext if ext.isalnum() and len(ext) <= 8 else "bin"


def accept(platform: Platform, principal: Principal, staged: StagedFile, meta: IngestMeta,
           *, source: str = "upload") -> Video:
    """Turn a staged upload into a queued video, or raise a stable error and delete the bytes."""
    try:
        tier = tier_of(platform, principal)
        info = probe_file(staged.path, platform.settings)  # sandboxed ffprobe: headers only, no decode
        check_media(info, tier)
        with platform.db.tenant(principal.tenant_id) as s:
            _check_quota(s, principal.tenant_id, tier, staged.size, info.duration_s)
            dup = s.scalar(select(Video.id).where(owned_by(Video, principal.tenant_id),
                                                  Video.sha256 == staged.sha256))
            if dup is not None:
                raise DuplicateVideo("This file was already uploaded.", existing_id=str(dup))
            video = Video(id=uuid.uuid4(), tenant_id=principal.tenant_id, title=meta.title or _title(meta.filename),
                          tags=meta.tags, language=meta.language, source=source, filename=meta.filename[:500],
                          size_bytes=staged.size, sha256=staged.sha256, duration_s=info.duration_s,
                          width=info.video.width if info.video else None,
                          height=info.video.height if info.video else None, media=info.summary(),
                          created_by=principal.actor)
            video.blob_key = keys.original(principal.tenant_id, video.id, _ext(meta.filename))
            if staged.source_key:
                platform.blobs.copy(staged.source_key, video.blob_key)
            else:
                platform.blobs.adopt_file(video.blob_key, staged.path)
            s.add(video)
            s.flush()
            create_job(s, platform.settings, video)
        return video
    finally:
        staged.path.unlink(missing_ok=True)


def _title(filename: str) -> str:
    return os.path.splitext(os.path.basename(filename))[0][:500] or "Untitled"


def _check_quota(s, tenant_id: uuid.UUID, tier: Tier, size: int, duration_s: float) -> None:
    # Re-checked when the video is created: tus sessions opened earlier must not bypass the cap.
    _check_active_jobs(s, tenant_id, tier)
    if storage_bytes(s, tenant_id) + size > tier.storage_bytes:
        raise StorageQuotaExceeded("The tenant's storage quota is used up.")
    used = usage_totals(s, tenant_id, month_of()).get("processing_minutes", 0.0)
    if used + duration_s / 60.0 > tier.processing_minutes_per_month:
        raise ProcessingMinutesExceeded(
            f"Processing this video would exceed the {tier.processing_minutes_per_month:.0f} minutes "
            f"included this month.")


def tenant_tier(platform: Platform, tenant_id: uuid.UUID) -> Tier:
    with platform.db.tenant(tenant_id, readonly=True) as s:  # the tenant's own row: no system session needed
        return platform.settings.tier(s.scalar(select(Tenant.tier).where(Tenant.id == tenant_id)))
