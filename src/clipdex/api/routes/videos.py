"""Videos: upload, import, list, read, update, delete, downloads."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.auth import service as auth
from clipdex.errors import NotStored
from clipdex.ingest import importer
from clipdex.ingest.multipart import read_upload
from clipdex.ingest.service import FORM_OVERHEAD_BYTES, IngestMeta, accept, check_upload_allowed
from clipdex.jobs.service import latest_job, snapshot
from clipdex.models import Artifact, Video
from clipdex.schemas.common import Page
from clipdex.schemas.video import (ArtifactPublic, ImportRequest, JobLink, SignedUrl, VideoAccepted, VideoDetail,
                                   VideoPublic, VideoUpdate)
from clipdex.storage import presign
from clipdex.search import indexer
from clipdex.tenancy import access, audit
from clipdex.videos import service as videos

router = APIRouter(prefix="/videos", tags=["videos"])

UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}, "title": {"type": "string"},
        "tags": {"type": "string", "description": "comma-separated"},
        "language": {"type": "string", "example": "en"}}}}}}}


ACCEPTED_HEADERS = {
    "Location": {"description": "the new video", "schema": {"type": "string"}},
    "Link": {"description": '<job events URL>; rel="monitor", <job URL>; rel="related"', "schema": {"type": "string"}}}


def accepted(platform, principal, video: Video, response: Response) -> VideoAccepted:
    """The accepted video with its job; ``Location`` names the video, ``Link`` the job and its event stream."""
    with access.session_for(platform, principal, readonly=True) as s:
        job = latest_job(s, video.id)
        link = None
        if job is not None:
            url = f"/api/v1/jobs/{job.id}"
            link = JobLink(id=job.id, status=job.status, url=url, events_url=f"{url}/events")
    response.headers["Location"] = f"/api/v1/videos/{video.id}"
    if link:
        response.headers["Link"] = f'<{link.events_url}>; rel="monitor", <{link.url}>; rel="related"'
    return VideoAccepted(**VideoPublic.model_validate(video, from_attributes=True).model_dump(), job=link)


def _tags(raw: str | None) -> list[str]:
    return [t.strip()[:64] for t in (raw or "").split(",") if t.strip()][:50]


@router.post("", response_model=VideoAccepted, status_code=status.HTTP_201_CREATED, openapi_extra=UPLOAD_BODY,
             summary="Upload a video (multipart field 'file'), streamed to storage",
             responses={201: {"headers": ACCEPTED_HEADERS}})
async def upload_video(request: Request, response: Response, principal: Authed,
                       platform: PlatformDep) -> VideoAccepted:
    auth.ensure(principal, "video:write")
    access.tenant_of(principal)
    declared = request.headers.get("content-length")
    tier = await run_in_threadpool(check_upload_allowed, platform, principal, int(declared) if declared and
                                   declared.isdigit() else None, overhead=FORM_OVERHEAD_BYTES)
    staged, fields, filename = await read_upload(request, platform.settings.staging_dir, tier.max_upload_bytes)
    meta = IngestMeta(title=fields.get("title", "")[:500], tags=_tags(fields.get("tags")),
                      language=videos.clean_language(fields.get("language")), filename=filename)
    video = await run_in_threadpool(accept, platform, principal, staged, meta)
    return await run_in_threadpool(accepted, platform, principal, video, response)


@router.post("/import", response_model=VideoAccepted, status_code=status.HTTP_202_ACCEPTED,
             summary="Import a video from an http(s) URL (fetched by a worker, SSRF-checked)",
             responses={202: {"headers": ACCEPTED_HEADERS}})
def import_video(body: ImportRequest, response: Response, principal: Authed, platform: PlatformDep) -> VideoAccepted:
    auth.ensure(principal, "video:write")
    access.tenant_of(principal)
    check_upload_allowed(platform, principal, None)
    video = importer.create_import(platform, principal, str(body.url),
                                   IngestMeta(title=body.title or "", tags=body.tags, language=body.language))
    return accepted(platform, principal, video, response)


@router.get("", response_model=Page[VideoPublic], summary="List videos with filters and sorting")
def list_videos(principal: Authed, platform: PlatformDep, page: PageParams,
                status_: Annotated[Literal["queued", "processing", "ready", "failed"] | None,
                                   Query(alias="status")] = None,
                tag: Annotated[str | None, Query(max_length=64)] = None,
                q: Annotated[str | None, Query(max_length=200, description="title contains")] = None,
                language: Annotated[str | None, Query(max_length=16)] = None,
                created_after: datetime | None = None, created_before: datetime | None = None,
                sort: Literal["created_at", "-created_at", "title", "-title", "duration_s", "-duration_s",
                              "size_bytes", "-size_bytes"] = "-created_at") -> Page[VideoPublic]:
    query = access.list_owned(principal, Video, "video:read")
    query = videos.apply_filters(query, status=status_, tag=tag, q_text=q, language=language,
                                 created_after=created_after, created_before=created_before)
    with access.session_for(platform, principal, readonly=True) as s:
        r = paginate(s, query, Video, page, sort=sort, nulls_as=-1.0 if "duration" in sort else None)
        thumbs = _page_thumbnails(s, platform, principal.tenant_id, [v.id for v in r.items])
        return Page(items=[_public(v, thumbs.get(v.id)) for v in r.items], next_cursor=r.next_cursor)


@router.get("/{video_id}", response_model=VideoDetail, summary="A video with its job progress and artifacts")
def get_video(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> VideoDetail:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        job = latest_job(s, v.id)
        arts = s.scalars(select(Artifact).where(Artifact.video_id == v.id)
                         .order_by(Artifact.stage, Artifact.name)).all()
        thumb = _thumbnail_urls(platform, [(a.video_id, a.name, a.blob_key) for a in arts
                                           if a.stage == THUMB_STAGE and a.name in THUMB_NAMES]).get(v.id)
        return VideoDetail(**_public(v, thumb).model_dump(), job=snapshot(s, job) if job else None,
                           artifacts=[ArtifactPublic.model_validate(a) for a in arts])


@router.patch("/{video_id}", response_model=VideoPublic, summary="Update title, tags or language")
def update_video(video_id: uuid.UUID, body: VideoUpdate, principal: Authed, platform: PlatformDep) -> VideoPublic:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:write")
        for field, value in body.model_dump(exclude_unset=True).items():
            setattr(v, field, value if field != "tags" else [t[:64] for t in value or []])
        s.flush()
        return VideoPublic.model_validate(v, from_attributes=True)


@router.delete("/{video_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a video, its jobs, artifacts and blobs")
def delete_video(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> None:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:delete")
        prefix = videos.delete_video_rows(s, v)
        audit.record(s, "video.deleted", actor=principal.actor, tenant_id=v.tenant_id, target=f"video:{v.id}")
    videos.delete_blobs(platform, prefix)  # after the commit: a failed delete keeps its files
    indexer.remove_video(platform, principal.tenant_id, video_id)


@router.get("/{video_id}/download", response_model=SignedUrl, summary="Signed URL for the original file")
def download_original(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> SignedUrl:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        if not v.blob_key:
            raise NotStored("The original is not stored yet.")
        return _signed(platform, v.blob_key, v.filename or f"{v.id}", "application/octet-stream")


@router.get("/{video_id}/artifacts", response_model=list[ArtifactPublic], summary="Artifacts of a video")
def list_artifacts(video_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> list[ArtifactPublic]:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        arts = s.scalars(select(Artifact).where(Artifact.video_id == v.id).order_by(Artifact.stage, Artifact.name))
        return [ArtifactPublic.model_validate(a) for a in arts]


@router.get("/{video_id}/artifacts/{artifact_id}/download", response_model=SignedUrl,
            summary="Signed URL for an artifact")
def download_artifact(video_id: uuid.UUID, artifact_id: uuid.UUID, principal: Authed,
                      platform: PlatformDep) -> SignedUrl:
    with access.session_for(platform, principal) as s:
        v = access.get_video_for(s, principal, video_id, "video:read")
        a = access.get_owned(s, principal, Artifact, artifact_id, "video:read")
        if a.video_id != v.id:
            from clipdex.errors import NotFound

            raise NotFound()
        return _signed(platform, a.blob_key, a.name, a.content_type)


THUMB_STAGE = "thumbnail"
THUMB_NAMES = ("thumb.jpg", "poster.jpg")  # the list-sized image first, the poster where only it exists


def _thumbnail_urls(platform, rows) -> dict[uuid.UUID, str]:
    """Signed links (presigned on S3) to the best thumbnail of each video, from (video_id, name, key) rows."""
    best: dict[uuid.UUID, tuple[str, str]] = {}
    for video_id, name, key in sorted(rows, key=lambda r: THUMB_NAMES.index(r[1])):
        best.setdefault(video_id, (name, key))
    return {vid: presign.blob_link(platform, key, filename=name) for vid, (name, key) in best.items()}


def _page_thumbnails(s, platform, tenant_id: uuid.UUID, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Thumbnail links for a page of videos: one artifact query for the page, not one per video."""
    if not video_ids:
        return {}
    rows = s.execute(select(Artifact.video_id, Artifact.name, Artifact.blob_key).where(
        access.owned_by(Artifact, tenant_id), Artifact.video_id.in_(video_ids), Artifact.stage == THUMB_STAGE,
        Artifact.name.in_(THUMB_NAMES))).all()
    return _thumbnail_urls(platform, rows)


def _public(v: Video, thumbnail_url: str | None) -> VideoPublic:
    return VideoPublic.model_validate(v, from_attributes=True).model_copy(update={"thumbnail_url": thumbnail_url})


def _signed(platform, key: str, filename: str, content_type: str) -> SignedUrl:
    url, expires = presign.download_url(platform.settings, platform.blobs, key, filename=filename,
                                        content_type=content_type)
    return SignedUrl(url=url, expires_at=datetime.fromtimestamp(expires, tz=timezone.utc))
