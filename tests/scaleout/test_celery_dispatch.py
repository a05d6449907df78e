"""The outbox dispatcher on its own (no broker): what it publishes, in which order, and how much at once.

Fairness must hold with many workers, not only inside one: the dispatcher publishes in the embedded
scheduler's tenant order and keeps no more messages out than the fleet has slots (+ AHEAD), so a
tenant with 20 queued videos cannot fill the broker queue ahead of a tenant with one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from clipdex.db.types import utcnow
from clipdex.jobs import scheduler
from clipdex.jobs.dispatcher import AHEAD, dispatch_once
from clipdex.jobs.runner import execute
from clipdex.models import JobStage, OutboxEntry
from clipdex.tenancy.system import SystemReason
from tests.pipeline.engine_support import QuickStage, expire_lease, make_tenant, queue_job, registered


def _dispatch(platform, capacity):
    sent = []
    dispatch_once(platform, sent.append, capacity)
    return sent


def _tenant_of(platform, job_ids_by_tenant, msg):
    return next(t for t, jobs in job_ids_by_tenant.items() if msg.job_id in jobs)


def test_messages_alternate_between_tenants_and_never_exceed_the_fleets_slots(platform):
    with registered(QuickStage("a"), only=True):
        big, small1, small2 = (make_tenant(platform, name=n) for n in ("Big", "Small1", "Small2"))
        jobs = {big: {str(queue_job(platform, big)[1]) for _ in range(20)}}
        jobs[small1] = {str(queue_job(platform, small1)[1])}
        jobs[small2] = {str(queue_job(platform, small2)[1])}
        first = _dispatch(platform, {"cpu": 2})
        # 2 slots + AHEAD messages, one per tenant: the big tenant's 20 jobs do not go first
        assert len(first) == 2 + AHEAD
        assert {_tenant_of(platform, jobs, m) for m in first} == {big, small1, small2}
        assert all((m.stage, m.attempt, m.queue) == ("a", 0, "cpu") for m in first)
        assert _dispatch(platform, {"cpu": 2}) == []  # nothing more until a message is taken

        claim = scheduler.claim_stage(platform, "w1", uuid.UUID(first[0].job_id), "a", 0)
        assert claim is not None
        assert _dispatch(platform, {"cpu": 2}) == []  # claimed, running: the slot is still busy
        assert execute(platform, claim) == "succeeded"
        nxt = _dispatch(platform, {"cpu": 2})
        assert len(nxt) == 1 and _tenant_of(platform, jobs, nxt[0]) == big  # only the big tenant has work left
        assert _dispatch(platform, {"cpu": 0, "gpu": 4}) == []  # no cpu worker alive: nothing for cpu


def test_tier_cap_holds_over_running_and_in_flight_stages(platform):
    with registered(QuickStage("a"), only=True):
        free = make_tenant(platform, tier="free", name="Free")  # concurrent_stages = 1
        for _ in range(4):
            queue_job(platform, free)
        sent = _dispatch(platform, {"cpu": 8})
        assert len(sent) == 1
        claim = scheduler.claim_stage(platform, "w", uuid.UUID(sent[0].job_id), "a", 0)
        assert claim is not None and _dispatch(platform, {"cpu": 8}) == []  # running counts against the cap
        execute(platform, claim)
        assert len(_dispatch(platform, {"cpu": 8})) == 1


def test_lost_messages_and_expired_leases_are_published_again(platform):
    with registered(QuickStage("a"), only=True):
        tenant = make_tenant(platform)
        _, job_id = queue_job(platform, tenant)
        (msg,) = _dispatch(platform, {"cpu": 1})
        with platform.db.system(reason=SystemReason.OPERATOR) as s:  # published long ago and still not claimed
            s.execute(update(OutboxEntry).values(published_at=utcnow() - timedelta(hours=1)))
        sent = []
        dispatch_once(platform, sent.append, {"cpu": 1}, backlog={"cpu": 3})
        assert sent == []  # messages are still waiting in the queue: it may be one of them
        (again,) = _dispatch(platform, {"cpu": 1})  # the queue is empty: it was lost, publish it again
        assert again == msg

        claim = scheduler.claim_stage(platform, "w1", job_id, "a", 0)
        assert claim is not None and scheduler.claim_stage(platform, "w2", job_id, "a", 0) is None  # duplicate
        assert _dispatch(platform, {"cpu": 1}) == []
        expire_lease(platform, claim.stage_id)  # the worker died without a word
        (retry,) = _dispatch(platform, {"cpu": 1})
        assert (retry.stage, retry.attempt) == ("a", 1)
        assert scheduler.claim_stage(platform, "w3", job_id, "a", 0) is None  # the old message is stale
        second = scheduler.claim_stage(platform, "w3", job_id, "a", 1)
        assert second is not None and second.attempt == 2
        assert execute(platform, claim) == "lost"  # the first worker's late commit is fenced off
        assert execute(platform, second) == "succeeded"


def test_retry_backoff_is_enqueued_with_the_failure_and_published_when_due(platform):
    calls = []

    def fail_once(attempt):
        calls.append(attempt)
        return RuntimeError("flaky") if attempt == 1 else None

    with registered(QuickStage("a", fail=fail_once), QuickStage("b", ("a",)), only=True):
        tenant = make_tenant(platform)
        _, job_id = queue_job(platform, tenant)
        (m,) = _dispatch(platform, {"cpu": 1})
        assert execute(platform, scheduler.claim_stage(platform, "w", job_id, "a", 0)) == "retry"
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            entry = s.scalar(select(OutboxEntry))
            st = s.get(JobStage, entry.stage_id)
            assert (entry.stage, entry.attempt, st.status) == ("a", 1, "ready")
            assert entry.available_at == st.not_before and entry.published_at is None
            s.execute(update(OutboxEntry).values(available_at=utcnow() + timedelta(hours=1)))
        assert _dispatch(platform, {"cpu": 1}) == []  # backing off
        with platform.db.system(reason=SystemReason.OPERATOR) as s:  # the backoff is over
            past = utcnow() - timedelta(seconds=1)
            s.execute(update(OutboxEntry).values(available_at=past))
            s.execute(update(JobStage).where(JobStage.name == "a").values(not_before=past))
        (m2,) = _dispatch(platform, {"cpu": 1})
        assert execute(platform, scheduler.claim_stage(platform, "w", job_id, "a", m2.attempt)) == "succeeded"
        (m3,) = _dispatch(platform, {"cpu": 1})  # released by advance_job in the same commit
        assert (m3.stage, m3.attempt) == ("b", 0)


def test_higher_tier_goes_first_then_weights_share_the_slots(platform):
    with registered(QuickStage("a"), only=True):
        free = make_tenant(platform, tier="free", name="Free")
        ent = make_tenant(platform, tier="enterprise", name="Ent")
        free_jobs = {str(queue_job(platform, free)[1]) for _ in range(3)}
        for _ in range(6):
            queue_job(platform, ent)
        sent = _dispatch(platform, {"cpu": 5})  # 6 messages: 5 slots + AHEAD
        owners = ["free" if m.job_id in free_jobs else "ent" for m in sent]
        # enterprise first (rank), then by running/weight: free (weight 1, cap 1) gets one, enterprise the rest
        assert owners[0] == "ent" and owners.count("free") == 1 and len(owners) == 5 + AHEAD
