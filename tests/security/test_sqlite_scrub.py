"""Deleted data does not stay readable in the SQLite files: not in the free pages of the database
(``secure_delete``), not in old frames of the write-ahead log (the janitor's TRUNCATE checkpoint).

A canary goes into a video's title, description and tags through the API; after the delete and one
janitor sweep, the raw bytes of ``clipdex.db``, its ``-wal`` and ``-shm`` must not hold it. Before the
delete the files must hold it: the scan finds what is there. (This machine's SQLite is built with
SECURE_DELETE on by default; many builds are not, so the platform sets the pragma on every connection,
which the second test checks.)"""

from __future__ import annotations

import uuid
from pathlib import Path

from clipdex.jobs.janitor import sweep
from tests.conftest import api_client, new_tenant, upload
from tests.media import make_video


def _files(platform) -> list[Path]:
    db = Path(platform.db.engine.url.database)
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def _holding(platform, canary: bytes) -> list[str]:
    return [p.name for p in _files(platform) if canary in p.read_bytes()]


def test_a_deleted_video_leaves_nothing_in_the_sqlite_files(sqlite_platform, tmp_path):
    p = sqlite_platform
    canary = f"canary-{uuid.uuid4().hex}"
    with api_client(p) as c:
        ctx = new_tenant(p, c, "Scrub")
        clip = make_video(tmp_path / "clip.mp4", seconds=1)
        r = upload(c, ctx, clip, title=f"Title {canary}", description=f"About {canary} " * 20)
        assert r.status_code in (201, 202), r.text
        vid = r.json()["id"]
        assert _holding(p, canary.encode()), "the scan must see the row before the delete"
        assert c.delete(f"/api/v1/videos/{vid}", headers=ctx.headers).status_code == 204
        sweep(p)
        assert _holding(p, canary.encode()) == []
        assert c.get(f"/api/v1/videos/{vid}", headers=ctx.headers).status_code == 404


def test_every_connection_zeroes_deleted_content(sqlite_platform):
    with sqlite_platform.db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_a_busy_reader_does_not_hold_up_a_request_that_scrubs(sqlite_platform):
    """``wait=False`` (tenant deletion, inside a request) gives up at once behind a reader of an older
    snapshot instead of sitting out the 30 s busy timeout; the janitor's waiting call finishes later."""
    import sqlite3
    import time

    db = sqlite_platform.db
    path = db.engine.url.database
    with db.engine.connect() as c:  # a pooled connection opened (its pragmas set) before the reader starts
        c.exec_driver_sql("SELECT 1")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM tenants").fetchone()  # holds its snapshot
        with db.engine.begin() as c:  # a write after it: the WAL cannot be emptied while the snapshot lives
            c.exec_driver_sql("CREATE TABLE scrub_probe (x TEXT)")
            c.exec_driver_sql("INSERT INTO scrub_probe VALUES ('x')")
        t0 = time.perf_counter()
        assert db.scrub_freed(wait=False) is False
        assert time.perf_counter() - t0 < 5
        with db.engine.connect() as c:  # the pooled connection keeps its normal busy timeout
            assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert db.scrub_freed() is True
