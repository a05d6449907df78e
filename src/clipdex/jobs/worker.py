"""Worker loops: the embedded threads inside ``clipdex serve`` and ``clipdex worker`` processes."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from clipdex.jobs import runner, scheduler
from clipdex.platform import Platform

log = logging.getLogger("clipdex.worker")


class Worker:
    """Claims and runs stages until stopped. Several may run in one process and across processes."""

    def __init__(self, platform: Platform, *, queues: tuple[str, ...] = ("cpu",), name: str | None = None) -> None:
        self.platform = platform
        self.queues = queues
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()

    def run_once(self) -> str | None:
        claim = scheduler.claim_next(self.platform, self.id, self.queues)
        if claim is None:
            return None
        log.info("claimed %s", claim.name, extra={"job_id": claim.job_id, "stage": claim.name,
                                                   "tenant_id": claim.tenant_id})
        return runner.execute(self.platform, claim)

    def run_forever(self) -> None:
        idle = self.platform.settings.poll_interval_s
        while not self.stop.is_set():
            try:
                did = self.run_once()
            except Exception:  # the loop survives database hiccups; the lease protects the work
                log.exception("worker loop error")
                did = None
            if did is None:
                self.stop.wait(idle)

    def drain(self, max_stages: int = 10_000) -> int:
        """Run until nothing is claimable (used by ``clipdex process`` and tests)."""
        n = 0
        while n < max_stages and self.run_once() is not None:
            n += 1
        return n


class WorkerPool:
    def __init__(self, platform: Platform, threads: int, queues: tuple[str, ...] = ("cpu",)) -> None:
        self.workers = [Worker(platform, queues=queues) for _ in range(max(0, threads))]
        self.threads: list[threading.Thread] = []
        self._warmup: threading.Thread | None = None

    def start(self) -> "WorkerPool":
        """Start the worker threads from a boot thread that first imports the native stacks (two
        threads first-importing a C extension at once can fail), without delaying the caller."""
        boot = threading.Thread(target=self._boot, daemon=True, name="worker-boot")
        boot.start()
        self.threads.append(boot)
        if self.workers:
            t = threading.Thread(target=self._housekeeping, daemon=True, name="janitor")
            t.start()
            self.threads.append(t)
        return self

    def _boot(self) -> None:
        from clipdex import native

        native.preload()
        if self.workers:
            from clipdex.jobs import warmup

            t = warmup.start(self.workers[0].platform.settings, len(self.workers), self.workers[0].stop)
            self._warmup = t  # joined on shutdown: a model load cut off by the exit aborts the process
        for w in self.workers:
            if w.stop.is_set():
                return
            t = threading.Thread(target=w.run_forever, daemon=True, name=f"worker-{w.id}")
            t.start()
            self.threads.append(t)

    def _housekeeping(self, every_s: float = 600.0) -> None:
        from clipdex.jobs.reconcile import housekeep

        stop = self.workers[0].stop
        while not stop.wait(every_s):
            try:
                housekeep(self.workers[0].platform)
            except Exception:  # housekeeping never takes a worker down
                log.exception("janitor sweep failed")

    def shutdown(self, timeout: float = 10.0) -> None:
        for w in self.workers:
            w.stop.set()
        for t in self.threads:
            t.join(timeout=timeout)
        if self._warmup is not None:  # it stops after the model it is loading (seconds, not minutes)
            self._warmup.join(timeout=max(timeout, 60.0))
