"""Resumable uploads over tus 1.0.0 (core + creation + termination + expiration).

Why tus rather than S3-style multipart: it is an open HTTP protocol with maintained clients
(tus-js-client, Uppy, tus-py-client) that resume after a dropped connection by asking the server
for its offset; it needs no part bookkeeping (ETags, part numbers) on the client and works the same
in front of a local folder or object storage.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from clipdex.api.deps import Authed, PlatformDep
from clipdex.auth import service as auth
from clipdex.db.types import utcnow
from clipdex.errors import (
    ClipdexError,
    TusVersion,
    UploadBadContentType,
    UploadBadMetadata,
    UploadExceedsLength,
    UploadExpired,
    UploadFinished,
    UploadLengthRequired,
    UploadOffsetMismatch,
)
from clipdex.ingest.service import IngestMeta, StagedFile, accept, check_upload_allowed, hash_file
from clipdex.models import UploadSession
from clipdex.schemas.common import Problem
from clipdex.tenancy import access
from clipdex.videos.service import clean_language

router = APIRouter(prefix="/uploads", tags=["uploads"])

TUS_VERSION = "1.0.0"
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}


class _RunningHashes:
    """SHA-256 of each upload's bytes so far, kept in this process while PATCHes arrive in order.

    Saves re-reading the whole file at the end; when a PATCH lands on another process (or after a
    restart) the state no longer matches the offset and the file is hashed from disk instead.
    """

    def __init__(self) -> None:
        self._state: dict[uuid.UUID, tuple[int, "hashlib._Hash"]] = {}
        self._lock = threading.Lock()

    def resume(self, upload_id: uuid.UUID, offset: int):
        with self._lock:
            offset_then, h = self._state.pop(upload_id, (None, None))
        if offset == 0:
            return hashlib.sha256()
        return h if offset_then == offset else None

    def keep(self, upload_id: uuid.UUID, offset: int, h) -> None:
        if h is not None:
            with self._lock:
                self._state[upload_id] = (offset, h)

    def take(self, upload_id: uuid.UUID, offset: int) -> str | None:
        with self._lock:
            offset_then, h = self._state.pop(upload_id, (None, None))
        return h.hexdigest() if h is not None and offset_then == offset else None

    def forget(self, upload_id: uuid.UUID) -> None:
        with self._lock:
            self._state.pop(upload_id, None)


_hashes = _RunningHashes()


class UploadPublic(BaseModel):
    id: uuid.UUID
    offset: int
    length: int
    status: str
    filename: str
    video_id: uuid.UUID | None


def _staging(platform, upload_id: uuid.UUID) -> Path:
    d = platform.settings.staging_dir / "tus"
    d.mkdir(exist_ok=True)
    return d / str(upload_id)


def _metadata(header: str | None) -> dict[str, str]:
    out = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition(" ")
        if key:
            try:
                out[key] = base64.b64decode(value).decode("utf-8")[:500] if value else ""
            except ValueError:  # bad base64 (binascii.Error) or bad UTF-8 (UnicodeDecodeError)
                raise UploadBadMetadata("Upload-Metadata is malformed.") from None
    return out


# Statuses the tus routes answer besides the app-wide ones (documented so clients and fuzzers know them).
TUS_RESPONSES = {code: {"model": Problem, "content": {"application/problem+json": {}}}
                 for code in (402, 410, 412, 413, 415)}


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise TusVersion("Send Tus-Resumable: 1.0.0.",
                         headers={"Tus-Version": TUS_VERSION})


@router.options("", status_code=204, summary="tus discovery")
def tus_options(principal: Authed, platform: PlatformDep) -> Response:
    from clipdex.ingest.service import tier_of

    return Response(status_code=204, headers={**TUS_HEADERS, "Tus-Version": TUS_VERSION,
                                              "Tus-Extension": "creation,termination,expiration",
                                              "Tus-Max-Size": str(tier_of(platform, principal).max_upload_bytes)})


@router.post("", status_code=201, summary="Create a resumable upload (tus creation)", responses=TUS_RESPONSES)
def create_upload(request: Request, principal: Authed, platform: PlatformDep) -> Response:
    _require_tus(request)
    auth.ensure(principal, "video:write")
    access.tenant_of(principal)
    raw = request.headers.get("upload-length", "")
    if not raw.isdigit():
        raise UploadLengthRequired("Upload-Length is required (deferred length is not supported).")
    length = int(raw)
    check_upload_allowed(platform, principal, length)
    meta = _metadata(request.headers.get("upload-metadata"))
    clean_language(meta.get("language"))
    expires = utcnow() + timedelta(seconds=platform.settings.upload_session_ttl_s)
    with access.session_for(platform, principal) as s:
        up = UploadSession(tenant_id=principal.tenant_id, length=length, filename=meta.get("filename", ""),
                           meta=meta, expires_at=expires, created_by=principal.actor)
        s.add(up)
        s.flush()
        upload_id = up.id
    _staging(platform, upload_id).touch()
    return Response(status_code=201, headers={
        **TUS_HEADERS, "Location": f"/api/v1/uploads/{upload_id}", "Upload-Offset": "0",
        "Upload-Expires": expires.strftime("%a, %d %b %Y %H:%M:%S GMT")})


def _load(platform, principal, upload_id: uuid.UUID) -> UploadSession:
    with access.session_for(platform, principal) as s:
        up = access.get_upload_for(s, principal, upload_id, "video:write")
        if up.status == "open" and up.expires_at < utcnow():
            raise UploadExpired("The upload has expired.")
        return up


@router.head("/{upload_id}", summary="Current offset of a resumable upload", responses=TUS_RESPONSES)
def upload_offset(upload_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> Response:
    up = _load(platform, principal, upload_id)
    return Response(status_code=200, headers={**TUS_HEADERS, "Upload-Offset": str(up.offset),
                                              "Upload-Length": str(up.length), "Cache-Control": "no-store"})


@router.get("/{upload_id}", response_model=UploadPublic, summary="State of a resumable upload", responses=TUS_RESPONSES)
def get_upload(upload_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> UploadPublic:
    up = _load(platform, principal, upload_id)
    return UploadPublic(id=up.id, offset=up.offset, length=up.length, status=up.status, filename=up.filename,
                        video_id=up.video_id)


@router.patch("/{upload_id}", status_code=204, summary="Append bytes at Upload-Offset (tus core)",
              responses=TUS_RESPONSES,
              openapi_extra={"requestBody": {"content": {"application/offset+octet-stream": {
                  "schema": {"type": "string", "format": "binary"}}}}})
async def append_upload(upload_id: uuid.UUID, request: Request, principal: Authed, platform: PlatformDep) -> Response:
    _require_tus(request)
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise UploadBadContentType("Content-Type must be application/offset+octet-stream.")
    up = await run_in_threadpool(_load, platform, principal, upload_id)
    if up.status != "open":
        raise UploadFinished("The upload is already finished.")
    claimed = request.headers.get("upload-offset", "")
    if not claimed.isdigit() or int(claimed) != up.offset:
        raise UploadOffsetMismatch("Upload-Offset does not match the server's offset.",
                                   headers={**TUS_HEADERS, "Upload-Offset": str(up.offset)})
    path = _staging(platform, upload_id)
    offset = up.offset
    running = _hashes.resume(upload_id, offset)
    try:
        with open(path, "r+b") as f:
            f.seek(offset)
            f.truncate()
            async for chunk in request.stream():
                if offset + len(chunk) > up.length:
                    running = None  # fall back to hashing the file from disk at the end
                    raise UploadExceedsLength("More bytes than Upload-Length.")
                f.write(chunk)
                if running is not None:
                    running.update(chunk)
                offset += len(chunk)
    except ClientDisconnect:
        pass  # keep what arrived; the client resumes from the offset HEAD reports
    finally:
        _hashes.keep(upload_id, offset, running)
        await run_in_threadpool(_save_offset, platform, principal, upload_id, offset)
    headers = {**TUS_HEADERS, "Upload-Offset": str(offset)}
    if offset == up.length:
        video_id = await run_in_threadpool(_finish, platform, principal, up, path)
        headers["Clipdex-Video-Id"] = str(video_id)
    return Response(status_code=204, headers=headers)


def _save_offset(platform, principal, upload_id: uuid.UUID, offset: int) -> None:
    with access.session_for(platform, principal) as s:
        access.get_upload_for(s, principal, upload_id, "video:write").offset = offset


def _finish(platform, principal, up: UploadSession, path: Path) -> uuid.UUID:
    meta = IngestMeta(title=up.meta.get("title", ""), tags=[t.strip() for t in up.meta.get("tags", "").split(",")
                                                            if t.strip()][:50],
                      language=clean_language(up.meta.get("language")), filename=up.filename)
    staged = StagedFile(path, up.length, _hashes.take(up.id, up.length) or hash_file(path))
    try:
        video = accept(platform, principal, staged, meta, source="resumable")
    except ClipdexError:
        _set_status(platform, principal, up.id, "failed", None)
        raise
    _set_status(platform, principal, up.id, "completed", video.id)
    return video.id


def _set_status(platform, principal, upload_id: uuid.UUID, status: str, video_id: uuid.UUID | None) -> None:
    with access.session_for(platform, principal) as s:
        up = access.get_upload_for(s, principal, upload_id, "video:write")
        up.status, up.video_id = status, video_id


@router.delete("/{upload_id}", status_code=204, summary="Abandon a resumable upload (tus termination)",
               responses=TUS_RESPONSES)
def delete_upload(upload_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> Response:
    with access.session_for(platform, principal) as s:
        up = access.get_upload_for(s, principal, upload_id, "video:write")
        s.delete(up)
    _hashes.forget(upload_id)
    _staging(platform, upload_id).unlink(missing_ok=True)
    return Response(status_code=204, headers=TUS_HEADERS)
