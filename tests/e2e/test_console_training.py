"""The console's Models page end to end: a real `clipdex serve` (one `train` slot), transcripts seeded where
the pipeline writes them, a tiny T5 base built here, Playwright in the system Chromium.

The spec is console/e2e/training.spec.ts; screenshots land in console/test-results/screenshots/training-*.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_console import browser_ready, _free_port, run_playwright, serving
from tests.training.support import TALKS, all_text, tiny_t5

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

SEED = """
import sys, uuid
from clipdex.platform import Platform
from clipdex.settings import Settings
from clipdex.models import Tenant
from clipdex.tenancy.system import SystemReason
from sqlalchemy import select
from tests.training.support import TALKS, seed_talks
p = Platform.from_settings(Settings())
with p.db.system(reason=SystemReason.OPERATOR) as s:
    tid = s.scalar(select(Tenant.id).where(Tenant.slug == "acme"))
seed_talks(p, tid, TALKS[:4])
"""


def _cli(env: dict, *args: str) -> None:
    r = subprocess.run([str(BIN / "clipdex"), *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_ready()
    tmp = tmp_path_factory.mktemp("training-e2e")
    base = tiny_t5(tmp / "tiny-t5", all_text(TALKS))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(tmp / "data"), "CLIPDEX_SECRET_KEY": "e2e-secret-" * 4,
           "CLIPDEX_PUBLIC_URL": url, "CLIPDEX_ENV": "test", "CLIPDEX_WORKER_THREADS": "1",
           "CLIPDEX_LOG_LEVEL": "WARNING", "CLIPDEX_TRAINING_SAVE_STEPS": "6",
           "CLIPDEX_TRAINING_BASE_MODELS": json.dumps({"tiny-t5": str(base)}), "PYTHONPATH": str(ROOT)}
    env.pop("CLIPDEX_DATABASE_URL", None)
    env.pop("CLIPDEX_STORAGE_URL", None)
    _cli(env, "migrate")
    _cli(env, "admin", "create-tenant", "Acme Media", "--slug", "acme", "--tier", "pro", "--owner",
         "alice@acme.test", "--password", "alice-e2e-pass")
    r = subprocess.run([sys.executable, "-c", SEED], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    with serving(env, url, tmp / "serve.log"):
        yield {"url": url, "chromium": chromium, "log": tmp / "serve.log"}


def test_console_training(server):
    shots = CONSOLE / "test-results" / "screenshots"
    for old in shots.glob("training-*.png"):
        old.unlink()
    env = {**os.environ, "CLIPDEX_E2E_URL": server["url"], "CHROMIUM_PATH": server["chromium"], "E2E_TRAINING": "1",
           "E2E_USER_A": "alice@acme.test", "E2E_PASS_A": "alice-e2e-pass",
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": os.environ.get("CI", "")}
    run_playwright("e2e/training.spec.ts", env, server["log"])
    for name in ("training-dataset", "training-progress", "training-models", "training-glossary"):
        assert (shots / f"{name}.png").is_file(), f"no screenshot {name}"
