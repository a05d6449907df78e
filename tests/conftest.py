"""Shared fixtures: a real database (SQLite file or PostgreSQL), real storage, the real app.

The ``platform`` fixture is parametrised over backends: ``sqlite`` always, ``postgres`` against the
server at 127.0.0.1:5432 (user postgres, database test). Under CI (CI=true) a missing PostgreSQL
fails the run loudly; elsewhere those cases are skipped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from clipdex.app import create_app
from clipdex.db import migrate
from clipdex.jobs.worker import Worker
from clipdex.pipeline import registry
from clipdex.platform import Platform
from clipdex.settings import Settings
from clipdex.tenancy import service as tenants
from clipdex.tenancy.system import SystemReason

PG_ADMIN_URL = os.environ.get("CLIPDEX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery staple"
# Worker pools and `clipdex worker` processes started by tests (they inherit this) do not preload every
# model in the background: most tests run a few stages, and dozens of worker processes each loading
# all models cost minutes of CPU. tests/pipeline/test_compute_budget.py tests the warm-up itself.
os.environ.setdefault("CLIPDEX_WORKER_WARMUP", "false")

registry.discover()


@pytest.fixture(autouse=True)
def _log_guard(request):
    """Fail the test whose server-side logs carry a token, an API key, a signed URL or the password
    (tests/log_guard.py). A test that must log one on purpose is marked ``allow_secret_logs``."""
    from tests.log_guard import LogGuard

    with LogGuard(PASSWORD) as guard:
        yield guard
    if guard.leaks and not request.node.get_closest_marker("allow_secret_logs"):
        pytest.fail("secrets in the server's logs:\n" + "\n".join(guard.leaks[:5]), pytrace=False)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Still argon2id, with test-sized cost parameters (the production profile costs ~0.2 s of CPU
    per hash on this machine and the suite hashes hundreds of passwords)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("clipdex.auth.passwords._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return None
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


def require_postgres() -> None:
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required under CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")


@contextlib.contextmanager
def scratch_database(prefix: str):
    """The URL of a new, empty PostgreSQL database, dropped afterwards (its connections ended first)."""
    require_postgres()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this test session, migrated; dropped at the end."""
    with scratch_database("clipdex_test") as url:
        migrate.upgrade(url)
        yield url


def truncate_all(url: str) -> None:
    from clipdex.models import Base

    eng = create_engine(url)
    with eng.begin() as c:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        c.execute(text(f"TRUNCATE {names} CASCADE"))
    eng.dispose()


# Stages most tests leave out: the model stages (slow to load) and the search index (it only has
# something to index when they run). Tests of those capabilities enable them explicitly.
MODEL_STAGES = ["transcribe", "diarize", "sound_events", "visual", "index", "compliance"]


def make_settings(tmp_path, **overrides) -> Settings:
    base = dict(data_dir=tmp_path / "data", env="test", worker_threads=0, secret_key="t" * 40, lease_s=5.0,
                poll_interval_s=0.05, retry_base_s=0.05, ffprobe_timeout_s=20, disabled_stages=list(MODEL_STAGES))
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


@pytest.fixture
def platform(request, backend, tmp_path):
    if backend == "postgres":
        url = request.getfixturevalue("pg_database")
        truncate_all(url)
        settings = make_settings(tmp_path, database_url=url)
    else:
        settings = migrated_sqlite_settings(tmp_path)
    p = Platform.from_settings(settings)
    yield p
    p.close()


