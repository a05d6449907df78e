"""Row-level security under the Celery path, with the ORM guard switched off.

Workers claim in the system scope, then do everything else in the scope of the tenant on the job
row. With the application guard disabled, PostgreSQL alone must keep a worker (or a forged message)
acting for one tenant away from another tenant's stages, outbox entries, artifacts and usage.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

import clipdex.db.guard as guard
from clipdex.jobs import runner, scheduler
from clipdex.jobs.dispatcher import dispatch_once
from clipdex.models import Artifact, JobStage, OutboxEntry, UsageRecord
from clipdex.platform import Platform
from clipdex.tenancy.system import SystemReason
from tests.conftest import make_settings, truncate_all
from tests.pipeline.engine_support import QuickStage, make_tenant, queue_job, registered, stages_of

pytestmark = pytest.mark.postgres


@pytest.fixture
def rls_platform(pg_database, tmp_path, monkeypatch):
    truncate_all(pg_database)
    monkeypatch.setattr(guard, "GUARD_ENABLED", False)  # the database must hold without the app's help
    p = Platform.from_settings(make_settings(tmp_path, database_url=pg_database))
    yield p
    p.close()


def test_a_claim_forged_for_another_tenant_can_neither_heartbeat_nor_commit(rls_platform):
    p = rls_platform
    with registered(QuickStage("a"), only=True):
        a, b = make_tenant(p, name="A"), make_tenant(p, name="B")
        _, job_b = queue_job(p, b)
        real = scheduler.claim_stage(p, "w", job_b, "a", 0)
        forged = dataclasses.replace(real, tenant_id=a)  # B's stage and lease, A's scope
        lease = runner._Lease(p, forged)
        lease.beat_once()
        assert lease.lost.is_set()  # A's scope cannot see B's stage row, so the heartbeat finds nothing
        with pytest.raises(Exception):  # noqa: B017  (any failure: what matters is that B's rows stay unread)
            runner.execute(p, forged)  # reading B's video in A's scope finds nothing
        assert stages_of(p, job_b)["a"].status == "running"
        assert runner._finish_ok(p, forged, _ctx(), {}) == "lost"
        with p.db.system(reason=SystemReason.OPERATOR) as s:
            assert s.scalar(select(func.count()).select_from(Artifact)) == 0
        assert runner.execute(p, real) == "succeeded"  # the real owner, in B's scope, commits


def _ctx():
    class Ctx:
        artifacts, video_updates = [], {}
    return Ctx()


def test_tenant_scope_sees_and_enqueues_only_its_own_work(rls_platform):
    p = rls_platform
    with registered(QuickStage("a"), only=True):
        a, b = make_tenant(p, name="A"), make_tenant(p, name="B")
        queue_job(p, a)
        _, job_b = queue_job(p, b)
        stage_b = stages_of(p, job_b)["a"]
    with p.db.tenant(a) as s:
        assert {e.tenant_id for e in s.scalars(select(OutboxEntry))} == {a}
        assert {st.tenant_id for st in s.scalars(select(JobStage))} == {a}
        assert s.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.tenant_id == b)) == 0
    with pytest.raises(DBAPIError) as err:  # enqueue work as B from A's scope
        with p.db.tenant(a) as s:
            s.add(OutboxEntry(tenant_id=b, job_id=job_b, stage_id=stage_b.id, stage="a", queue="cpu", attempt=7))
    assert "row-level security" in str(err.value.orig)
    # An entry in A's name that points at B's stage passes the policy (foreign keys are not row-scoped)
    # but the dispatcher never publishes it and purges it: the message would run B's work.
    with p.db.tenant(a) as s:
        s.add(OutboxEntry(tenant_id=a, job_id=job_b, stage_id=stage_b.id, stage="a", queue="cpu", attempt=7))
    sent = []
    dispatch_once(p, sent.append, {"cpu": 8})
    assert sorted(m.job_id for m in sent) == sorted(str(j) for j in _jobs(p))  # one message per real job
    with p.db.system(reason=SystemReason.OPERATOR) as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.attempt == 7)) == 0


def _jobs(p):
    with p.db.system(reason=SystemReason.OPERATOR) as s:
        return s.scalars(select(JobStage.job_id)).all()
