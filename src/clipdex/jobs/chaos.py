"""Fault injection for the crash tests: a test facility, inert unless ``CLIPDEX_CHAOS`` is set.

``CLIPDEX_CHAOS=<stage>:<point>[,<stage>:<point>...]`` makes the process SIGKILL itself at that point
of the first attempt of that stage (later attempts run normally, so the job can still finish):

- ``after_claim``: the lease is taken, nothing has run
- ``mid_work``: the stage is running (at its first liveness check or progress report)
- ``after_artifact``: the stage returned, its blobs are stored, nothing is committed
- ``after_commit``: the outcome is committed; the broker message is not acknowledged yet

``dispatch:duplicate`` makes the Celery dispatcher publish every message twice (double delivery).
Never set it in production: it exists to prove that a killed worker costs at most its stage.
"""

from __future__ import annotations

import logging
import os
import signal

ENV = "CLIPDEX_CHAOS"
POINTS = ("after_claim", "mid_work", "after_artifact", "after_commit")
log = logging.getLogger("clipdex.chaos")


def _specs() -> set[tuple[str, str]]:
    raw = os.environ.get(ENV, "")
    return {tuple(part.strip().split(":", 1)) for part in raw.split(",") if ":" in part}


def enabled(stage: str, point: str) -> bool:
    return (stage, point) in _specs()


def maybe_kill(stage: str, point: str, attempt: int) -> None:
    """SIGKILL this process when ``CLIPDEX_CHAOS`` names this stage and point (first attempt only)."""
    if attempt == 1 and enabled(stage, point):
        log.warning("chaos: killing pid %s at %s:%s", os.getpid(), stage, point)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
