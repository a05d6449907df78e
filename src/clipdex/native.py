"""Import the native (C-extension) stacks once, on one thread, before a process starts threads.

Two threads importing numpy, OpenCV or ONNX Runtime for the first time at the same moment can end
in ``ImportError: cannot import name '__cpu_features__' from partially initialized module``,
``_DeadlockError`` in ``import cv2`` or ``cannot load module more than once per process``: their
initialisation is not safe to run concurrently. ``clipdex doctor`` runs its checks in threads and
the embedded worker and the API's thread pool load models in threads, so each calls ``preload()``
first; afterwards every import of these modules is a dictionary lookup.
"""

from __future__ import annotations

import importlib
import threading

# Native stacks the stages and checks use, in dependency order (numpy first: the others import it).
NATIVE = ("numpy", "scipy", "scipy.signal", "cv2", "onnxruntime", "ctranslate2", "pyarrow", "sklearn",
          "sklearn.cluster", "soundfile", "tokenizers", "lancedb")
# Large ones (seconds and hundreds of MB): only processes that run models need them.
HEAVY = ("torch", "transformers", "faster_whisper", "librosa")

_lock = threading.Lock()
_done: set[str] = set()


CORE = ("numpy",)  # what every process imports anyway: cheap to make sure of first


def preload(heavy: bool = False, names: tuple[str, ...] | None = None) -> list[str]:
    """Import the native stacks (and with ``heavy`` the model frameworks) that are installed; returns
    the names imported. Idempotent and thread-safe; missing optional packages are skipped."""
    names = names if names is not None else NATIVE + (HEAVY if heavy else ())
    loaded: list[str] = []
    with _lock:
        for name in names:
            if name in _done:
                continue
            try:
                importlib.import_module(name)
                loaded.append(name)
            except ImportError:
                pass
            _done.add(name)
    return loaded