def migrated_sqlite_settings(tmp_path, **overrides) -> Settings:
    """Test settings on a fresh, migrated SQLite database under ``tmp_path``."""
    settings = make_settings(tmp_path, **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    return settings


@contextlib.contextmanager
def open_platform(settings: Settings):
    """A platform for ``settings``, closed afterwards (for fixtures with their own settings)."""
    p = Platform.from_settings(settings)
    try:
        yield p
    finally:
        p.close()


@contextlib.contextmanager
def api_client(platform: Platform):
    """A TestClient of the app on ``platform`` without embedded workers (tests drain explicitly)."""
    with TestClient(create_app(platform=platform, embedded_workers=0)) as c:
        yield c


@pytest.fixture
def sqlite_platform(tmp_path):
    """SQLite only, for tests that exercise behaviour independent of the database."""
    with open_platform(migrated_sqlite_settings(tmp_path)) as p:
        yield p


@pytest.fixture
def client(platform):
    with api_client(platform) as c:
        yield c


@pytest.fixture
def sq(sqlite_platform):
    """(platform, client) on SQLite, for behaviour that does not depend on the database."""
    with api_client(sqlite_platform) as c:
        yield sqlite_platform, c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class TenantCtx:
    id: uuid.UUID
    slug: str
    email: str
    token: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def login(client: TestClient, email: str, password: str = PASSWORD, tenant: str | None = None) -> dict:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": password, "tenant": tenant})
    assert r.status_code == 200, r.text
    return r.json()


def add_user(platform: Platform, tenant_id: uuid.UUID, email: str, role: str, password: str = PASSWORD) -> None:
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        user, _ = tenants.get_or_create_user(s, email, password)
        tenants.add_member(s, tenant_id, user.id, role)


def new_tenant(platform: Platform, client: TestClient, name: str, tier: str = "pro", role: str = "owner") -> TenantCtx:
    slug = f"{name.lower()}-{uuid.uuid4().hex[:6]}"
    t = tenants.create_tenant(platform, name, tier, slug=slug)
    email = f"{role}@{slug}.example.com"
    add_user(platform, t.id, email, role)
    tok = login(client, email, tenant=slug)
    return TenantCtx(t.id, slug, email, tok["access_token"], tok["refresh_token"])


@pytest.fixture
def tenant_a(platform, client) -> TenantCtx:
    return new_tenant(platform, client, "Alpha")


@pytest.fixture
def tenant_b(platform, client) -> TenantCtx:
    return new_tenant(platform, client, "Bravo")


def upload(client: TestClient, ctx: TenantCtx, path, **fields):
    with open(path, "rb") as f:
        return client.post("/api/v1/videos", headers=ctx.headers, files={"file": (path.name, f, "video/mp4")},
                           data=fields)


def drain(platform: Platform) -> int:
    """Run every claimable stage in this process."""
    return Worker(platform, name="test").drain()


# `make test` runs the suite on two pytest-xdist workers with --dist loadgroup. Each test module runs
# on one worker (its module-scoped fixtures, often a processed video or a server, are built once), and
# modules that share something outside their tmp_path run on one worker, one after another: the
# browser tests share console/dist and Playwright's console/test-results folder; the Celery tests
# spawn worker fleets whose timing assumptions hold only when two fleets do not compete for the cores.
_SERIAL_GROUPS = {"test_celery_pipeline.py": "celery", "test_chaos_celery.py": "celery",
                  "test_rls_celery.py": "celery", "test_celery_dispatch.py": "celery"}


def pytest_collection_modifyitems(config, items):
    slow_modules: set = set()
    groups = {}
    for item in items:
        group = _SERIAL_GROUPS.get(item.path.name) or ("browser" if "e2e" in item.path.parts else None)
        groups[item] = group
        item.add_marker(pytest.mark.xdist_group(group or str(item.path)))
        if item.get_closest_marker("slow"):
            slow_modules.add(item.path)
    # Longest first: loadgroup hands each worker the next group in collection order, so a long group
    # (the browser tests run one after another, minutes in all; a slow module) collected last kept one
    # worker busy while the other sat idle at the end. Serial groups, then modules with slow tests, then
    # the rest; the sort is stable, so every module stays whole and in its own order.
    items.sort(key=lambda it: 0 if groups[it] else 1 if it.path in slow_modules else 2)
