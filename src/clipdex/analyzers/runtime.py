"""One process-wide cache for loaded models: each model loads once per process, thread-safely.

Analyzers call ``models.get(key, loader)``; the key names the model and its options (for example
``("whisper", path, "int8")``) so a changed setting loads a new model instead of reusing the old one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any


class ModelCache:
    def __init__(self) -> None:
        self._models: dict[Hashable, Any] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        if key in self._models:
            return self._models[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one loader per key; other keys load in parallel
            if key not in self._models:
                self._models[key] = loader()
            return self._models[key]

    def clear(self) -> None:
        with self._guard:
            self._models.clear()
            self._locks.clear()


models = ModelCache()
