"""Process-wide model runtime: the model cache, the per-stage thread budget and the device.

**Cache.** Analyzers call ``models.get(key, loader)``; the key names the model and its options (for
example ``("whisper", path, "int8")``) so a changed setting loads a new model instead of reusing the
old one. Each model loads once per process, thread-safely. Models that are not thread-safe are
handed out per running stage with ``models.lease(key, loader)``: an idle instance is reused, a new
one is loaded only when every existing one is in use, so a warm-up thread's instance serves the
first stage that asks.

**Thread budget.** A worker process runs ``slots`` stages at once on ``cpu_count`` cores. Every
runtime left to itself starts one thread per core (ONNX Runtime, OpenCV, PyTorch, CTranslate2), so
two stages on two cores ran four compute threads that spin-wait for each other: measured here,
faster-whisper tiny.en took the same wall time with one thread as with two and 28 % less CPU.
``configure(settings, slots)`` gives each stage ``cores // slots`` threads (``compute_threads``
overrides), and every model built after it uses ``compute_threads()``.

**Device.** ``CLIPDEX_DEVICE=cuda`` puts ONNX Runtime sessions on the CUDA provider where the
installed onnxruntime has it (CPU otherwise, logged once); faster-whisper follows ``asr_device``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any

log = logging.getLogger("clipdex.runtime")


class ModelCache:
    def __init__(self) -> None:
        self._models: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._idle: dict[Hashable, list[Any]] = {}
        self._made: dict[Hashable, int] = {}
        self._warming: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        if key in self._models:
            return self._models[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one loader per key; other keys load in parallel
            if key not in self._models:
                self._models[key] = loader()
            return self._models[key]

    def acquire(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """An instance of a model that is not thread-safe, for one user until ``release``: an idle one
        (loaded by the warm-up or left by an earlier stage) or a newly loaded one."""
        while True:
            with self._guard:
                pool = self._idle.setdefault(key, [])
                inst = pool.pop() if pool else None
                warming = self._warming.get(key)
            if inst is not None or warming is None:
                break
            warming.wait(timeout=300)  # the warm-up is loading one right now: take that one
        if inst is None:
            inst = loader()
            with self._guard:
                self._made[key] = self._made.get(key, 0) + 1
        return inst

    def release(self, key: Hashable, inst: Any) -> None:
        with self._guard:
            self._idle.setdefault(key, []).append(inst)

    @contextlib.contextmanager
    def lease(self, key: Hashable, loader: Callable[[], Any]) -> Iterator[Any]:
        inst = self.acquire(key, loader)
        try:
            yield inst
        finally:
            self.release(key, inst)

    def warm(self, key: Hashable, loader: Callable[[], Any]) -> None:
        """Load one instance of a leased model ahead of its first use (no-op once one exists)."""
        with self._guard:
            if self._made.get(key) or key in self._warming:
                return
            done = self._warming[key] = threading.Event()  # acquire() waits for this one
        try:
            inst = loader()
            with self._guard:
                self._made[key] = self._made.get(key, 0) + 1
                self._idle.setdefault(key, []).append(inst)
        finally:
            with self._guard:
                self._warming.pop(key, None)
            done.set()

    def instances(self, key: Hashable) -> int:
        with self._guard:
            return self._made.get(key, 0)

    def clear(self) -> None:
        with self._guard:
            self._models.clear()
            self._locks.clear()
            self._idle.clear()
            self._made.clear()


models = ModelCache()

_budget: dict[str, Any] = {"threads": 0, "device": "cpu"}


def cores() -> int:
    """Cores this process may run on (the affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def budget_for(compute_threads: int, slots: int) -> int:
    return compute_threads if compute_threads > 0 else max(1, cores() // max(1, slots))


def configure(settings, slots: int) -> int:
    """Set the per-stage thread budget of this process for ``slots`` concurrent stages; returns it.

    OpenCV's and PyTorch's pools are process-wide, so they get the budget here; ONNX Runtime
    sessions and CTranslate2 models read ``compute_threads()`` when they are built.
    """
    threads = budget_for(int(getattr(settings, "compute_threads", 0) or 0), slots)
    _budget["threads"] = threads
    _budget["device"] = str(getattr(settings, "device", "cpu") or "cpu")
    import cv2

    cv2.setNumThreads(threads)
    _torch_threads(threads)
    _limit_malloc_arenas(cores())
    log.info("compute budget: %d thread(s) per stage, %d slot(s), %d core(s), device %s", threads, slots, cores(),
             _budget["device"])
    return threads


def _limit_malloc_arenas(n: int) -> None:
    """At most ``n`` glibc malloc arenas for the threads started from now on (default: 8 per core).

    Every thread that allocates gets an arena of its own and keeps what it freed; with the decode
    reader, the analyzers' lanes and the stage threads, a worker measured 80 MB more at peak on a
    10-minute video than with two arenas. Ignored where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, max(2, n))  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def trim() -> None:
    """Hand the memory freed inside malloc's arenas back to the system (glibc ``malloc_trim``).

    A stage frees its big buffers (the decoded audio of a film, frames, model-loading scratch) when
    it ends, but glibc keeps freed blocks inside each thread's arena: the RSS of a long-lived worker
    then shows its worst stage forever. Called after every stage and after the warm-up (a few ms)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _torch_threads(threads: int) -> None:
    import sys

    torch = sys.modules.get("torch")  # never import torch (2 s, 200 MB) only to set its threads
    if torch is not None:
        torch.set_num_threads(threads)


def compute_threads() -> int:
    """Threads a model may use in one running stage (all cores when no worker configured a budget)."""
    return _budget["threads"] or cores()


def torch_ready() -> None:
    """Apply the budget to PyTorch once it is imported (loaders call this after ``import torch``)."""
    if _budget["threads"]:
        _torch_threads(_budget["threads"])


def device() -> str:
    return _budget["device"]


_warned: set[str] = set()


def ort_providers() -> list[str]:
    """ONNX Runtime execution providers for the configured device, CPU always last."""
    if device() != "cuda":
        return ["CPUExecutionProvider"]
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if "cuda" not in _warned:
        _warned.add("cuda")
        log.warning("device cuda asked for, but this onnxruntime has no CUDA provider: running on the CPU")
    return ["CPUExecutionProvider"]


def ort_options():
    """Session options within the budget: ``compute_threads()`` intra-op threads, one inter-op thread,
    and no spin-waiting when other stages share the cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    threads = compute_threads()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads < cores():
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return opts
