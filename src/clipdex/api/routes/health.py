"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import shutil

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily

from clipdex.api.deps import PlatformDep
from clipdex.jobs.scheduler import queue_depth
from clipdex.observability import REGISTRY

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Database, storage and FFmpeg are usable")
def readyz(platform: PlatformDep) -> JSONResponse:
    checks = {}
    try:
        platform.db.ping()
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001  (a readiness probe reports any failure, it must not raise)
        checks["database"] = "unavailable"
    try:
        platform.blobs.put_bytes("system/readyz", b"ok")
        checks["storage"] = "ok"
    except Exception:  # noqa: BLE001  (a readiness probe reports any failure, it must not raise)
        checks["storage"] = "unavailable"
    checks["ffprobe"] = "ok" if shutil.which(platform.settings.ffprobe_bin) else "missing"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503)


class QueueDepthCollector:
    """Ready stages per tenant, read at scrape time from the database (the queue's truth)."""

    def __init__(self, platform) -> None:
        self.platform = platform

    def collect(self):
        g = GaugeMetricFamily("clipdex_queue_depth", "Claimable stages per tenant and queue",
                              labels=["tenant_id", "queue"])
        try:
            for (tenant, queue), n in queue_depth(self.platform).items():
                g.add_metric([tenant, queue], n)
        except Exception:  # noqa: BLE001  (a scrape still serves the other metrics while the DB is down)
            pass
        yield g


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    body = await run_in_threadpool(generate_latest, REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
