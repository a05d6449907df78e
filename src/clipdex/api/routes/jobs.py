"""Processing jobs: status, cancel, retry, and a server-sent event stream of progress."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.api.sse import snapshot_events
from clipdex.billing import state as billing_state
from clipdex.jobs import service as jobs
from clipdex.models import Job
from clipdex.schemas.common import Page
from clipdex.schemas.video import JobPublic
from clipdex.tenancy import access

router = APIRouter(prefix="/jobs", tags=["jobs"])

STREAM_MAX_S = 3600


@router.get("", response_model=Page[JobPublic], summary="Jobs of the tenant, newest first")
def list_jobs(principal: Authed, platform: PlatformDep, page: PageParams,
              status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None,
              video_id: Annotated[uuid.UUID | None, Query()] = None) -> Page[JobPublic]:
    q = access.list_owned(principal, Job, "job:read")
    if status:
        q = q.where(Job.status == status)
    if video_id:
        q = q.where(Job.video_id == video_id)
    with access.session_for(platform, principal) as s:
        r = paginate(s, q, Job, page, sort="-created_at")
        return Page(items=[jobs.snapshot(s, j) for j in r.items], next_cursor=r.next_cursor)


@router.get("/{job_id}", response_model=JobPublic, summary="A job with per-stage progress and timings")
def get_job(job_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> JobPublic:
    with access.session_for(platform, principal) as s:
        return jobs.snapshot(s, access.get_job_for(s, principal, job_id, "job:read"))


@router.post("/{job_id}/cancel", response_model=JobPublic, summary="Cancel a queued or running job")
def cancel_job(job_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> JobPublic:
    with access.session_for(platform, principal) as s:
        job = jobs.cancel_job(s, access.get_job_for(s, principal, job_id, "job:write"))
        s.flush()
        return jobs.snapshot(s, job)


@router.post("/{job_id}/retry", response_model=JobPublic, summary="Retry the unfinished stages of a failed job")
def retry_job(job_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> JobPublic:
    with access.session_for(platform, principal) as s:
        billing_state.ensure_processing_allowed(s, platform.settings, principal.tenant_id)  # issue 15
        job = jobs.retry_job(s, access.get_job_for(s, principal, job_id, "job:write"))
        s.flush()
        return jobs.snapshot(s, job)


def _read(platform, principal, job_id) -> dict:
    with access.session_for(platform, principal) as s:
        return jobs.snapshot(s, access.get_job_for(s, principal, job_id, "job:read"))


@router.get("/{job_id}/events", summary="Server-sent events: 'progress' on every change, then 'done'",
            responses={200: {"content": {"text/event-stream": {}}}})
async def job_events(job_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> StreamingResponse:
    first = await run_in_threadpool(_read, platform, principal, job_id)  # 404 before the stream starts

    return snapshot_events(first, lambda: _read(platform, principal, job_id),
                           poll_s=platform.settings.poll_interval_s, max_s=STREAM_MAX_S)
