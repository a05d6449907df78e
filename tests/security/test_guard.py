"""The ORM tenant guard: unscoped work on tenant rows is refused; tenant sessions see and write only their own."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select, update

from clipdex.errors import UnscopedQuery
from clipdex.models import AuditEvent, Base, Invitation, Job, Membership, Tenant, TenantOwned, User, Video
from clipdex.tenancy import audit
from clipdex.tenancy.system import SystemReason
from tests.security.seed import seed_tenant, tenant_rows

TENANT_OWNED = sorted((m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)),
                      key=lambda c: c.__name__)


def test_every_tenant_owned_model_is_covered():
    assert {c.__tablename__ for c in TENANT_OWNED} >= {"videos", "jobs", "job_stages", "artifacts", "api_keys",
                                                       "invitations", "memberships", "upload_sessions",
                                                       "usage_records"}


@pytest.fixture
def two(platform):
    return seed_tenant(platform, "Alpha"), seed_tenant(platform, "Bravo")


def _statements(model):
    """Ways to touch ``model`` that a guard keyed only on result entities would miss."""
    return {
        "select entity": select(model),
        "select column": select(model.id),
        "count over select_from": select(func.count()).select_from(model),
        "join target": select(Tenant.id).join(model, model.tenant_id == Tenant.id),
        "subquery": select(Tenant.id).where(Tenant.id.in_(select(model.tenant_id))),
        "exists": select(Tenant.id).where(select(model.id).where(model.tenant_id == Tenant.id).exists()),
        "bulk update": update(model).values(tenant_id=model.tenant_id),
        "bulk delete": delete(model).where(model.id == uuid.uuid4()),
    }


def test_unscoped_session_refuses_tenant_owned_models(platform):
    s = platform.db.session()  # neither tenant nor system
    ran = []
    try:
        for model in TENANT_OWNED:
            for label, stmt in _statements(model).items():
                with pytest.raises(UnscopedQuery):
                    s.execute(stmt)
                    pytest.fail(f"{model.__tablename__}: {label} ran unscoped")
                s.rollback()
                ran.append(label)
            with pytest.raises(UnscopedQuery):
                s.get(model, uuid.uuid4())
            s.rollback()
    finally:
        s.close()
    assert len(ran) == len(TENANT_OWNED) * 8


def test_unscoped_session_may_read_global_tables_and_refuses_writes(platform, two):
    a, _ = two
    s = platform.db.session()
    try:
        assert s.scalar(select(func.count()).select_from(Tenant)) >= 2  # not tenant data
        assert s.get(User, a.user_id) is not None
        s.add(Video(tenant_id=a.tenant_id, title="sneaky"))
        with pytest.raises(UnscopedQuery):
            s.flush()
        s.rollback()
        s.add(Membership(tenant_id=a.tenant_id, user_id=a.user_id, role="viewer"))
        with pytest.raises(UnscopedQuery):
            s.flush()
        s.rollback()
    finally:
        s.close()


def test_tenant_scope_sees_only_its_rows(platform, two):
    a, b = two
    with platform.db.tenant(a.tenant_id) as s:
        for model in TENANT_OWNED:
            table = model.__tablename__
            rows = s.scalars(select(model)).all()  # no tenant filter written here: the guard adds it
            assert [r.id for r in rows] == [a.rows[table]], table
            assert s.get(model, b.rows[table]) is None, table
            assert s.scalar(select(func.count()).select_from(model)) == 1, table
            assert s.scalars(select(model.id)).all() == [a.rows[table]], table
            assert s.scalars(select(Tenant.id).join(model, model.tenant_id == Tenant.id)).all() == [a.tenant_id]
            assert s.scalars(select(Tenant.id).where(Tenant.id.in_(select(model.tenant_id)))).all() == [a.tenant_id]
            assert s.scalar(select(model).where(model.id == b.rows[table])) is None
        assert s.scalars(select(Video.title).where(Video.tenant_id == b.tenant_id)).all() == []


def test_tenant_scope_bulk_statements_touch_only_its_rows(platform, two):
    a, b = two
    before_b = tenant_rows(platform, b.tenant_id)
    with platform.db.tenant(a.tenant_id) as s:
        assert s.execute(update(Video).values(title="renamed")).rowcount == 1
        assert s.execute(update(Job).where(Job.id == b.rows["jobs"]).values(status="cancelled")).rowcount == 0
        assert s.execute(delete(Invitation)).rowcount == 1
        assert s.execute(delete(Job).where(Job.id == b.rows["jobs"])).rowcount == 0
    assert tenant_rows(platform, b.tenant_id) == before_b
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        assert s.get(Video, a.rows["videos"]).title == "renamed"
        assert s.get(Invitation, a.rows["invitations"]) is None


def test_writing_a_row_for_another_tenant_raises(platform, two):
    a, b = two
    before_b = tenant_rows(platform, b.tenant_id)

    with pytest.raises(UnscopedQuery), platform.db.tenant(a.tenant_id) as s:
        s.add(Video(tenant_id=b.tenant_id, title="planted"))
    with pytest.raises(UnscopedQuery), platform.db.tenant(a.tenant_id) as s:
        s.add(Membership(tenant_id=b.tenant_id, user_id=a.user_id, role="owner"))
    with pytest.raises(UnscopedQuery), platform.db.tenant(a.tenant_id) as s:
        s.get(Video, a.rows["videos"]).tenant_id = b.tenant_id  # moving own row into B

    # B's rows, obtained elsewhere, then handed to an A session
    with platform.db.system(reason=SystemReason.OPERATOR) as sys:
        b_video, b_job = sys.get(Video, b.rows["videos"]), sys.get(Job, b.rows["jobs"])
    with pytest.raises(UnscopedQuery), platform.db.tenant(a.tenant_id) as s:
        s.add(b_video)
        b_video.title = "defaced"
    with pytest.raises(UnscopedQuery), platform.db.tenant(a.tenant_id) as s:
        s.add(b_job)
        s.delete(b_job)

    assert tenant_rows(platform, b.tenant_id) == before_b


def test_new_rows_default_to_the_session_tenant(platform, two):
    a, _ = two
    with platform.db.tenant(a.tenant_id) as s:
        v = Video(title="mine")
        s.add(v)
        s.flush()
        assert v.tenant_id == a.tenant_id


def test_tenant_scope_sees_only_its_own_audit_events(platform, two):
    """Audit events are not TenantOwned (platform events have no tenant), yet a tenant session reads
    only its own: the guard scopes them too, so a route that forgot its filter still shows nothing else."""
    a, b = two
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        for tenant_id in (a.tenant_id, b.tenant_id, None):
            audit.record(s, "test.event", actor="test", tenant_id=tenant_id, target=f"tenant:{tenant_id}")
    with platform.db.tenant(a.tenant_id) as s:
        seen = s.scalars(select(AuditEvent.tenant_id)).all()  # no filter written here
        assert seen and set(seen) == {a.tenant_id}
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id.is_(None))) == 0
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        assert {a.tenant_id, b.tenant_id, None} <= set(s.scalars(select(AuditEvent.tenant_id)))


def test_system_scope_sees_every_tenant(platform, two):
    a, b = two
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        ids = set(s.scalars(select(Video.tenant_id)))
    assert {a.tenant_id, b.tenant_id} <= ids


def test_the_guard_switch_is_test_only():
    """``switched_off`` (used to show RLS holds alone) refuses a production configuration."""
    from clipdex.db import guard

    with pytest.raises(RuntimeError):
        with guard.switched_off("prod"):
            pass
    assert guard.GUARD_ENABLED
    with guard.switched_off("test"):
        assert not guard.GUARD_ENABLED
    assert guard.GUARD_ENABLED
