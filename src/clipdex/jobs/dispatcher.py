"""The outbox relay for Celery: publishes committed outbox entries in the fair scheduler's order.

A plain FIFO broker queue would let a tenant with 500 queued videos starve one with a single
video, and per-tenant caps would only hold inside one worker. So the broker never holds a backlog:
the dispatcher keeps at most (worker slots + ``AHEAD``) messages per queue running or waiting, and
picks each next message with the same tenant ranking the embedded scheduler uses (tier weight and
rank, least recently served, ``concurrent_stages`` cap counted over running and in-flight stages).

Every ``clipdex worker`` process runs a dispatcher thread; a short Redis lock lets one of them act
at a time, and whoever survives takes over within ``LOCK_TTL_S`` when the holder dies or freezes.
Workers advertise their slots in Redis keys that expire, so dead workers stop counting by themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from clipdex.db.types import utcnow
from clipdex.jobs import outbox, scheduler
from clipdex.models import Job, JobStage, OutboxEntry, Tenant
from clipdex.platform import Platform
from clipdex.tenancy.access import same_tenant
from clipdex.tenancy.system import SystemReason

log = logging.getLogger("clipdex.dispatcher")

AHEAD = 1  # messages per queue published before a slot frees: hides the relay's polling delay
LOCK_KEY = "clipdex:dispatcher:lock"
SLOTS_KEY = "clipdex:slots:{queue}:{worker}"
LOCK_TTL_S = 3.0
HOUSEKEEPING_S = 600.0  # janitor sweep, dead outbox entries, orphaned blobs
# compare-and-renew: only the holder may extend the lock (a resumed, frozen holder must not)
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Message:
    """What goes on the wire: ids only. The worker reads everything else (tenant included) from the DB."""

    job_id: str
    stage: str
    attempt: int
    queue: str


def dispatch_once(platform: Platform, publish: Callable[[Message], None], capacity: dict[str, int],
                  backlog: dict[str, int] | None = None) -> int:
    """Publish what the free slots of each queue can take, fairest tenant first; returns the count.

    ``backlog``: messages waiting in each broker queue, when known. An old unclaimed message is only
    taken for lost while its queue is empty (otherwise it may simply still be waiting its turn).
    """
    queues = tuple(q for q, n in capacity.items() if n > 0)
    if not queues:
        return 0
    sent = 0
    with platform.db.system(reason=SystemReason.SCHEDULING) as s:
        now = utcnow()
        outbox.purge_dead(s)
        outbox.enqueue_expired_leases(s, now, queues)
        s.flush()
        # published long ago and never claimed: the message was lost (broker restart, failed task)
        drained = [q for q in queues if not (backlog or {}).get(q)]
        s.execute(update(OutboxEntry).where(OutboxEntry.published_at < now - _redeliver_after(platform),
                                            OutboxEntry.queue.in_(drained)).values(
            published_at=None).execution_options(synchronize_session=False))
        free, busy = _free_slots(s, now, capacity)
        pending = _pending(s, now, queues)
        served: dict = {}
        while True:
            open_q = {q for q, n in free.items() if n > 0}
            candidates = [t for t, rows in pending.items() if any(r.queue in open_q for r in rows)]
            order = scheduler.rank_tenants(platform, s, candidates, busy, served)
            if not order:
                break
            tenant = order[0]
            row = next(r for r in pending[tenant] if r.queue in open_q)
            pending[tenant].remove(row)
            publish(Message(str(row.job_id), row.stage, row.attempt, row.queue))
            s.execute(update(OutboxEntry).where(OutboxEntry.id == row.id).values(published_at=now).execution_options(
                synchronize_session=False))
            busy[tenant] = busy.get(tenant, 0) + 1
            free[row.queue] -= 1
            served[tenant] = now + timedelta(microseconds=sent)  # least recently served goes next
            sent += 1
    return sent


def _redeliver_after(platform: Platform) -> timedelta:
    return timedelta(seconds=max(10.0, 3 * platform.settings.lease_s))


def _free_slots(s, now: datetime, capacity: dict[str, int]) -> tuple[dict[str, int], dict]:
    """Free slots per queue and busy stages (running or in flight) per tenant."""
    running_q = dict(s.execute(select(JobStage.queue, func.count()).where(
        JobStage.status == "running", JobStage.lease_expires_at >= now).group_by(JobStage.queue)).all())
    flight = s.execute(select(OutboxEntry.tenant_id, OutboxEntry.queue, func.count()).where(
        OutboxEntry.published_at.is_not(None)).group_by(OutboxEntry.tenant_id, OutboxEntry.queue)).all()
    busy = defaultdict(int, scheduler.running_per_tenant(s, now))
    flight_q: dict[str, int] = defaultdict(int)
    for tenant_id, queue, n in flight:
        busy[tenant_id] += n
        flight_q[queue] += n
    free = {q: n + AHEAD - running_q.get(q, 0) - flight_q[q] for q, n in capacity.items() if n > 0}
    return free, dict(busy)


def _pending(s, now: datetime, queues: tuple[str, ...]) -> dict:
    rows = s.execute(select(OutboxEntry).join(Job, Job.id == OutboxEntry.job_id).join(
        JobStage, JobStage.id == OutboxEntry.stage_id).join(Tenant, Tenant.id == OutboxEntry.tenant_id).where(
        OutboxEntry.published_at.is_(None), OutboxEntry.queue.in_(queues), Tenant.status == "active",
        # an entry naming another tenant's stage is never published (the worker would run it for them)
        same_tenant(JobStage, OutboxEntry), same_tenant(Job, OutboxEntry),
        (OutboxEntry.available_at.is_(None)) | (OutboxEntry.available_at <= now)).order_by(
        Job.created_at, JobStage.position)).scalars().all()
    by_tenant: dict = defaultdict(list)
    for r in rows:
        by_tenant[r.tenant_id].append(r)
    return by_tenant


class Dispatcher:
    """The relay thread of one worker process: advertises its slots, dispatches while holding the lock."""

    def __init__(self, platform: Platform, redis, publish: Callable[[Message], None], *, worker_id: str,
                 queues: tuple[str, ...], slots: int) -> None:
        self.platform, self.redis, self.publish = platform, redis, publish
        self.worker_id, self.queues, self.slots = worker_id, queues, slots
        self.interval = min(platform.settings.poll_interval_s, 0.2)
        self.stop = threading.Event()
        self._wake = threading.Event()
        self._ttl_ms = int(LOCK_TTL_S * 1000)
        self._last_housekeeping = time.monotonic()

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, daemon=True, name="dispatcher")
        t.start()
        return t

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.advertise()
                if self.holds_lock():
                    dispatch_once(self.platform, self.publish, self.capacity(), self.backlog())
                    self._housekeep()
            except Exception:  # the broker or the database hiccuped; the next tick retries
                log.exception("dispatch failed")
            self._wake.wait(self.interval)
            self._wake.clear()
        self._withdraw()

    def kick(self) -> None:
        """A stage of this process committed: dispatch now rather than at the next tick."""
        self._wake.set()

    def shutdown(self) -> None:
        self.stop.set()
        self._wake.set()

    def _housekeep(self) -> None:
        from clipdex.jobs.reconcile import housekeep

        now = time.monotonic()
        if now - self._last_housekeeping >= HOUSEKEEPING_S:
            self._last_housekeeping = now
            housekeep(self.platform)

    def advertise(self) -> None:
        for q in self.queues:
            self.redis.set(SLOTS_KEY.format(queue=q, worker=self.worker_id), self.slots, px=self._ttl_ms)

    def holds_lock(self) -> bool:
        if self.redis.set(LOCK_KEY, self.worker_id, nx=True, px=self._ttl_ms):
            return True
        return bool(self.redis.eval(_RENEW, 1, LOCK_KEY, self.worker_id, self._ttl_ms))

    def capacity(self) -> dict[str, int]:
        """Worker slots per queue over every live worker process."""
        out: dict[str, int] = {}
        for q in ("cpu", "gpu", "train"):
            keys = list(self.redis.scan_iter(match=SLOTS_KEY.format(queue=q, worker="*"), count=500))
            out[q] = sum(int(v) for v in self.redis.mget(keys) if v is not None) if keys else 0
        return out

    def backlog(self) -> dict[str, int]:
        """Messages waiting in each queue (kombu keeps a Redis list named after the queue)."""
        return {q: int(self.redis.llen(q)) for q in ("cpu", "gpu", "train")}

    def _withdraw(self) -> None:
        try:
            for q in self.queues:
                self.redis.delete(SLOTS_KEY.format(queue=q, worker=self.worker_id))
            self.redis.eval(_RELEASE, 1, LOCK_KEY, self.worker_id)
        except Exception:  # shutting down anyway; the keys expire on their own
            log.warning("could not withdraw dispatcher keys", exc_info=True)
