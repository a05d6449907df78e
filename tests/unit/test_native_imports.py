"""First imports of the native stacks from many threads at once, in fresh processes (issue: doctor
failed about half the time with partially initialised numpy / OpenCV)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import importlib, sys, threading
    from clipdex import native
    from clipdex.ops import doctor  # what `clipdex doctor` imports before its threads start

    preloaded = native.preload()
    assert "numpy" in preloaded and "cv2" in preloaded, preloaded
    mods = list(native.NATIVE)
    errors = []
    gate = threading.Barrier(len(mods) * 3)

    def first_import(name):
        gate.wait()
        try:
            importlib.import_module(name)
        except BaseException as e:
            errors.append(f"{name}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=first_import, args=(m,)) for m in mods * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("errors", errors)
    sys.exit(1 if errors else 0)
""")


@pytest.mark.slow
def test_threads_importing_native_stacks_at_once_in_fresh_processes():
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_preload_is_idempotent_and_skips_missing_packages(monkeypatch):
    from clipdex import native

    monkeypatch.setattr(native, "NATIVE", ("numpy", "clipdex_no_such_module"))
    monkeypatch.setattr(native, "_done", set())
    assert native.preload() == ["numpy"]
    assert native.preload() == []
