"""Server-sent events of a polled snapshot (a job's or a training run's progress)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

TERMINAL = ("succeeded", "failed", "cancelled")


def snapshot_events(first: dict, read: Callable[[], dict], *, poll_s: float, max_s: float) -> StreamingResponse:
    """'progress' whenever the snapshot changes, then 'done' once its status is terminal.

    ``first`` is read by the route before the stream starts, so a missing object is a 404, not an
    empty stream; ``read`` runs in the thread pool (it opens a database session). The stream ends
    after ``max_s`` without a terminal status; clients reconnect.
    """
    async def stream():
        snap, last, started = first, None, time.monotonic()
        while True:
            body = json.dumps(snap, default=str)
            if body != last:
                yield f"event: progress\nid: {int(time.time() * 1000)}\ndata: {body}\n\n"
                last = body
            if snap["status"] in TERMINAL:
                yield f"event: done\ndata: {body}\n\n"
                return
            if time.monotonic() - started > max_s:
                return
            await asyncio.sleep(poll_s)
            snap = await run_in_threadpool(read)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
