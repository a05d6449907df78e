"""PostgreSQL row-level security on every tenant table, and the non-owner app role

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
import re

from alembic import context, op

from clipdex.db import rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Every table with a tenant_id column. A test compares this with the ORM metadata so a new
# tenant table cannot ship without a policy.
TENANT_TABLES = [
    "api_keys", "artifacts", "audit_events", "invitations", "job_stages", "jobs", "memberships",
    "refresh_tokens", "upload_sessions", "usage_records", "videos",
]


def _role() -> str:
    role = context.config.attributes.get("app_role", "clipdex_app")
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", role):
        raise ValueError("invalid app role name")
    return role


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    op.execute(rls.create_role_sql(role))  # safe when two databases migrate at once
    op.execute(f"GRANT {role} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    rls.enable(TENANT_TABLES)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    rls.disable(TENANT_TABLES)
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
               f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}")
    op.execute(f"REVOKE SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
