"""The scheduler and failure handling: fairness across tenants, tiers, caps, retries, cancel and retry."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from clipdex.db.types import utcnow
from clipdex.errors import MediaRejected
from clipdex.jobs import runner, scheduler
from clipdex.jobs.worker import Worker
from clipdex.models import JobStage, Tenant
from clipdex.tenancy.system import SystemReason

from tests.conftest import drain, new_tenant, upload
from tests.media import make_video
from tests.pipeline.engine_support import (
    QuickStage, registered, make_tenant, queue_job, stages_of, job_and_video,
    expire_lease, assert_effects_once, TERMINAL_JOB,
)


# ---------------------------------------------------------------- fairness, tiers, caps


def two_step_stages():
    return QuickStage("first", artifact=False), QuickStage("second", ("first",), artifact=False)


def claim_and_run(platform, tenant_of: dict) -> uuid.UUID | None:
    """Claim the next stage, run it to completion, and return the tenant it belonged to."""
    claim = scheduler.claim_next(platform, "w")
    if claim is None:
        return None
    assert runner.execute(platform, claim) == "succeeded"
    return tenant_of.get(claim.tenant_id, claim.tenant_id)


def test_newcomer_is_served_within_one_slot_of_a_backlog(platform):
    with registered(*two_step_stages(), only=True):
        a, b = make_tenant(platform, "pro", "A"), make_tenant(platform, "pro", "B")
        names = {a: "A", b: "B"}
        for _ in range(20):
            queue_job(platform, a)
        assert [claim_and_run(platform, names) for _ in range(5)] == ["A"] * 5
        queue_job(platform, b)
        order = [claim_and_run(platform, names) for _ in range(8)]  # A still has 27 stages after these
    assert order.count("B") == 2
    assert "B" in order[:2]  # not after A's backlog of 35 stages
    assert max(i for i, w in enumerate(order) if w == "B") <= 3  # B's whole job done within 4 slots
    assert all(order[i] != order[i + 1] for i in range(3))  # and interleaved with A, not back to back


def test_claims_round_robin_across_tenants_with_work(platform):
    with registered(*two_step_stages(), only=True):
        ids = [make_tenant(platform, "pro", n) for n in "XYZ"]
        names = dict(zip(ids, "XYZ"))
        for _ in range(3):
            for t in ids:
                queue_job(platform, t)
        order = []
        while (who := claim_and_run(platform, names)) is not None:
            order.append(who)
    assert len(order) == 18
    assert all(len(set(order[i:i + 3])) == 3 for i in range(0, 16)), "".join(order)


def test_fewer_running_stages_go_first_even_if_served_recently(platform):
    with registered(*two_step_stages(), only=True):
        a, b = make_tenant(platform, "pro", "A"), make_tenant(platform, "pro", "B")
        for _ in range(3):
            queue_job(platform, a)
            queue_job(platform, b)
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            s.execute(update(Tenant).where(Tenant.id == a).values(last_scheduled_at=utcnow() - timedelta(hours=1)))
            s.execute(update(Tenant).where(Tenant.id == b).values(last_scheduled_at=utcnow()))
        held = [scheduler.claim_next(platform, "w"), scheduler.claim_next(platform, "w")]
        assert [c.tenant_id for c in held] == [a, b]  # A: served longest ago; then B: fewer running
        third = scheduler.claim_next(platform, "w")
        # both now run one stage: A is next again only because B has been served more recently
        assert third.tenant_id == a
        fourth = scheduler.claim_next(platform, "w")
        assert fourth.tenant_id == b  # A runs two, B one


def test_enterprise_first_when_backlog_and_running_are_equal(platform):
    with registered(*two_step_stages(), only=True):
        pro, ent = make_tenant(platform, "pro", "P"), make_tenant(platform, "enterprise", "E")
        for _ in range(3):
            queue_job(platform, pro)
            queue_job(platform, ent)
        # the enterprise tenant was served more recently: rank still wins
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            s.execute(update(Tenant).where(Tenant.id == pro).values(last_scheduled_at=utcnow() - timedelta(hours=1)))
            s.execute(update(Tenant).where(Tenant.id == ent).values(last_scheduled_at=utcnow()))
        assert scheduler.claim_next(platform, "w").tenant_id == ent


def test_free_tier_runs_one_stage_at_a_time(platform):
    assert platform.settings.tier("free").concurrent_stages == 1
    with registered(*two_step_stages(), only=True):
        free = make_tenant(platform, "free", "F")
        for _ in range(3):
            queue_job(platform, free)
        held = scheduler.claim_next(platform, "w")
        assert held.tenant_id == free
        assert scheduler.claim_next(platform, "w") is None  # at its cap, with two more ready stages

        # two outstanding, as a race between two claimers can leave it
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            extra = s.scalars(select(JobStage.id).where(JobStage.tenant_id == free, JobStage.status == "ready")).first()
            s.execute(update(JobStage).where(JobStage.id == extra).values(
                status="running", lease_owner="other", lease_token=JobStage.lease_token + 1,
                lease_expires_at=utcnow() + timedelta(seconds=60)))
        assert scheduler.claim_next(platform, "w") is None

        other = make_tenant(platform, "pro", "P")
        queue_job(platform, other)
        assert scheduler.claim_next(platform, "w").tenant_id == other  # skipped, not blocking others
        assert scheduler.claim_next(platform, "w") is None
        with platform.db.system(reason=SystemReason.OPERATOR) as s:  # the extra one finishes (its worker gives it back)
            s.execute(update(JobStage).where(JobStage.id == extra).values(status="ready", lease_owner=None))

        assert runner.execute(platform, held) == "succeeded"
        assert scheduler.claim_next(platform, "w").tenant_id == free  # a slot is free again
        with platform.db.system(reason=SystemReason.OPERATOR) as s:
            running = s.scalar(select(func.count()).select_from(JobStage).where(
                JobStage.tenant_id == free, JobStage.status == "running"))
        assert running == 1


# ---------------------------------------------------------------- retries and failures


def test_transient_failure_is_retried_after_backoff(platform):
    platform.settings.retry_base_s = 1.0
    flaky = QuickStage("flaky", fail=lambda attempt: RuntimeError("timeout talking to model") if attempt == 1
                       else None)
    with registered(flaky, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        worker = Worker(platform, name="w")
        before = utcnow()
        assert worker.run_once() == "retry"
        after = utcnow()
        st = stages_of(platform, job_id)["flaky"]
        assert (st.status, st.attempt, st.error_code, st.lease_owner) == ("ready", 1, "job.stage_error", None)
        assert before + timedelta(seconds=1.0) <= st.not_before <= after + timedelta(seconds=1.0)
        assert scheduler.claim_next(platform, "w") is None  # backing off
        time.sleep(max(0.0, (st.not_before - utcnow()).total_seconds()) + 0.05)
        assert worker.run_once() == "succeeded"
        st = stages_of(platform, job_id)["flaky"]
        assert (st.status, st.attempt, st.error_code, st.error_message) == ("succeeded", 2, None, None)
        assert [a for _, a in flaky.runs] == [1, 2]
        assert_effects_once(platform, video_id, job_id)


def test_persistent_failure_fails_after_max_attempts_with_backoff_doubling(platform):
    platform.settings.retry_base_s = 0.2
    broken = QuickStage("broken", fail=lambda attempt: RuntimeError("/secret/path/model.bin is corrupt"))
    after = QuickStage("after", ("broken",))
    with registered(broken, after, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        worker = Worker(platform, name="w")
        outcomes, backoffs = [], []
        deadline = time.monotonic() + 20
        while job_and_video(platform, job_id)[0].status not in TERMINAL_JOB and time.monotonic() < deadline:
            before = utcnow()
            outcome = worker.run_once()
            if outcome is None:
                time.sleep(0.02)
                continue
            outcomes.append(outcome)
            if outcome == "retry":  # the retry was scheduled at some moment between before and after
                not_before = stages_of(platform, job_id)["broken"].not_before
                backoffs.append(((not_before - utcnow()).total_seconds(), (not_before - before).total_seconds()))
        assert outcomes == ["retry", "retry", "failed"]
        for (low, high), expected in zip(backoffs, (0.2, 0.4)):  # the base, then twice the base
            assert low <= expected <= high, backoffs
        st = stages_of(platform, job_id)
        assert (st["broken"].status, st["broken"].attempt) == ("failed", platform.settings.max_attempts)
        assert st["after"].status == "cancelled" and after.runs == []
        job, video = job_and_video(platform, job_id)
        assert (job.status, job.error_code) == ("failed", "job.stage_error")
        assert (video.status, video.error_code) == ("failed", "job.stage_error")
        assert video.error_message == "Stage broken failed (RuntimeError)."
        assert "/secret" not in job.error_message and "Traceback" not in job.error_message
        assert scheduler.claim_next(platform, "w") is None


def test_rejected_media_fails_fast_with_its_code(platform):
    rejecting = QuickStage("rejecting", fail=lambda attempt: MediaRejected(
        "The file has no decodable stream.", code="media.no_streams"))
    after = QuickStage("after", ("rejecting",))
    with registered(rejecting, after, only=True):
        tenant_id = make_tenant(platform)
        video_id, job_id = queue_job(platform, tenant_id)
        assert Worker(platform, name="w").run_once() == "failed"
        st = stages_of(platform, job_id)
        assert (st["rejecting"].status, st["rejecting"].attempt, st["rejecting"].error_code) == (
            "failed", 1, "media.no_streams")
        assert st["after"].status == "cancelled"
        job, video = job_and_video(platform, job_id)
        assert (job.status, job.error_code) == ("failed", "media.no_streams")
        assert (video.status, video.error_code, video.error_message) == (
            "failed", "media.no_streams", "The file has no decodable stream.")
        assert len(rejecting.runs) == 1 and scheduler.claim_next(platform, "w") is None


def test_stage_abandoned_on_every_attempt_fails_instead_of_looping(platform):
    poison = QuickStage("poison")
    with registered(poison, only=True):
        doomed = make_tenant(platform, "enterprise", "D")  # ranked first, so its stage is looked at first
        video_id, job_id = queue_job(platform, doomed)
        for attempt in range(1, platform.settings.max_attempts + 1):
            claim = scheduler.claim_next(platform, f"dead-{attempt}")
            assert (claim.job_id, claim.attempt) == (job_id, attempt)
            expire_lease(platform, claim.stage_id)  # its worker died
        healthy = make_tenant(platform, "pro", "H")
        _, other_job = queue_job(platform, healthy)

        # failing the poison stage does not stop the worker from finding the other tenant's work
        assert Worker(platform, name="w").drain() == 1
        st = stages_of(platform, job_id)["poison"]
        assert (st.status, st.attempt, st.error_code, st.lease_owner) == (
            "failed", platform.settings.max_attempts, "job.worker_lost", None)
        job, video = job_and_video(platform, job_id)
        assert (job.status, job.error_code, video.status, video.error_code) == (
            "failed", "job.worker_lost", "failed", "job.worker_lost")
        assert job_and_video(platform, other_job)[0].status == "succeeded"
        assert poison.runs == [(other_job, 1)]  # the poison stage itself never ran to an end here
        assert scheduler.claim_next(platform, "w") is None


# ---------------------------------------------------------------- cancel and retry through the API


def test_cancel_and_retry_endpoints(client, platform, tmp_path):
    ctx = new_tenant(platform, client, "Cancel")
    video_id = upload(client, ctx, make_video(tmp_path / "c.mp4", seconds=1)).json()["id"]
    job_id = client.get(f"/api/v1/jobs?video_id={video_id}", headers=ctx.headers).json()["items"][0]["id"]

    r = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=ctx.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and {s["status"] for s in r.json()["stages"]} == {"cancelled"}
    video = client.get(f"/api/v1/videos/{video_id}", headers=ctx.headers).json()
    assert (video["status"], video["error_code"]) == ("failed", "job.cancelled")
    assert scheduler.claim_next(platform, "w") is None and drain(platform) == 0

    r = client.post(f"/api/v1/jobs/{job_id}/retry", headers=ctx.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued"
    assert drain(platform) == 3
    video = client.get(f"/api/v1/videos/{video_id}", headers=ctx.headers).json()
    assert (video["status"], video["error_code"], video["job"]["status"]) == ("ready", None, "succeeded")
    assert [s["attempt"] for s in video["job"]["stages"]] == [1, 1, 1]

    r = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=ctx.headers)
    assert r.status_code == 409 and r.json()["code"] == "job.not_cancellable"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(f"/api/v1/jobs/{job_id}/retry", headers=ctx.headers)
    assert r.status_code == 409 and r.json()["code"] == "job.not_retryable"
    assert_effects_once(platform, uuid.UUID(video_id), uuid.UUID(job_id))
