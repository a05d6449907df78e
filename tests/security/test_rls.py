"""PostgreSQL row-level security holds on its own, with the ORM guard switched off.

The app connects as the database owner and switches to the non-owner role ``clipdex_app``; every
tenant table has FORCE ROW LEVEL SECURITY and a policy keyed on ``app.tenant_id`` set per
transaction. A session scoped to A must see, change and create nothing of B's.
"""

from __future__ import annotations

import importlib.util
import secrets
import uuid

import psycopg
import pytest
from sqlalchemy import Integer, String, UniqueConstraint, create_engine, select, text
from sqlalchemy.exc import DBAPIError

import clipdex.db.guard as guard
from clipdex.db import migrate
from clipdex.models import Base, Video, tenant_tables
from clipdex.platform import Platform
from tests.conftest import make_settings, truncate_all
from tests.security.seed import seed_tenant, tenant_rows

APP_ROLE = "clipdex_app"


def _migration_tenant_tables() -> list[str]:
    """The TENANT_TABLES lists of every migration that has one, concatenated."""
    listed: list[str] = []
    for path in sorted((migrate.MIGRATIONS / "versions").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"clipdex_migration_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        listed += getattr(module, "TENANT_TABLES", [])
    return listed


def test_rls_migration_covers_exactly_the_tenant_tables():
    listed = _migration_tenant_tables()
    assert len(listed) == len(set(listed))
    assert sorted(listed) == tenant_tables()


@pytest.fixture
def rls_platform(pg_database, tmp_path, monkeypatch):
    truncate_all(pg_database)
    monkeypatch.setattr(guard, "GUARD_ENABLED", False)  # prove the database holds without the app's help
    p = Platform.from_settings(make_settings(tmp_path, database_url=pg_database, database_app_role=APP_ROLE))
    yield p
    p.close()


@pytest.fixture
def two(rls_platform):
    # Seeded in the system scope; "Spare" lends a user for A's positive-control membership insert.
    return seed_tenant(rls_platform, "Alpha"), seed_tenant(rls_platform, "Bravo"), seed_tenant(rls_platform, "Spare")


def _rls_refused(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(orig, psycopg.errors.InsufficientPrivilege) and "row-level security" in str(orig)


def _copy_of(row: dict, table, tenant_id: uuid.UUID, spare_user: uuid.UUID) -> dict:
    """``row`` as a new row of ``tenant_id``: fresh id, and fresh values in every unique column."""
    new = dict(row, id=uuid.uuid4(), tenant_id=tenant_id)
    unique_cols = {c for c in table.columns if c.unique}
    for cons in table.constraints:
        if isinstance(cons, UniqueConstraint):
            unique_cols |= set(cons.columns)
    for col in unique_cols:
        if isinstance(col.type, String):
            new[col.name] = secrets.token_hex(min(8, (col.type.length or 16) // 2))
        elif isinstance(col.type, Integer):
            new[col.name] = (row[col.name] or 0) + 1 + secrets.randbelow(10**6)
    if table.name == "memberships":
        new["user_id"] = spare_user
    return new


@pytest.mark.postgres
def test_connections_use_the_non_owner_app_role(rls_platform):
    with rls_platform.db.tenant(uuid.uuid4()) as s:
        assert s.scalar(text("SELECT current_user")) == APP_ROLE
        assert s.scalar(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")) is False


@pytest.mark.postgres
def test_every_tenant_table_forces_rls_and_is_not_owned_by_the_app_role(pg_database):
    eng = create_engine(pg_database)
    try:
        with eng.connect() as c:
            rows = c.execute(text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) "
                "FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace")).all()
            policies = {r[0] for r in c.execute(text(
                "SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'tenant_isolation'"))}
    finally:
        eng.dispose()
    tables = {r[0]: r[1:] for r in rows}
    assert set(tenant_tables()) <= set(tables)
    for name in tenant_tables():
        enabled, forced, owner = tables[name]
        assert enabled and forced, f"{name}: relrowsecurity={enabled} relforcerowsecurity={forced}"
        assert owner != APP_ROLE, f"{name} is owned by the app role, which would bypass its policy"
        assert name in policies, f"{name} has no tenant_isolation policy"
    assert all(owner != APP_ROLE for _, _, owner in tables.values())


@pytest.mark.postgres
def test_rls_alone_keeps_tenant_a_out_of_b(rls_platform, two):
    a, b, spare = two
    db = rls_platform.db
    before_b = tenant_rows(rls_platform, b.tenant_id)
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    failures = []

    for name in tenant_tables():
        table = tables[name]
        q = {"a": a.tenant_id, "b": b.tenant_id, "a_row": a.rows[name]}
        with db.tenant(a.tenant_id) as s:
            visible = s.execute(text(f"SELECT tenant_id FROM {name}")).scalars().all()
            if visible != [a.tenant_id]:
                failures.append(f"{name}: A sees tenant ids {visible}")
            if s.execute(text(f"SELECT count(*) FROM {name} WHERE tenant_id = :b"), q).scalar() != 0:
                failures.append(f"{name}: A reads B's rows")
            if s.execute(text(f"UPDATE {name} SET tenant_id = tenant_id WHERE tenant_id = :b"), q).rowcount != 0:
                failures.append(f"{name}: A updates B's rows")
            if s.execute(text(f"DELETE FROM {name} WHERE tenant_id = :b"), q).rowcount != 0:
                failures.append(f"{name}: A deletes B's rows")
            own = dict(s.execute(select(table).where(table.c.tenant_id == a.tenant_id)).one()._mapping)

        # Inserting B's tenant_id, or moving A's own row into B, fails the policy's WITH CHECK.
        for label, stmt, params in (
                ("inserts a row for B", table.insert().values(**_copy_of(own, table, b.tenant_id, spare.user_id)), {}),
                ("moves its row into B", text(f"UPDATE {name} SET tenant_id = :b WHERE id = :a_row"), q)):
            try:
                with db.tenant(a.tenant_id) as s:
                    s.execute(stmt, params)
                failures.append(f"{name}: A {label}")
            except DBAPIError as e:
                if not _rls_refused(e):
                    failures.append(f"{name}: A {label}: refused for another reason: {e.orig!r}")

        # The same insert for A itself works, so the refusal above is the policy and nothing else.
        s = db.session(tenant_id=a.tenant_id)
        try:
            s.execute(table.insert().values(**_copy_of(own, table, a.tenant_id, spare.user_id)))
        except DBAPIError as e:
            failures.append(f"{name}: control insert for A failed: {e.orig!r}")
        finally:
            s.rollback()
            s.close()

    assert failures == []
    assert tenant_rows(rls_platform, b.tenant_id) == before_b


@pytest.mark.postgres
def test_orm_without_guard_is_still_filtered_by_rls(rls_platform, two):
    a, b, _ = two
    with rls_platform.db.tenant(a.tenant_id) as s:
        assert [v.id for v in s.scalars(select(Video))] == [a.rows["videos"]]
        assert s.get(Video, b.rows["videos"]) is None


@pytest.mark.postgres
def test_session_without_scope_sees_and_writes_nothing(rls_platform, two):
    a, b, spare = two
    s = rls_platform.db.session()  # neither tenant nor system; the guard is off
    try:
        for name in tenant_tables():
            assert s.execute(text(f"SELECT count(*) FROM {name}")).scalar() == 0, name
        s.rollback()
        s.add(Video(tenant_id=b.tenant_id, title="planted"))
        with pytest.raises(DBAPIError) as err:
            s.flush()
        assert _rls_refused(err.value)
    finally:
        s.rollback()
        s.close()
