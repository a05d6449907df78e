"""Read-only units of work on SQLite do not take the write lock; the others still do."""

from __future__ import annotations

import threading

from sqlalchemy import event, text

from clipdex.db.engine import Database
from clipdex.tenancy.system import SystemReason


def _statements(db: Database) -> list[str]:
    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _record(conn, cursor, statement, *args):
        seen.append(statement)

    return seen


def test_readonly_scopes_begin_deferred_and_others_immediate(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    seen = _statements(db)
    with db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        s.execute(text("SELECT 1"))
    with db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(text("SELECT 2"))
    begins = [st for st in seen if st.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"]
    db.dispose()


def test_readonly_scope_reads_while_a_writer_holds_the_lock(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.system(reason=SystemReason.OPERATOR) as s:
        s.execute(text("CREATE TABLE t (v INTEGER)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    locked, release = threading.Event(), threading.Event()

    def writer():
        with db.system(reason=SystemReason.OPERATOR) as s:  # BEGIN IMMEDIATE: holds the write lock until release
            s.execute(text("UPDATE t SET v = 2"))
            locked.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert locked.wait(10)
        got: list[int] = []
        reader = threading.Thread(target=lambda: got.append(_read(db)))
        reader.start()
        reader.join(5)  # a BEGIN IMMEDIATE reader would wait on busy_timeout until the writer ends
        assert got == [1]  # the last committed snapshot, read without waiting for the writer
    finally:
        release.set()
        t.join(10)
    assert _read(db) == 2
    db.dispose()


def _read(db: Database) -> int:
    with db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        return s.execute(text("SELECT v FROM t")).scalar_one()
