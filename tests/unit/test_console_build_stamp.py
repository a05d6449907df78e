"""`make run` rebuilds the console only when its inputs changed (scripts/console-build.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "console-build.sh"


@pytest.fixture
def console(tmp_path):
    """A copy of the console's inputs, a stand-in CLI whose schema the test controls, and a build that
    counts its runs (the real build is vite; what is tested here is when it runs)."""
    dst = tmp_path / "console"
    for name in ("src", "public", "scripts"):
        shutil.copytree(ROOT / "console" / name, dst / name)
    for name in ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"):
        shutil.copy(ROOT / "console" / name, dst / name)
    cli = tmp_path / "clipdex"
    cli.write_text(f"#!{sys.executable}\nimport pathlib, sys\n"
                   f"sys.stdout.write(pathlib.Path({str(tmp_path / 'spec')!r}).read_text())\n")
    cli.chmod(0o755)
    (tmp_path / "spec").write_text('{"openapi": "3.1.0", "paths": {}}')
    (tmp_path / "py" / "clipdex").mkdir(parents=True)
    (tmp_path / "py" / "clipdex" / "app.py").write_text("ROUTES = []\n")
    return dst


def _build(console: Path) -> str:
    env = {**os.environ, "CONSOLE_DIR": str(console), "CLIPDEX_BIN": str(console.parent / "clipdex"),
           "PYTHON_SRC": str(console.parent / "py"),
           "CONSOLE_BUILD": "mkdir -p dist && echo '<!doctype html>' > dist/index.html "
                            "&& echo built >> ../builds && echo 'export {}' > src/api/schema.d.ts"}
    r = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _builds(console: Path) -> int:
    f = console.parent / "builds"
    return len(f.read_text().split()) if f.exists() else 0


def test_unchanged_console_is_not_rebuilt(console):
    _build(console)
    assert _builds(console) == 1
    assert "up to date" in _build(console) and _builds(console) == 1  # generated schema.d.ts is not an input
    (console / "src" / "App.tsx").write_text((console / "src" / "App.tsx").read_text() + "\n// changed\n")
    _build(console)
    assert _builds(console) == 2
    # a Python change that leaves the API schema as it was: the schema is checked, nothing is built
    (console.parent / "py" / "clipdex" / "app.py").write_text("ROUTES = []  # refactored\n")
    assert "API schema unchanged" in _build(console) and _builds(console) == 2
    assert "up to date (sources" in _build(console)  # and next time not even the schema is printed
    # a Python change that changes the API: rebuilt
    (console.parent / "py" / "clipdex" / "app.py").write_text("ROUTES = ['/new']\n")
    (console.parent / "spec").write_text('{"openapi": "3.1.0", "paths": {"/new": {}}}')
    _build(console)
    assert _builds(console) == 3
    _build(console)
    assert _builds(console) == 3
    shutil.rmtree(console / "dist")  # a deleted build is rebuilt
    _build(console)
    assert _builds(console) == 4
