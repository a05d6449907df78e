"""create_app(settings): the FastAPI application, optionally with the embedded worker."""

from __future__ import annotations

import contextlib
import threading

from fastapi import FastAPI

from clipdex import __version__
from clipdex.api import console, problems
from clipdex.api.middleware import RequestContext, SecurityHeaders
from clipdex.api.routes import admin, auth, blobs, health, jobs, team, uploads, usage, videos
from clipdex.api.routes import speakers as speaker_routes
from clipdex.api.routes import transcripts
from clipdex.api.routes import speech_settings as speech_settings_routes
from clipdex.api.routes import people as people_routes
from clipdex.api.routes import presigned as presigned_uploads
from clipdex.api.routes import visual as visual_routes
from clipdex.api.routes import search as search_routes
from clipdex.api.routes import answers as answer_routes
from clipdex.api.routes import billing as billing_routes
from clipdex.api.routes import training as training_routes
from clipdex.api.routes import compliance as compliance_routes
from clipdex.api.routes import tenant as tenant_routes
from clipdex.billing.metering import ApiCallMeter
from clipdex.observability import REGISTRY, configure_logging
from clipdex.pipeline import registry
from clipdex.platform import Platform
from clipdex.schemas.common import Problem
from clipdex.settings import Settings

API_PREFIX = "/api/v1"
ERROR_RESPONSES = {code: {"model": Problem, "content": {"application/problem+json": {}}}
                   for code in (400, 401, 403, 404, 409, 422, 429)}


def create_app(settings: Settings | None = None, *, platform: Platform | None = None,
               embedded_workers: int | None = None) -> FastAPI:
    settings = settings or (platform.settings if platform else Settings())
    configure_logging(settings.log_level)
    platform = platform or Platform.from_settings(settings)
    registry.discover(settings.extra_stages)
    meter = ApiCallMeter()
    workers = settings.worker_threads if embedded_workers is None else embedded_workers

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        from clipdex import native
        from clipdex.jobs.worker import WorkerPool

        # numpy before the request thread pool starts; the worker pool preloads the rest in its own boot
        # thread, so the API answers at once
        native.preload(names=native.CORE)

        # with the Celery transport stages run in ``clipdex worker`` processes, never in the API
        pool = WorkerPool(platform, workers).start() if workers and settings.queue == "embedded" else None
        from clipdex.training.runner import start_embedded  # one `train` slot beside them (issue 13)

        trainer = start_embedded(platform) if pool else None
        stop = threading.Event()
        flusher = threading.Thread(target=_flush_loop, args=(meter, platform, stop), daemon=True)
        flusher.start()
        try:
            yield
        finally:
            stop.set()
            flusher.join(timeout=5)
            meter.flush(platform.db)
            if pool:
                pool.shutdown()
            if trainer:
                trainer.stop.set()

    app = FastAPI(title="clipdex", version=__version__, lifespan=lifespan, responses=ERROR_RESPONSES,
                  description="Self-hostable, multi-tenant video intelligence. Errors are RFC 9457 problem+json "
                              "with a stable dotted `code`. Lists use `?limit=&cursor=` and return "
                              "`{items, next_cursor}`. Authenticate with `Authorization: Bearer <token or API key>`.")
    app.state.platform = platform
    app.state.meter = meter
    problems.install(app)
    for r in (auth.router, team.router, videos.router, uploads.router, jobs.router, usage.router, admin.router,
              blobs.router, transcripts.router, speaker_routes.router, visual_routes.router, people_routes.router,
              search_routes.router, answer_routes.router, presigned_uploads.router, billing_routes.router,
              training_routes.router, compliance_routes.router, speech_settings_routes.router,
              tenant_routes.router):
        app.include_router(r, prefix=API_PREFIX)
    app.include_router(health.router)
    app.add_middleware(RequestContext, meter=meter)
    app.add_middleware(SecurityHeaders, settings=settings)
    _register_queue_metrics(platform)

    console.install(app)  # after problems.install: its fallback wraps the 404 handler
    return app


def _flush_loop(meter: ApiCallMeter, platform: Platform, stop: threading.Event) -> None:
    while not stop.wait(10):
        try:
            meter.flush(platform.db)
        except Exception:  # noqa: BLE001  (metering must never take the API down; counts retry next round)
            pass


_queue_collector = None


def _register_queue_metrics(platform: Platform) -> None:
    global _queue_collector
    from clipdex.api.routes.health import QueueDepthCollector

    if _queue_collector is not None:
        with contextlib.suppress(KeyError):
            REGISTRY.unregister(_queue_collector)
    _queue_collector = QueueDepthCollector(platform)
    REGISTRY.register(_queue_collector)
