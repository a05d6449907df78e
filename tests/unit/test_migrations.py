"""Migrations go up, down to base and up again on both databases, and end where the ORM says."""

from __future__ import annotations


import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from clipdex.db import migrate
from clipdex.models import Base, tenant_tables
from tests.conftest import scratch_database


def _head(url: str) -> str:
    return ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()


def _schema_diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            mc = MigrationContext.configure(c, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(mc, Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    head = _head(url)
    migrate.upgrade(url)
    assert migrate.current(url) == head
    assert _tables(url) == set(Base.metadata.tables) | {"alembic_version"}

    migrate.downgrade(url, "base")
    assert migrate.current(url) is None
    assert _tables(url) <= {"alembic_version"}

    migrate.upgrade(url)
    assert migrate.current(url) == head
    assert _schema_diff(url) == []


def test_sqlite_up_down_up_matches_the_models(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'migrations.db'}")


def _rls_state(url: str) -> dict[str, tuple[bool, bool]]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            rows = c.execute(text("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                                  "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).all()
        return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        engine.dispose()


@pytest.fixture
def scratch_pg():
    """A database of our own, created and dropped here (not the session's shared one)."""
    with scratch_database("clipdex_migrations") as url:
        yield url


@pytest.mark.postgres
def test_postgres_up_down_up_matches_the_models(scratch_pg):
    _round_trip(scratch_pg)
    state = _rls_state(scratch_pg)
    assert all(state[t] == (True, True) for t in tenant_tables()), state

    migrate.downgrade(scratch_pg, "0001")  # RLS comes off cleanly, leaving the plain schema
    assert migrate.current(scratch_pg) == "0001"
    assert all(state == (False, False) for state in _rls_state(scratch_pg).values())
    migrate.upgrade(scratch_pg)
    assert all(_rls_state(scratch_pg)[t] == (True, True) for t in tenant_tables())


@pytest.mark.postgres
def test_app_role_created_by_two_migrations_at_once(scratch_pg):
    """Two sessions create the (cluster-wide) app role at the same moment: the second waits on the
    first's uncommitted role, then must carry on instead of failing on pg_authid's unique index (two
    test workers, or two deployments on one server, migrating together)."""
    import threading
    import uuid

    from clipdex.db import rls

    role = f"clipdex_race_{uuid.uuid4().hex[:8]}"
    first, second = create_engine(scratch_pg), create_engine(scratch_pg)
    errors: list[BaseException] = []
    try:
        with first.connect() as a:
            a.execute(text(rls.create_role_sql(role)))  # created, not committed: the second blocks on it

            def other() -> None:
                try:
                    with second.begin() as b:
                        b.execute(text(rls.create_role_sql(role)))
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            t = threading.Thread(target=other)
            t.start()
            t.join(1.0)
            assert t.is_alive(), "the second creation did not wait for the first"
            a.commit()
            t.join(30)
        assert not errors, errors
        with first.connect() as c:
            assert c.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar() == 1
    finally:
        with first.begin() as c:
            c.execute(text(f"DROP ROLE IF EXISTS {role}"))
        first.dispose()
        second.dispose()
