"""``clipdex doctor``: all OK on a working setup; FAIL with a fix hint, in bounded time, when not."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from clipdex.cli import app
from clipdex.ops import doctor
from clipdex.ops.doctor import FAIL, OK, WARN, all_checks, run_checks
from tests.conftest import IN_CI, make_settings, migrated_sqlite_settings


def _only(*names: str):
    return [c for c in all_checks() if c[0] in names]


def _by_name(findings) -> dict:
    return {f.name: f for f in findings}


@pytest.mark.slow
def test_everything_ok_on_the_test_setup(tmp_path, s3_overrides, moto_s3):
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=[], **s3_overrides)
    findings = run_checks(settings)
    bad = [f for f in findings if f.status != OK]
    assert bad == [], bad
    got = _by_name(findings)
    assert {"database", "storage", "broker", "index", "ffmpeg", "ffprobe", "models.asr", "models.faces",
            "models.ocr", "models.tags", "models.sound_events", "models.speakers", "models.text_embeddings"} <= set(got)
    assert "s3://" in got["storage"].detail and "s3://" in got["index"].detail
    assert "not used" in got["broker"].detail
    prefix = s3_overrides["storage_url"].split("/", 3)[3]
    assert moto_s3.keys(prefix) == [] and moto_s3.keys(prefix + "-index") == []  # probes cleaned up


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wrong_storage_endpoint_fails_with_a_hint(tmp_path, s3_overrides):
    settings = make_settings(tmp_path, **(s3_overrides | {"s3_endpoint_url": f"http://127.0.0.1:{_closed_port()}"}))
    t0 = time.monotonic()
    (f,) = run_checks(settings, _only("storage"))
    assert f.status == FAIL and "CLIPDEX_S3_ENDPOINT_URL" in f.hint, f
    assert time.monotonic() - t0 < 20


def test_silent_endpoint_is_bounded_by_timeouts(tmp_path, s3_overrides):
    """A server that accepts connections and never answers: the read timeout, not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = make_settings(tmp_path, **(s3_overrides | {"s3_endpoint_url": endpoint}))
        t0 = time.monotonic()
        (f,) = run_checks(settings, _only("storage"))
        elapsed = time.monotonic() - t0
    assert f.status == FAIL and f.hint, f
    assert elapsed < 20, elapsed  # 3 s read timeout, one attempt; the 15 s deadline is the backstop


def test_missing_bucket_says_create_it(tmp_path, s3_overrides):
    settings = make_settings(tmp_path, **(s3_overrides | {"storage_url": f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}"}))
    (f,) = run_checks(settings, _only("storage"))
    assert f.status == FAIL and "create the bucket" in f.hint, f


def test_a_hanging_check_is_cut_off_at_its_deadline(tmp_path):
    def hang(_settings):
        time.sleep(30)

    t0 = time.monotonic()
    (f,) = run_checks(make_settings(tmp_path), [("hangs", hang, 0.5)])
    assert f.status == FAIL and "no answer within" in f.detail
    assert time.monotonic() - t0 < 5


def test_unmigrated_database_fails(tmp_path):
    (f,) = run_checks(make_settings(tmp_path), _only("database"))
    assert f.status == FAIL and "clipdex migrate" in f.hint


def test_missing_ffmpeg_fails(tmp_path):
    findings = run_checks(make_settings(tmp_path, ffmpeg_bin="no-such-ffmpeg"), _only("ffmpeg", "ffprobe"))
    got = _by_name(findings)
    assert got["ffmpeg"].status == FAIL and "CLIPDEX_FFMPEG_BIN" in got["ffmpeg"].hint
    assert got["ffprobe"].status == OK and "ffprobe version" in got["ffprobe"].detail


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis(socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def test_broker_checks_redis_and_workers(tmp_path):
    if not _redis_up():
        if IN_CI:
            pytest.fail("Redis at 127.0.0.1:6379 is required under CI")
        pytest.skip("Redis not reachable")
    (f,) = run_checks(make_settings(tmp_path, queue="celery", broker_url="redis://127.0.0.1:6379/15"), _only("broker"))
    assert f.status in (OK, WARN), f
    assert "messages in Redis:" in f.detail
    if f.status == WARN:  # no worker on this test database: say how to start one
        assert "clipdex worker" in f.hint
    bad = make_settings(tmp_path, queue="celery", broker_url=f"redis://127.0.0.1:{_closed_port()}/0")
    (f,) = run_checks(bad, _only("broker"))
    assert f.status == FAIL and "CLIPDEX_BROKER_URL" in f.hint


@pytest.mark.postgres
def test_postgres_app_role_is_checked(tmp_path, pg_database):
    (f,) = run_checks(make_settings(tmp_path, database_url=pg_database), _only("database"))
    assert f.status == OK and "subject to RLS" in f.detail, f
    role = f"clipdex_doctor_{uuid.uuid4().hex[:8]}"
    eng = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(f"CREATE ROLE {role} NOLOGIN BYPASSRLS"))
        settings = make_settings(tmp_path, database_url=pg_database, database_app_role=role)
        (f,) = run_checks(settings, _only("database"))
        assert f.status == FAIL and "NOBYPASSRLS" in f.hint, f
        (f,) = run_checks(make_settings(tmp_path, database_url=pg_database, database_app_role="no_such_role"),
                          _only("database"))
        assert f.status == FAIL and "does not exist" in f.detail
    finally:
        with eng.connect() as c:
            c.execute(text(f"DROP ROLE IF EXISTS {role}"))
        eng.dispose()


def _env(settings_kw: dict, tmp_path) -> dict:
    env = {"CLIPDEX_DATA_DIR": str(tmp_path / "data"), "CLIPDEX_ENV": "test"}
    env |= {f"CLIPDEX_{k.upper()}": str(v) for k, v in settings_kw.items()}
    return env


def test_cli_json_and_exit_codes(tmp_path, s3_overrides, monkeypatch):
    monkeypatch.setattr(doctor, "all_checks", lambda: _only("storage", "ffprobe"))
    runner = CliRunner()
    r = runner.invoke(app, ["doctor", "--json"], env=_env(s3_overrides, tmp_path))
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["ok"] is True and [c["name"] for c in out["checks"]] == ["storage", "ffprobe"]
    wrong = s3_overrides | {"s3_endpoint_url": f"http://127.0.0.1:{_closed_port()}"}
    r = runner.invoke(app, ["doctor"], env=_env(wrong, tmp_path))
    assert r.exit_code == 1
    assert "FAIL" in r.output and "fix:" in r.output
