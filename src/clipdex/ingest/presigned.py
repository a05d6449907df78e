"""Uploads straight to object storage through a presigned POST, then the usual accept path.

The client asks for a presigned upload (limits are checked before any byte moves), sends the file
to the store, then calls ``complete``: the server checks the stored size against the declared one
(whether or not the store enforced the policy), copies the bytes to its staging folder, hashes
them and hands them to ``ingest.service.accept`` like any other upload.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from clipdex.auth.principal import Principal
from clipdex.db.types import utcnow
from clipdex.errors import (
    ClipdexError,
    PresignUnsupported,
    UploadExpired,
    UploadFinished,
    UploadNotPresigned,
    UploadNotReceived,
    UploadSizeMismatch,
)
from clipdex.ingest.service import IngestMeta, StagedFile, accept, check_upload_allowed
from clipdex.models import UploadSession, Video
from clipdex.platform import Platform
from clipdex.storage import keys
from clipdex.storage.presign import PresignedUpload, can_presign
from clipdex.tenancy import access
from clipdex.tenancy.system import SystemReason, system_session

KIND = "presigned"
# UploadSession.status values of this flow (the tus routes only act on "open" sessions)
WAITING, CLAIMED, COMPLETED, FAILED = "presigned", "completing", "completed", "failed"


@dataclass
class PresignedRequest:
    filename: str
    size: int
    title: str = ""
    tags: tuple[str, ...] = ()
    language: str | None = None


def create(platform: Platform, principal: Principal, req: PresignedRequest) -> tuple[uuid.UUID, PresignedUpload]:
    """An upload session and a presigned POST limited to exactly the declared size."""
    if not can_presign(platform.blobs):
        raise PresignUnsupported("This deployment stores files locally; use POST /api/v1/uploads (tus) or "
                                 "/api/v1/videos.")
    access.tenant_of(principal)
    check_upload_allowed(platform, principal, req.size)
    expires = utcnow() + timedelta(seconds=platform.settings.upload_session_ttl_s)
    meta = {"kind": KIND, "title": req.title, "tags": ",".join(req.tags), "language": req.language or ""}
    with access.session_for(platform, principal) as s:
        up = UploadSession(tenant_id=principal.tenant_id, length=req.size, filename=req.filename, meta=meta,
                           expires_at=expires, created_by=principal.actor, status=WAITING)
        s.add(up)
        s.flush()
        upload_id = up.id
    key = keys.incoming(principal.tenant_id, upload_id)
    return upload_id, platform.blobs.presign_upload(key, max_bytes=req.size,
                                                    ttl_s=platform.settings.signed_url_ttl_s)


def complete(platform: Platform, principal: Principal, upload_id: uuid.UUID) -> Video:
    """Accept the uploaded object as a video (once: concurrent calls get 409)."""
    up = _claim(platform, principal, upload_id)
    key = keys.incoming(principal.tenant_id, upload_id)
    try:
        if not platform.blobs.exists(key):
            _set(platform, principal, upload_id, WAITING)  # the client may still send the file
            raise UploadNotReceived("Nothing has been uploaded to the presigned URL yet.")
        size = platform.blobs.size(key)
        if size != up.length:
            _size_mismatch(size, up.length)
        staged = _stage(platform, key, upload_id)
        meta = IngestMeta(title=up.meta.get("title", ""), language=up.meta.get("language") or None,
                          tags=[t for t in up.meta.get("tags", "").split(",") if t], filename=up.filename)
        video = accept(platform, principal, staged, meta, source="presigned")
    except ClipdexError as e:
        if e.code != "upload.not_received":
            _set(platform, principal, upload_id, FAILED)
            platform.blobs.delete(key)
        raise
    except BaseException:
        _set(platform, principal, upload_id, WAITING)  # storage or database trouble: the client may retry
        raise
    platform.blobs.delete(key)
    _set(platform, principal, upload_id, COMPLETED, video.id)
    return video


def _size_mismatch(size: int, declared: int) -> None:
    # Checked here because not every S3-compatible store enforces the POST policy's size range.
    raise UploadSizeMismatch(size, declared)


def _claim(platform: Platform, principal: Principal, upload_id: uuid.UUID) -> UploadSession:
    with access.session_for(platform, principal) as s:
        up = access.get_upload_for(s, principal, upload_id, "video:write")
        if (up.meta or {}).get("kind") != KIND:
            raise UploadNotPresigned("This is not a presigned upload.")
        if up.expires_at < utcnow():
            raise UploadExpired("The upload has expired.")
        claimed = s.execute(update(UploadSession).where(UploadSession.id == upload_id, UploadSession.status == WAITING)
                            .values(status=CLAIMED)).rowcount
        if claimed != 1:
            raise UploadFinished("The upload is already finished or being completed.")
        s.expunge(up)
        return up


def _set(platform: Platform, principal: Principal, upload_id: uuid.UUID, status: str,
         video_id: uuid.UUID | None = None) -> None:
    with access.session_for(platform, principal) as s:
        up = access.get_upload_for(s, principal, upload_id, "video:write")
        up.status, up.video_id = status, video_id


def _stage(platform: Platform, key: str, upload_id: uuid.UUID) -> StagedFile:
    """Copy the object into staging, hashing on the way (ffprobe and the duplicate check need both)."""
    path = platform.settings.staging_dir / f"upload-presigned-{upload_id}"
    h, size = hashlib.sha256(), 0
    try:
        with platform.blobs.open(key) as body, open(path, "wb") as f:
            while chunk := body.read(1 << 20):
                h.update(chunk)
                f.write(chunk)
                size += len(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedFile(path, size, h.hexdigest(), source_key=key)


def sweep_expired(platform: Platform) -> int:
    """Drop presigned sessions that expired unfinished, with any bytes sent to them (for the janitor)."""
    with system_session(platform, SystemReason.SCHEDULING) as s:
        stale = [up for up in s.scalars(select(UploadSession).where(
            UploadSession.status.in_((WAITING, CLAIMED)), UploadSession.expires_at < utcnow()))
            if (up.meta or {}).get("kind") == KIND]
        for up in stale:
            platform.blobs.delete(keys.incoming(up.tenant_id, up.id))
            s.delete(up)
    return len(stale)
