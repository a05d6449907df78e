"""Run Alembic migrations programmatically (``clipdex migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, *, app_role: str = "clipdex_app") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["app_role"] = app_role
    return cfg


def upgrade(url: str, revision: str = "head", *, app_role: str = "clipdex_app") -> None:
    command.upgrade(alembic_config(url, app_role=app_role), revision)


def downgrade(url: str, revision: str = "base", *, app_role: str = "clipdex_app") -> None:
    command.downgrade(alembic_config(url, app_role=app_role), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return MigrationContext.configure(c).get_current_revision()
    finally:
        engine.dispose()
