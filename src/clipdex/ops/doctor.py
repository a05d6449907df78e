"""``clipdex doctor``: database, storage, broker, index, FFmpeg and models, each OK, WARN or FAIL.

Every check runs in its own daemon thread with a deadline, so an unreachable endpoint costs its
timeout and never hangs the command. Network clients also get short timeouts of their own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
import uuid

from clipdex.ops.findings import FAIL, OK, WARN, CheckFn, Finding, Problem, healthy
from clipdex.settings import Settings

NET_TIMEOUT_S = 3.0  # connect/read timeout of each network call a check makes
__all__ = ["FAIL", "OK", "WARN", "Finding", "Problem", "all_checks", "healthy", "run_checks"]


def redact(url: str) -> str:
    """A URL without its password, for output."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)


# --- database ---------------------------------------------------------------------------------

def check_database(settings: Settings) -> str:
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text

    from clipdex.db.migrate import alembic_config

    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:" and not __import__("os").path.exists(path):
            raise Problem(f"SQLite file {path} does not exist", "run `clipdex migrate` (or set CLIPDEX_DATABASE_URL)")
        engine = create_engine(url)
    else:
        engine = create_engine(url, connect_args={"connect_timeout": int(NET_TIMEOUT_S)})
    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    try:
        with engine.connect() as c:
            current = c.execute(text("SELECT version_num FROM alembic_version")).scalar() if _has_version(c) else None
            if current is None:
                raise Problem("the database has no clipdex schema", "run `clipdex migrate`")
            if current not in heads:
                raise Problem(f"schema at revision {current}, code expects {', '.join(heads)}",
                              "run `clipdex migrate` (after a backup) before starting the new version")
            extra = _check_app_role(c, settings.database_app_role) if engine.dialect.name == "postgresql" else ""
    except Problem:
        raise
    except Exception as e:  # noqa: BLE001
        raise Problem(f"cannot connect to {redact(url)}: {type(e).__name__}: {_first_line(e)}",
                      "check CLIPDEX_DATABASE_URL, that the server runs and accepts this user") from None
    finally:
        engine.dispose()
    return f"{engine.dialect.name} at {redact(url)}, schema at head {current}{extra}"


def _has_version(c) -> bool:
    from sqlalchemy import inspect

    return inspect(c).has_table("alembic_version")


