"""Engine and scoped sessions for SQLite (WAL) and PostgreSQL (non-owner role + RLS)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from clipdex.db import guard  # noqa: F401  (registers the ORM guard listeners)

_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
READONLY_OPTION = "clipdex_readonly"


def make_engine(url: str, *, app_role: str | None = None) -> Engine:
    """An engine for ``url``; on PostgreSQL every connection switches to ``app_role``."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Transactions take the write lock up front, so concurrent writers queue on
            # busy_timeout instead of failing with SQLITE_BUSY when a read upgrades to a write.
            # Read-only units of work take a plain BEGIN: under WAL they read a snapshot without
            # queueing behind writers or each other (SQLite's busy handler sleeps up to 100 ms a try).
            readonly = conn.get_execution_options().get(READONLY_OPTION)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        _disable_pysqlite_autobegin(engine)
        return engine

    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if app_role:
        if not _ROLE_RE.match(app_role):
            raise ValueError("invalid database_app_role")

        @event.listens_for(engine, "connect")
        def _set_role(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute(f"SET ROLE {app_role}")
            cur.close()
            dbapi_conn.commit()

    return engine


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None


class Database:
    """Owns the engine and hands out sessions bound to a tenant or to the system scope."""

    def __init__(self, url: str, *, app_role: str | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, app_role=app_role)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        if self.is_postgres:
            event.listen(self._factory, "after_begin", _set_rls_scope)

    def session(self, *, tenant_id: uuid.UUID | None = None, system: bool = False) -> Session:
        s = self._factory()
        s.info["tenant_id"] = tenant_id
        s.info["system"] = system
        return s

    @contextlib.contextmanager
    def tenant(self, tenant_id: uuid.UUID, *, readonly: bool = False) -> Iterator[Session]:
        """A unit of work on behalf of one tenant; commits on success.

        ``readonly`` promises that the unit of work only reads (on SQLite it then does not take
        the write lock); a write in it may fail with "database is locked" under contention.
        """
        with self._scope(readonly, tenant_id=tenant_id) as s:
            yield s

    @contextlib.contextmanager
    def system(self, *, readonly: bool = False) -> Iterator[Session]:
        """A unit of work that may see every tenant's rows. Keep these few and audited."""
        with self._scope(readonly, system=True) as s:
            yield s

    @contextlib.contextmanager
    def _scope(self, readonly: bool = False, **kw) -> Iterator[Session]:
        s = self.session(**kw)
        try:
            if readonly:  # the option must be on the connection before its BEGIN
                s.connection(execution_options={READONLY_OPTION: True})
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def ping(self) -> None:
        with self.engine.connect() as c:
            c.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _set_rls_scope(session: Session, _transaction, connection) -> None:
    tenant_id = session.info.get("tenant_id")
    system = "on" if session.info.get("system") else "off"
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true), set_config('app.system', :s, true)"),
        {"t": str(tenant_id) if tenant_id else "", "s": system},
    )
