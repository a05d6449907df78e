"""How stages reach workers: one small protocol, two transports, the same claim/run/commit path.

``embedded`` (default): worker threads poll the database for the fairest claimable stage.
``celery``: an outbox dispatcher publishes ``(job_id, stage, attempt)`` messages to Redis queues
``cpu | gpu | train`` in the fair order; Celery workers claim exactly that stage attempt. Both call
``runner.execute`` on a ``scheduler.Claim``: leases, fencing, retries and outcomes are shared.
"""

from __future__ import annotations

import signal
import threading
from typing import Protocol

from clipdex.platform import Platform


class Transport(Protocol):
    name: str

    def serve(self, platform: Platform, queues: tuple[str, ...], concurrency: int) -> int:
        """Run ``concurrency`` stage slots for ``queues`` in this process until SIGTERM/SIGINT; exit code."""


class EmbeddedTransport:
    name = "embedded"

    def serve(self, platform: Platform, queues: tuple[str, ...], concurrency: int) -> int:
        from clipdex.jobs.worker import WorkerPool

        pool = WorkerPool(platform, concurrency, queues).start()
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        while not stopping.wait(0.2):
            pass
        pool.shutdown()
        return 0


class CeleryTransport:
    name = "celery"

    def serve(self, platform: Platform, queues: tuple[str, ...], concurrency: int) -> int:
        from clipdex.jobs import celery_app

        return celery_app.serve(platform, queues, concurrency)


def transport_for(name: str) -> Transport:
    """The transport named by ``settings.queue``."""
    transports = {"embedded": EmbeddedTransport, "celery": CeleryTransport}
    if name not in transports:
        raise ValueError(f"unknown queue transport {name!r} (embedded | celery)")
    return transports[name]()
