"""Downloads through short-lived signed links (no bearer token: the link is the credential)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from clipdex.api.deps import PlatformDep
from clipdex.errors import NotFound
from clipdex.storage import signing
from clipdex.storage.presign import can_presign

router = APIRouter(tags=["downloads"])


@router.get("/blobs/{token}", summary="Download a file through a signed link (supports Range)",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(token: str, platform: PlatformDep):
    data = signing.verify(platform.settings.resolved_secret_key, token)
    key, filename, ctype = data["k"], data.get("f") or "download", data.get("t") or "application/octet-stream"
    blobs = platform.blobs
    if not blobs.exists(key):
        raise NotFound()
    if can_presign(blobs):  # object storage serves the bytes; this link only vouches for them
        return _redirect(blobs, key, filename, ctype, data["e"], platform.settings.signed_url_ttl_s)
    headers = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}
    if hasattr(blobs, "absolute"):
        return FileResponse(blobs.absolute(key), media_type=ctype, filename=filename, headers=headers)
    stream = blobs.open(key)
    return StreamingResponse(iter(lambda: stream.read(1 << 20), b""), media_type=ctype, headers=headers)


def _redirect(blobs, key: str, filename: str, ctype: str, expires: int, ttl_s: int) -> RedirectResponse:
    ttl = max(1, min(int(expires - time.time()), ttl_s))  # never outlives the link it came from
    url, _ = blobs.presign_download(key, filename=filename, content_type=ctype, ttl_s=ttl)
    return RedirectResponse(url, status_code=307,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
