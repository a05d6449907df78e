"""Lanes: analyzers of one decode pass running side by side, each in order on its own thread.

The visual pass reads each frame once and hands the sampled ones to on-screen text, faces and tags.
Run one after another on the decoding thread, a stage used one core however many were idle (the
audio branch finishes long before the picture); as lanes, each analyzer keeps its own strict frame
order (its state is sequential) while the others and the decode proceed. The models release the
GIL while they compute (ONNX Runtime, OpenCV, PyTorch), so lanes run truly in parallel, and each
model still uses the stage's thread budget, never more.

A lane holds at most ``depth`` pending calls: a slow analyzer makes the decode wait instead of
queueing frames without bound. The first error raised in a lane is raised again by the next
``submit`` or by ``drain``, so a failed analyzer fails the stage as it did inline.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class Lane:
    def __init__(self, name: str, depth: int = 8) -> None:
        self.name = name
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lane-{name}")
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            try:
                if item is None:
                    return
                if self._error is None:  # after a failure the rest is skipped, not run on broken state
                    fn, args = item
                    fn(*args)
            except BaseException as e:  # noqa: BLE001 - handed to the stage's thread by submit()/drain()
                self._error = e
            finally:
                self._q.task_done()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._raise()
        self._q.put((fn, args))

    def drain(self) -> None:
        """Wait until every submitted call has run; raise the lane's error, if any."""
        self._q.join()
        self._raise()

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=30)

    def _raise(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err


class Lanes:
    """Named lanes for one pass (``inline=True`` runs every call at once on the caller's thread)."""

    def __init__(self, names: tuple[str, ...], *, inline: bool = False, depth: int = 8) -> None:
        self.inline = inline
        self._lanes = {} if inline else {n: Lane(n, depth) for n in names}

    def submit(self, name: str, fn: Callable[..., Any], *args: Any) -> None:
        if self.inline:
            fn(*args)
        else:
            self._lanes[name].submit(fn, *args)

    def drain(self) -> None:
        for lane in self._lanes.values():
            lane.drain()

    def close(self) -> None:
        for lane in self._lanes.values():
            lane.close()
        self._lanes = {}
