"""The worker's thread budget and model cache: what ingest throughput (issue 16) relies on.

Each running stage gets ``cores // slots`` compute threads (two stages on two cores no longer run
four spinning threads), the budget reaches every runtime that builds threads, and models that are
not thread-safe are leased: a warm-up's instance serves the first stage, none loads twice.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clipdex.analyzers import runtime
from clipdex.settings import Settings


@pytest.fixture
def budget():
    saved = dict(runtime._budget)
    yield
    runtime._budget.clear()
    runtime._budget.update(saved)


def test_budget_divides_the_cores_among_the_slots(budget, monkeypatch):
    monkeypatch.setattr(runtime, "cores", lambda: 8)
    assert runtime.budget_for(0, 2) == 4
    assert runtime.budget_for(0, 3) == 2
    assert runtime.budget_for(0, 16) == 1  # never zero
    assert runtime.budget_for(3, 2) == 3  # compute_threads overrides


def test_configure_reaches_opencv_onnxruntime_and_whisper(budget, tmp_path, monkeypatch):
    import cv2

    from clipdex.speech.asr_models import AsrOptions

    monkeypatch.setattr(runtime, "cores", lambda: 4)
    before = cv2.getNumThreads()
    try:
        assert runtime.configure(Settings(data_dir=tmp_path, compute_threads=0), slots=2) == 2
        assert cv2.getNumThreads() == 2
        opts = runtime.ort_options()
        assert opts.intra_op_num_threads == 2 and opts.inter_op_num_threads == 1
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"  # others share the cores
        assert AsrOptions().cpu_threads == 2  # CTranslate2 follows the budget...
        assert AsrOptions(threads=3).cpu_threads == 3  # ...unless ASR_THREADS says otherwise
    finally:
        cv2.setNumThreads(before)


def test_unconfigured_processes_keep_every_core(budget):
    runtime._budget.update(threads=0, device="cpu")
    assert runtime.compute_threads() == runtime.cores()
    assert runtime.ort_providers() == ["CPUExecutionProvider"]


def test_cuda_without_a_cuda_provider_falls_back_to_the_cpu(budget, tmp_path, caplog):
    import onnxruntime as ort

    runtime.configure(Settings(data_dir=tmp_path, device="cuda"), slots=1)
    providers = runtime.ort_providers()
    assert providers[-1] == "CPUExecutionProvider"
    assert ("CUDAExecutionProvider" in providers) == ("CUDAExecutionProvider" in ort.get_available_providers())


def test_a_warm_instance_serves_the_first_user_and_none_loads_twice():
    cache = runtime.ModelCache()
    loads = []
    release = threading.Event()

    def slow_loader():
        loads.append(threading.get_ident())
        release.wait(5)
        return object()

    warm = threading.Thread(target=cache.warm, args=("m", slow_loader))
    warm.start()
    while not loads:
        time.sleep(0.01)
    got = []
    user = threading.Thread(target=lambda: got.append(cache.acquire("m", slow_loader)))
    user.start()
    time.sleep(0.2)
    assert len(loads) == 1  # the user waits for the warm-up's load instead of starting its own
    release.set()
    warm.join(5), user.join(5)
    assert len(loads) == 1 and got and cache.instances("m") == 1
    second = cache.acquire("m", lambda: "another")  # the first is still out: a second one is made
    assert second == "another" and cache.instances("m") == 2
    cache.release("m", got[0])
    assert cache.acquire("m", lambda: "third") is got[0]  # returned instances are reused


def test_worker_start_sets_the_budget_and_warms_the_enabled_models(tmp_path):
    # in a fresh process: the budget is process-wide state
    code = """
import sys, time, cv2
from pathlib import Path
from clipdex.analyzers import runtime
from clipdex.analyzers.runtime import models
from clipdex.jobs import warmup
from clipdex.pipeline import registry
from clipdex.settings import Settings
registry.discover()
st = Settings(data_dir=Path(sys.argv[1]), compute_threads=1, worker_warmup=True,
              disabled_stages=["transcribe", "diarize", "visual", "compliance", "index"])
t = warmup.start(st, slots=2)
t.join(120)
assert runtime.compute_threads() == 1 and cv2.getNumThreads() == 1
keys = [k[0] for k in models._models]
assert keys == ["yamnet"], keys  # only the enabled stages' models: sound events here
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=180,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]
