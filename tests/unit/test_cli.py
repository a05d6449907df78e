"""The clipdex command line, run as a user would (real processes, a temp data folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODEL_STAGES
from tests.media import make_video

CLI = str(Path(sys.executable).parent / "clipdex")


def run(args, data_dir, check=True, models=False):
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(data_dir), "CLIPDEX_SECRET_KEY": "c" * 40}
    if not models:  # the admin/process plumbing does not need the model stages; the demo test runs them all
        env["CLIPDEX_DISABLED_STAGES"] = ",".join(MODEL_STAGES)
    env.pop("CLIPDEX_DATABASE_URL", None)
    r = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.mark.slow
def test_cli_admin_and_process(tmp_path):
    data = tmp_path / "data"
    assert "serve" in run(["--help"], data).stdout
    assert "database at revision 0" in run(["migrate"], data).stdout  # whatever the newest migration is
    out = run(["admin", "create-tenant", "Acme Media", "--tier", "pro", "--owner", "boss@acme.example"], data).stdout
    assert "tenant acme-media" in out and "owner password (shown once)" in out
    dup = run(["admin", "create-tenant", "Acme Media", "--owner", "x@acme.example"], data, check=False)
    assert dup.returncode == 1 and "exists" in dup.stdout
    run(["admin", "create-user", "ops@platform.example", "--operator", "--password", "operator-pass-123"], data)
    assert "now on tier enterprise" in run(["admin", "set-tier", "acme-media", "enterprise"], data).stdout
    assert "enterprise" in run(["admin", "list-tenants"], data).stdout
    clip = make_video(tmp_path / "talk.mp4", seconds=2)
    assert ": ready" in run(["process", str(clip), "--tenant", "acme-media"], data).stdout
    assert "already uploaded" in run(["process", str(clip), "--tenant", "acme-media"], data).stdout
    spec = json.loads(run(["openapi"], data).stdout)
    assert spec["info"]["title"] == "clipdex" and "/api/v1/videos" in spec["paths"]


@pytest.mark.slow
def test_demo_is_idempotent(tmp_path):
    data = tmp_path / "data"
    first = run(["demo"], data, models=True).stdout
    assert "password:" in first and ": ready" in first
    second = run(["demo"], data, models=True).stdout
    # the sign-in is shown again, as the last thing before "serving" (issue 17: it was lost in build output)
    assert "already uploaded" in second and second.strip().splitlines()[-1] == first.strip().splitlines()[-1]
    assert "password:" in second.strip().splitlines()[-1]
