"""Per-frame picture measurements for compliance, fed from one decode of the video.

Kept per frame: a black-pixel share and the mean change from the previous frame (so black and
freeze thresholds and minimum durations are the policy's, applied later); flash transitions; once
a second the letterbox/pillarbox bars; every ``nudity_period_s`` a nudity score (Yahoo open_nsfw)
and NudeNet boxes, with a blurred thumbnail kept as evidence when anything scores.

Frames wider than ``PictureOptions.width`` are first scaled down to that width, so the numbers do not
depend on who decoded them: the compliance stage's own decode at ``compliance_width`` and the visual
stage's frames at ``visual_width`` (compliance/shared.py) measure the same picture. The pass holds no
model and no lock (models come from the runtime cache per batch), so it pickles: the visual stage
checkpoints it with its own state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from clipdex.compliance.flashes import GRID, FlashDetector
from clipdex.media.frames import analysis_size

BLACK_PIXEL = 0.10 * 255  # FFmpeg blackdetect's default pixel threshold (luma)
EVIDENCE_FLOOR = 0.2  # keep a blurred thumbnail for samples that score at least this
MEASURES_VERSION = 1  # bump when a measure changes: measurements shared by another stage are then not reused


@dataclass
class PictureOptions:
    nudity: bool = True
    nudity_period_s: float = 2.0
    max_evidence: int = 40
    width: int = 320  # frames are measured at most this wide (``compliance_width``), whatever was decoded


@dataclass
class PicturePass:
    fps: float
    opts: PictureOptions = field(default_factory=PictureOptions)

    def __post_init__(self) -> None:
        self.flashes = FlashDetector()
        self.t: list[float] = []
        self.black: list[float] = []
        self.diff: list[float] = []
        self.bars: list[list[float]] = []
        self.nudity: list[dict] = []
        self.evidence: dict[str, bytes] = {}
        self._prev: np.ndarray | None = None
        self._next_bars = 0.0
        self._next_nude = 0.0
        self._batch: list[tuple[float, np.ndarray]] = []
        self.timings: dict[str, float] = {}
        self.size: tuple[int, int] | None = None  # (w, h) the frames are measured at
        self._samples = 0  # nudity samples scored so far (NudeNet's every-fourth-sample rule counts them)

    def feed(self, t: float, image: np.ndarray) -> None:
        t0 = time.perf_counter()
        # the grid straight from the frame (one rounding): flashes, black and change match across decoders
        small = cv2.resize(image, GRID, interpolation=cv2.INTER_AREA)
        self.flashes.feed(t, small)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        self.t.append(round(t, 3))
        self.black.append(round(float((gray <= BLACK_PIXEL).mean()), 3))
        self.diff.append(round(float(np.abs(gray - self._prev).mean()), 3) if self._prev is not None else 255.0)
        self._prev = gray
        if self.size is None:
            h, w = image.shape[:2]
            self.size = analysis_size(w, h, self.opts.width) if w > self.opts.width else (w, h)
        work = None  # the frame at ``size``, made only for the frames that need it (bars, nudity samples)
        if t >= self._next_bars:
            work = self._working(image)
            self.bars.append([round(t, 3), *bars(work)])
            self._next_bars = t + 1.0
        self._time("frames", t0)
        if self.opts.nudity and t >= self._next_nude:
            work = self._working(image) if work is None else work
            self._batch.append((t, work.copy() if work is image else work))
            self._next_nude = t + self.opts.nudity_period_s
            if len(self._batch) >= 8:
                self._flush()

    def _working(self, image: np.ndarray) -> np.ndarray:
        """Bars and nudity are measured at ``size``, so their boxes and shares match a decode at that size."""
        h, w = image.shape[:2]
        if (w, h) == self.size:
            return image
        return cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)

    def _time(self, name: str, start: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def _flush(self) -> None:
        if not self._batch:
            return
        t0 = time.perf_counter()
        from clipdex.compliance import nudity

        samples = nudity.score(self._batch, first=self._samples)
        self._samples += len(samples)
        for (t, img), sample in zip(self._batch, samples):
            self.nudity.append(sample)
            top = max([sample["score"]] + [b["score"] for b in sample["boxes"]])
            if top >= EVIDENCE_FLOOR and len(self.evidence) < self.opts.max_evidence:
                name = f"evidence-{int(round(t * 1000)):09d}.jpg"
                sample["evidence"] = name
                self.evidence[name] = blurred_thumbnail(img)
        self._batch = []
        self._time("nudity", t0)

    def finish(self) -> dict:
        self._flush()
        return {"fps": self.fps, "frames": len(self.t), "t": self.t, "black_ratio": self.black, "diff": self.diff,
                "bars": self.bars, "flashes": self.flashes.result(),
                "nudity": self.nudity if self.opts.nudity else None}


def bars(image: np.ndarray, level: float = 24.0) -> list[float]:
    """Shares of the frame covered by dark bars: top, bottom, left, right."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    rows, cols = gray.max(axis=1) < level, gray.max(axis=0) < level
    h, w = gray.shape

    def run(mask: np.ndarray) -> int:
        idx = np.flatnonzero(~mask)
        return int(idx[0]) if idx.size else len(mask)

    if rows.all():  # an all-black frame has no bars, it is black
        return [0.0, 0.0, 0.0, 0.0]
    return [round(run(rows) / h, 3), round(run(rows[::-1]) / h, 3), round(run(cols) / w, 3),
            round(run(cols[::-1]) / w, 3)]


def blurred_thumbnail(image: np.ndarray, width: int = 160) -> bytes:
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(2, round(h * width / w))), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigmaX=6)
    ok, buf = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else b""