def _check_app_role(c, role: str) -> str:
    from sqlalchemy import text

    row = c.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if row is None:
        raise Problem(f"the application role {role!r} does not exist",
                      "run `clipdex migrate` (it creates the role) or set CLIPDEX_DATABASE_APP_ROLE")
    if row.rolsuper or row.rolbypassrls:
        raise Problem(f"role {role!r} bypasses row-level security (superuser or BYPASSRLS)",
                      f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS")
    member = c.execute(text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": role}).scalar()
    if not member:
        raise Problem(f"the connecting user cannot SET ROLE {role}", f"GRANT {role} TO <the user in the URL>")
    return f"; app role {role} is subject to RLS"


# --- storage ----------------------------------------------------------------------------------

def check_storage(settings: Settings) -> str:
    from clipdex.storage import keys

    url = settings.resolved_storage_url
    store = _probe_store(url, settings)
    key = keys.system_probe(f"doctor-{uuid.uuid4().hex[:12]}")
    payload = uuid.uuid4().bytes * 8
    try:
        store.put_bytes(key, payload)
        with store.open(key) as f:
            if f.read() != payload:
                raise Problem("the probe object read back different bytes", "check the storage backend's health")
        store.delete(key)
        if store.exists(key):
            raise Problem("the probe object is still there after delete", "check delete permissions on the bucket")
    except Problem:
        raise
    except Exception as e:  # noqa: BLE001
        raise Problem(f"{url}: {type(e).__name__}: {_first_line(e)}", _storage_hint(e, settings)) from None
    where = f" via {settings.s3_endpoint_url}" if url.startswith("s3://") and settings.s3_endpoint_url else ""
    return f"{url}{where}: write, read and delete of {len(payload)} bytes under system/ work"


def _probe_store(url: str, settings: Settings):
    if url.startswith("s3://"):
        from clipdex.storage.s3 import S3BlobStore

        return S3BlobStore.from_settings(url, settings, connect_timeout=NET_TIMEOUT_S, read_timeout=NET_TIMEOUT_S,
                                         attempts=1)
    from clipdex.storage import open_store

    return open_store(url, settings)


def _storage_hint(e: Exception, settings: Settings) -> str:
    name, text_ = type(e).__name__, str(e)
    if "EndpointConnectionError" in name or "ConnectTimeout" in name:
        where = settings.s3_endpoint_url or "AWS S3"
        return f"cannot reach {where}: check CLIPDEX_S3_ENDPOINT_URL and that the store runs"
    if "ReadTimeout" in name:
        return f"{settings.s3_endpoint_url} accepted the connection but did not answer: is it an S3 endpoint?"
    if "NoSuchBucket" in text_:
        return "create the bucket named in CLIPDEX_STORAGE_URL (e.g. `mc mb` or `aws s3 mb`)"
    if any(s in text_ for s in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden")):
        return "check CLIPDEX_S3_ACCESS_KEY_ID / CLIPDEX_S3_SECRET_ACCESS_KEY and the bucket policy"
    if isinstance(e, PermissionError):
        return "make the data folder writable by this user (CLIPDEX_DATA_DIR)"
    return "check CLIPDEX_STORAGE_URL and the CLIPDEX_S3_* settings"


# --- broker -----------------------------------------------------------------------------------

def check_broker(settings: Settings) -> str:
    if settings.queue != "celery":
        return f"not used (queue={settings.queue}: workers poll the database)"
    import redis

    url = settings.broker_url
    try:
        r = redis.Redis.from_url(url, socket_connect_timeout=NET_TIMEOUT_S, socket_timeout=NET_TIMEOUT_S)
        r.ping()
        depth = {q: r.llen(q) for q in ("cpu", "gpu", "train")}
    except Exception as e:  # noqa: BLE001
        raise Problem(f"Redis at {redact(url)}: {type(e).__name__}: {_first_line(e)}",
                      "check CLIPDEX_BROKER_URL and that Redis runs") from None
    workers = _celery_workers(url)
    queued = ", ".join(f"{q} {n}" for q, n in depth.items())  # in flight, not the backlog (the DB holds that)
    if not workers:
        raise Problem(f"Redis answers; no Celery worker answered a ping (messages in Redis: {queued})",
                      "start workers: `clipdex worker --queues cpu` (and `--queues gpu` on GPU nodes)", WARN)
    return f"Redis at {redact(url)}; {len(workers)} worker(s) answered; messages in Redis: {queued}"


def _celery_workers(url: str) -> list[str]:
    from celery import Celery

    app = Celery("clipdex-doctor", broker=url, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = False
    app.conf.broker_connection_timeout = NET_TIMEOUT_S
    try:
        return [name for reply in app.control.ping(timeout=1.0) or [] for name in reply]
    finally:
        app.close()


# --- search index -----------------------------------------------------------------------------

def check_index(settings: Settings) -> str:
    import lancedb
    import pyarrow as pa

    uri = settings.resolved_index_uri
    opts = {}
    if uri.startswith("s3://"):
        from clipdex.storage.s3 import lance_storage_options

        opts = lance_storage_options(settings) | {"connect_timeout": f"{NET_TIMEOUT_S:.0f}s",
                                                   "timeout": f"{3 * NET_TIMEOUT_S:.0f}s"}
    name = f"clipdex_doctor_probe_{uuid.uuid4().hex[:12]}"
    try:
        db = lancedb.connect(uri, storage_options=opts or None)
        table = db.create_table(name, pa.table({"x": [1, 2, 3]}))
        rows = table.count_rows()
        db.drop_table(name)
    except Exception as e:  # noqa: BLE001
        raise Problem(f"LanceDB at {uri}: {type(e).__name__}: {_first_line(e)}",
                      "check CLIPDEX_INDEX_URI (a writable folder or s3://bucket/prefix with the CLIPDEX_S3_* "
                      "settings)") from None
    if rows != 3:
        raise Problem(f"LanceDB at {uri} wrote 3 rows and counted {rows}", "check the index storage's consistency")
    return f"LanceDB {lancedb.__version__} at {uri}: create, count and drop a table work"


# --- FFmpeg -----------------------------------------------------------------------------------

def _tool(binary: str, setting: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise Problem(f"{binary} not found", f"install FFmpeg (apt-get install ffmpeg) or set {setting}")
    try:
        out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=2 * NET_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Problem(f"{path} -version did not finish", f"check the binary at {path}") from None
    if out.returncode != 0:
        raise Problem(f"{path} -version failed ({out.returncode})", f"reinstall FFmpeg or fix {setting}")
    return f"{path}: {out.stdout.splitlines()[0] if out.stdout else 'unknown version'}"


def check_ffmpeg(settings: Settings) -> str:
    return _tool(settings.ffmpeg_bin, "CLIPDEX_FFMPEG_BIN")


def check_ffprobe(settings: Settings) -> str:
    return _tool(settings.ffprobe_bin, "CLIPDEX_FFPROBE_BIN")


def check_media_sandbox(settings: Settings) -> str:
    from clipdex.media import sandbox

    if settings.media_sandbox == "off":
        raise Problem("the media sandbox is switched off (CLIPDEX_MEDIA_SANDBOX=off)",
                      "set CLIPDEX_MEDIA_SANDBOX=auto or required", WARN)
    if sandbox.abi_version() < 1:
        status = FAIL if settings.media_sandbox == "required" else WARN
        raise Problem(sandbox.status(), "run on Linux 5.13+ with Landlock enabled (lsm=landlock)", status)
    return sandbox.status()


# --- running ----------------------------------------------------------------------------------

def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [""])[0][:300]


def all_checks() -> list[tuple[str, CheckFn, float]]:
    """(name, check, timeout in seconds), in the order they are reported."""
    from clipdex.ops import models

    base = [("database", check_database, 15.0), ("storage", check_storage, 15.0), ("broker", check_broker, 10.0),
            ("index", check_index, 20.0), ("ffmpeg", check_ffmpeg, 10.0), ("ffprobe", check_ffprobe, 10.0),
            ("media sandbox", check_media_sandbox, 5.0)]
    return base + [(name, fn, 60.0) for name, fn in models.CHECKS]


def run_checks(settings: Settings, checks: list[tuple[str, CheckFn, float]] | None = None,
               *, timeout_scale: float = 1.0) -> list[Finding]:
    """Run the checks in parallel; each finishes, fails, or is reported FAIL at its deadline."""
    from clipdex import native

    checks = checks if checks is not None else all_checks()
    native.preload()  # the checks run in threads; C extensions must not be first imported by two at once
    results: dict[str, Finding] = {}
    threads = []
    for name, fn, _ in checks:
        t = threading.Thread(target=_run_one, args=(name, fn, settings, results), daemon=True, name=f"doctor-{name}")
        t.start()
        threads.append(t)
    start = time.monotonic()
    for (name, _, timeout), t in zip(checks, threads, strict=True):
        t.join(max(0.0, start + timeout * timeout_scale - time.monotonic()))
        if t.is_alive() or name not in results:
            results[name] = Finding(name, FAIL, f"no answer within {timeout * timeout_scale:.0f} s",
                                    "the service is unreachable or hanging; see the settings this check uses",
                                    round(time.monotonic() - start, 2))
    return [results[name] for name, _, _ in checks]


def _run_one(name: str, fn: CheckFn, settings: Settings, results: dict[str, Finding]) -> None:
    t0 = time.monotonic()
    try:
        finding = Finding(name, OK, fn(settings))
    except Problem as p:
        finding = Finding(name, p.status, p.detail, p.hint)
    except Exception as e:  # noqa: BLE001  (a check's own bug must still produce a line)
        finding = Finding(name, FAIL, f"{type(e).__name__}: {_first_line(e)}", "unexpected error; see the detail")
    finding.elapsed_s = round(time.monotonic() - t0, 2)
    results.setdefault(name, finding)
