"""Housekeeping that keeps a long-running deployment tidy: expired resumable uploads and the
scratch files of workers that were killed mid-stage."""

from __future__ import annotations

import logging
import shutil
import time

from sqlalchemy import select

from clipdex.db.types import utcnow
from clipdex.models import UploadSession
from clipdex.platform import Platform
from clipdex.tenancy.system import SystemReason

log = logging.getLogger("clipdex.janitor")

SCRATCH_MAX_AGE_S = 24 * 3600


def sweep(platform: Platform, *, scratch_max_age_s: float = SCRATCH_MAX_AGE_S) -> dict[str, int]:
    """Delete expired open tus and presigned uploads (row and bytes) and stale scratch files; returns counts."""
    staging = platform.settings.staging_dir
    removed = {"uploads": 0, "scratch": 0}
    with platform.db.system(reason=SystemReason.SCHEDULING) as s:
        expired = s.scalars(select(UploadSession).where(
            UploadSession.status == "open", UploadSession.expires_at < utcnow())).all()
        for up in expired:
            (staging / "tus" / str(up.id)).unlink(missing_ok=True)
            s.delete(up)
        removed["uploads"] = len(expired)
    from clipdex.ingest.presigned import sweep_expired  # presigned S3 uploads never completed

    removed["presigned"] = sweep_expired(platform)
    from clipdex.tenancy.deletion import sweep_deleted_tenants  # late writes of stages of deleted tenants

    if late := sweep_deleted_tenants(platform):
        removed["deleted_tenants"] = late
    cutoff = time.time() - scratch_max_age_s
    candidates = list(staging.glob("clipdex-*")) + list(staging.glob("upload-*")) + list(staging.glob("cli-*"))
    blob_tmp = getattr(platform.blobs, "root", None)
    if blob_tmp is not None:
        candidates += list((blob_tmp / ".tmp").glob("*.part"))
    for path in candidates:
        try:
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed["scratch"] += 1
        except FileNotFoundError:
            continue
    if not platform.db.scrub_freed():  # what was deleted since the last sweep leaves the SQLite files
        log.info("janitor: SQLite checkpoint incomplete (readers busy); the next sweep finishes it")
    if any(removed.values()):
        log.info("janitor removed %s", removed)
    return removed
