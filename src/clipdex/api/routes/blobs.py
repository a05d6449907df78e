"""Downloads through short-lived signed links (no bearer token: the link is the credential)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, StreamingResponse

from clipdex.api.deps import PlatformDep
from clipdex.errors import NotFound
from clipdex.storage import signing

router = APIRouter(tags=["downloads"])


@router.get("/blobs/{token}", summary="Download a file through a signed link (supports Range)",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(token: str, platform: PlatformDep):
    data = signing.verify(platform.settings.resolved_secret_key, token)
    key, filename, ctype = data["k"], data.get("f") or "download", data.get("t") or "application/octet-stream"
    blobs = platform.blobs
    if not blobs.exists(key):
        raise NotFound()
    headers = {"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"}
    if hasattr(blobs, "absolute"):
        return FileResponse(blobs.absolute(key), media_type=ctype, filename=filename, headers=headers)
    stream = blobs.open(key)
    return StreamingResponse(iter(lambda: stream.read(1 << 20), b""), media_type=ctype, headers=headers)
