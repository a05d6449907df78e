"""Presigned URLs: short-lived, tenant keys only, the same rules for every store.

A store that can presign (S3) has ``presign_download`` and ``presign_upload``. Download links
handed to clients are always the API's opaque ``/api/v1/blobs/{token}`` links
(``storage/signing.py``): an S3 presigned URL carries the object key (tenant and video ids) in its
path, so the API link redirects to one only when it is followed, for a time no longer than its own.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

MAX_TTL_S = 900  # presigned URLs never outlive 15 minutes, whatever the settings say


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    fields: dict[str, str] = field(default_factory=dict)  # form fields to send before the file (POST)
    method: str = "POST"
    expires_at: int = 0  # Unix seconds
    max_bytes: int = 0


def check_presign_key(key: str) -> None:
    """Only blobs under ``tenants/{uuid}/`` are ever presigned (ValueError otherwise)."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "tenants" or not parts[2] or any(p in ("", ".", "..") for p in parts):
        raise ValueError("only keys under tenants/{tenant_id}/ can be presigned")
    try:
        canonical = str(uuid.UUID(parts[1]))
    except ValueError:
        raise ValueError("only keys under tenants/{tenant_id}/ can be presigned") from None
    if canonical != parts[1]:
        raise ValueError("only keys under tenants/{tenant_id}/ can be presigned")


def clamp_ttl(ttl_s: float) -> int:
    if ttl_s <= 0:
        raise ValueError("ttl must be positive")
    return int(min(ttl_s, MAX_TTL_S))


def expiry(ttl_s: int) -> int:
    return int(time.time()) + ttl_s


def can_presign(store) -> bool:
    return callable(getattr(store, "presign_download", None)) and callable(getattr(store, "presign_upload", None))


def download_url(settings, store, key: str, *, filename: str, content_type: str) -> tuple[str, int]:
    """An opaque, short-lived API link for a tenant blob (redirected to the store when it presigns)."""
    check_presign_key(key)
    ttl = clamp_ttl(settings.signed_url_ttl_s)
    from clipdex.storage import signing

    token, expires = signing.sign(settings.resolved_secret_key, key, ttl_s=ttl, filename=filename,
                                  content_type=content_type)
    return f"{settings.public_url.rstrip('/')}/api/v1/blobs/{token}", expires


def blob_link(platform, key: str, *, filename: str, content_type: str = "image/jpeg") -> str:
    """``download_url`` for a blob of ``platform`` without its expiry: the link a response embeds
    (a thumbnail, a face, an evidence frame)."""
    return download_url(platform.settings, platform.blobs, key, filename=filename, content_type=content_type)[0]
