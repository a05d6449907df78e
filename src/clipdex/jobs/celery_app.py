"""The Celery transport: stage messages on Redis, run by the same claim/run/commit path as the embedded worker.

A message is ``(job_id, stage, attempt)`` and nothing else; the database stays the truth. Acknowledged
late (after the stage's outcome is committed) so a worker killed mid-stage leaves its message to be
delivered again; a redelivered, duplicated or stale message finds the stage finished, re-claimed
(attempt moved on) or leased to a live worker, and is acknowledged without doing anything.
Stage leases (``lease_s``, renewed by heartbeats) decide who may commit, not the broker: a worker
frozen past its lease is fenced off even though its message is still unacknowledged.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from celery import Celery
from kombu import Queue

from clipdex.jobs import runner, scheduler
from clipdex.jobs.dispatcher import Message
from clipdex.platform import Platform
from clipdex.settings import Settings

log = logging.getLogger("clipdex.celery")

TASK = "clipdex.run_stage"
QUEUES = ("cpu", "gpu", "train")
_state: dict = {}  # the worker process's platform and dispatcher, set by ``serve``


def make_app(settings: Settings) -> Celery:
    """A Celery app for ``settings.broker_url`` with at-least-once delivery settings."""
    app = Celery("clipdex", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # ack after the commit: a killed worker's message is delivered again
        task_reject_on_worker_lost=True,  # a pool child that dies requeues its message instead of acking
        worker_prefetch_multiplier=1,  # no hidden per-worker backlog: the dispatcher decides the order
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_default_queue="cpu",
        task_routes=(_route,),
        task_ignore_result=True,
        task_serializer="json", accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.task(name=TASK, ignore_result=True)(run_stage)
    return app


def _route(name, args, kwargs, options, task=None, **kw):
    """Each stage goes to the queue of the resources it declares (cpu | gpu | train)."""
    if name != TASK:
        return None
    from clipdex.pipeline import registry

    name = args[1] if args and len(args) > 1 else (kwargs or {}).get("stage")
    stage = registry.all_stages().get(name)
    return {"queue": getattr(stage, "queue", "cpu")} if stage is not None else None


def publisher(app: Celery, *, duplicate: bool = False):
    """The dispatcher's publish function; ``duplicate`` (chaos tests) sends every message twice."""
    def publish(msg: Message) -> None:
        for _ in range(2 if duplicate else 1):
            app.send_task(TASK, args=[msg.job_id, msg.stage, msg.attempt], queue=msg.queue)
    return publish


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000:05d}"


def run_stage(job_id: str, stage: str, attempt: int) -> str:
    """The task body: claim this exact stage attempt, run it, commit fenced; stale messages do nothing."""
    platform = _state["platform"]
    claim = scheduler.claim_stage(platform, worker_id(), uuid.UUID(job_id), stage, int(attempt))
    if claim is None:
        log.info("stale message ignored: job %s stage %s attempt %s", job_id, stage, attempt,
                 extra={"job_id": job_id, "stage": stage})
        return "stale"
    log.info("claimed %s", claim.name, extra={"job_id": claim.job_id, "stage": claim.name,
                                               "tenant_id": claim.tenant_id})
    outcome = runner.execute(platform, claim)
    log.info("stage %s %s", claim.name, outcome, extra={"job_id": claim.job_id, "stage": claim.name})
    if "dispatcher" in _state:  # its commit may have released dependents: publish them without waiting
        _state["dispatcher"].kick()
    return outcome


def serve(platform: Platform, queues: tuple[str, ...], concurrency: int) -> int:
    """Run a Celery worker (thread pool) and the outbox dispatcher in this process until shut down."""
    import redis

    from clipdex.jobs import chaos
    from clipdex.jobs.dispatcher import Dispatcher

    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise ValueError(f"unknown queues {sorted(unknown)}; known: {', '.join(QUEUES)}")
    _state["platform"] = platform
    app = make_app(platform.settings)
    node = f"clipdex-{os.getpid()}@{socket.gethostname()}"
    dispatcher = Dispatcher(platform, redis.Redis.from_url(platform.settings.broker_url), publisher(
        app, duplicate=chaos.enabled("dispatch", "duplicate")), worker_id=node, queues=queues, slots=concurrency)
    _state["dispatcher"] = dispatcher
    dispatcher.start()
    from clipdex.jobs import warmup

    warm_stop = threading.Event()
    warming = warmup.start(platform.settings, concurrency, warm_stop)
    try:
        # Threads, not prefork: one process holds the platform, the dispatcher and every running stage,
        # so a SIGKILL takes all of it down at once (no orphaned pool children still heartbeating).
        app.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}", f"--queues={','.join(queues)}",
                         f"--hostname={node}", "--without-gossip", "--without-mingle", "--without-heartbeat",
                         f"--loglevel={platform.settings.log_level}"])
    except SystemExit as e:
        return int(e.code or 0)
    finally:
        dispatcher.shutdown()
        warm_stop.set()
        if warming is not None:  # a model load cut off by the interpreter's exit aborts the process
            warming.join(timeout=60)
    return 0
