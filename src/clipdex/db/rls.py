"""Row-level security for tenant tables, shared by every migration so each table gets the same policy.

"system" is set per transaction only for a session opened with a ``SystemReason`` (sign-in,
scheduling, billing, operator, migration: see ``tenancy/system.py``); every other transaction sees
the rows of the tenant in ``app.tenant_id`` and nothing else.
"""

from __future__ import annotations

from alembic import op

SCOPE = ("current_setting('app.system', true) = 'on' OR "
         "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def enable(tables: list[str]) -> None:
    """ENABLE + FORCE row-level security with the tenant policy (PostgreSQL only)."""
    if not _postgres():
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({SCOPE}) WITH CHECK ({SCOPE})")


def disable(tables: list[str]) -> None:
    """Undo ``enable`` (PostgreSQL only)."""
    if not _postgres():
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def create_role_sql(role: str) -> str:
    """Create the app role unless it exists, safe when two migrations run at once.

    Roles are cluster-wide: two databases migrated at the same moment (two test workers, two
    deployments sharing a server) both found the role missing and both created it, and the second
    failed on ``pg_authid``'s unique index. The existence check stays (no error logged in the common
    case); the exception handler covers the race.
    """
    return f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;
        END $$;"""
