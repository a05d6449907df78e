"""A test analyzer that takes its time: loaded by real ``clipdex worker`` processes in the engine tests.

Registered through the real extension point, ``CLIPDEX_EXTRA_STAGES=tests.pipeline.slow_stage:STAGE``.
It writes one artifact with deterministic content (a re-run writes the same bytes to the same key),
reports progress and sleeps in small steps, checking its lease between them so a lost lease or a
cancelled job stops it. The environment decides how long it runs and whether the artifact is written
before the sleep (a kill then lands after the blob exists but before the commit) or after it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

SECONDS_ENV = "CLIPDEX_TEST_SLOW_SECONDS"
WRITE_ENV = "CLIPDEX_TEST_SLOW_WRITE"  # "first": write, then sleep; "last" (default): sleep, then write
ARTIFACT = "marker.json"
STEP_S = 0.05


class SlowMarkerStage:
    name, version = "slow_marker", "1"
    requires = ("probe",)
    produces = (ARTIFACT,)
    queue = "cpu"

    def applies(self, video) -> bool:
        return True

    def run(self, ctx):
        seconds = float(os.environ.get(SECONDS_ENV, "0.5"))
        write_first = os.environ.get(WRITE_ENV, "last") == "first"
        if write_first:
            self._write(ctx)
        steps = max(1, round(seconds / STEP_S))
        for i in range(steps):
            ctx.check_alive()
            time.sleep(seconds / steps)
            ctx.progress((i + 1) / steps)
        ctx.check_alive()
        if not write_first:
            self._write(ctx)
        return {"marker": ARTIFACT}

    def _write(self, ctx) -> None:
        body = {"video_id": str(ctx.video.id), "stage": self.name, "version": self.version,
                "duration_s": ctx.upstream.get("probe", {}).get("duration_s")}
        with ctx.scratch_dir() as tmp:
            path = Path(tmp) / ARTIFACT
            path.write_text(json.dumps(body, sort_keys=True))
            ctx.write_artifact(ARTIFACT, path, "application/json")


STAGE = SlowMarkerStage()
