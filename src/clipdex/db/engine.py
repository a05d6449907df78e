"""Engine and scoped sessions for SQLite (WAL) and PostgreSQL (non-owner role + RLS)."""

from __future__ import annotations

import contextlib
import enum
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from clipdex.db import guard  # noqa: F401  (registers the ORM guard listeners)
from clipdex.observability import SYSTEM_SESSIONS

_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
READONLY_OPTION = "clipdex_readonly"
log = logging.getLogger("clipdex.tenancy.system")


class SystemReason(enum.Enum):
    """Why a unit of work may see every tenant's rows: the closed set of tenancy exceptions.

    Each value names a path that cannot know its tenant up front or works across tenants by design.
    Use it through ``clipdex.tenancy.system.system_session``; a new reason is a design decision.
    """

    SIGN_IN = "sign_in"        # credentials -> principal before a tenant is known: sign-in, tokens, API
                               # keys, invitations, password resets
    SCHEDULING = "scheduling"  # the job machinery: claims, leases, dispatch, housekeeping sweeps
    BILLING = "billing"        # Stripe names a customer, not a tenant; usage reporting and reconciliation
    OPERATOR = "operator"      # the platform operator: tenant admin (API and CLI), demo setup
    MIGRATION = "migration"    # rebuilding derived data for every tenant (reindex after a model change)


# Reasons on every request or worker poll log at DEBUG (the counter still sees them); the rare,
# human-driven ones log at INFO so an operator's cross-tenant work shows up in the normal log.
_LOUD = frozenset({SystemReason.OPERATOR, SystemReason.MIGRATION, SystemReason.BILLING})


BUSY_TIMEOUT_MS = 30000  # SQLite: how long a statement waits for a lock before "database is locked"


def make_engine(url: str, *, app_role: str | None = None) -> Engine:
    """An engine for ``url``; on PostgreSQL every connection switches to ``app_role``."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                               pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # deleted rows are overwritten with zeros, not left readable in free pages of the file
            # (Database.scrub_freed moves the deletions out of the WAL as well)
            cur.execute("PRAGMA secure_delete=ON")
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

    def session(self, *, tenant_id: uuid.UUID | None = None) -> Session:
        """A bare session for one tenant (or for none: the guard then refuses tenant rows); never a system one."""
        return self._new(tenant_id=tenant_id)

    def _new(self, *, tenant_id: uuid.UUID | None = None, reason: SystemReason | None = None) -> Session:
        s = self._factory()
        s.info["tenant_id"] = tenant_id
        s.info["system_reason"] = reason  # the only mark of a system session: the guard and RLS read it
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
    def system(self, *, reason: SystemReason, readonly: bool = False) -> Iterator[Session]:
        """A unit of work that may see every tenant's rows, opened for a named ``reason``; logged and counted.

        Outside ``tenancy/`` and ``jobs/`` open one with ``tenancy.system.system_session`` (a test keeps it so).
        """
        if not isinstance(reason, SystemReason):
            raise TypeError(f"a system session needs a SystemReason, not {reason!r}")
        SYSTEM_SESSIONS.labels(reason=reason.value).inc()
        log.log(logging.INFO if reason in _LOUD else logging.DEBUG, "system session: %s", reason.value,
                extra={"system_reason": reason.value, "readonly": readonly})
        with self._scope(readonly, reason=reason) as s:
            yield s

    @contextlib.contextmanager
    def _scope(self, readonly: bool = False, **kw) -> Iterator[Session]:
        s = self._new(**kw)
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

    def scrub_freed(self, *, wait: bool = True) -> bool:
        """Make deleted data unreadable in the database files; True when done.

        SQLite: ``secure_delete`` zeroes what a deletion frees in the database file, but until a
        checkpoint the zeroed pages sit in the WAL, and the frames written before (the deleted content
        itself) stay in the WAL file until overwritten. A TRUNCATE checkpoint copies every frame into
        the database and empties the WAL file. It waits for readers of older snapshots (up to the busy
        timeout) and returns False if some were still reading; the next call finishes the job. The
        janitor calls it on every sweep; tenant deletion calls it with ``wait=False`` (inside a request it
        must not sit out the busy timeout behind a long reader: if one is reading, the janitor finishes).
        PostgreSQL: dead tuples are VACUUM's business (autovacuum), nothing here.
        """
        if self.engine.dialect.name != "sqlite":
            return True
        raw = self.engine.raw_connection()  # no SQLAlchemy BEGIN: a checkpoint cannot run in a transaction
        try:
            cur = raw.cursor()
            if not wait:
                cur.execute("PRAGMA busy_timeout=0")
            try:
                busy, _log, _done = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                if not wait:
                    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # the pooled connection's own
            return busy == 0
        finally:
            raw.close()

    def ping(self) -> None:
        with self.engine.connect() as c:
            c.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _set_rls_scope(session: Session, _transaction, connection) -> None:
    tenant_id = session.info.get("tenant_id")
    system = "on" if session.info.get("system_reason") is not None else "off"
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true), set_config('app.system', :s, true)"),
        {"t": str(tenant_id) if tenant_id else "", "s": system},
    )
