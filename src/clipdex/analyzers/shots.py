"""Shot boundaries (hard cuts, fades, dissolves) and scenes, from frames the visual stage hands in.

Per frame the detector keeps a handful of numbers computed on a 64x36 HSV thumbnail, in flat
``array('d')`` series (8 bytes a number, not a 32-byte Python float and its list slot); the features
themselves live only in a short ring buffer, so memory is O(frames) floats, not frames.

* hard cut at i: the frame difference d1[i] stands out from its neighbourhood (adaptive ratio)
  and the picture does not come back within three frames (a camera flash does);
* fade: the edges of runs of black frames (fade-outs end in black, fade-ins start from it);
* dissolve: the frame K back and the frame now differ a lot, while the frame half-way is close
  to their average (a cross-fade is linear; camera motion is not).
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

FEATURE_SIZE = (64, 36)


def feature(image: np.ndarray) -> np.ndarray:
    small = cv2.resize(image, FEATURE_SIZE, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2HSV).astype(np.float32)


def _np(series: array) -> np.ndarray:
    """A copy of a series as float64 (a view would pin the array: it could not grow while one exists)."""
    return np.array(series, dtype=np.float64)


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@dataclass
class ShotOptions:
    cut_min: float = 15.0  # mean abs HSV difference a cut needs at least
    cut_ratio: float = 3.0  # ... and this many times the local median difference
    flash_return: float = 0.4  # a picture that returns this close within 3 frames was a flash
    black_v: float = 12.0  # mean V (0-255) below which a frame is black
    min_black_frames: int = 3
    gradual_min: float = 25.0
    gradual_linearity: float = 0.3
    min_shot_s: float = 0.4


@dataclass
class Boundary:
    frame: int
    kind: str  # cut | fade | dissolve


@dataclass
class Shot:
    index: int
    start_frame: int
    end_frame: int  # exclusive
    start_s: float
    end_s: float
    transition_in: str  # start | cut | fade | dissolve
    keyframe_s: float | None = None
    keyframe: str | None = None  # artifact name
    scene: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ShotDetector:
    fps: float
    opts: ShotOptions = field(default_factory=ShotOptions)

    def __post_init__(self) -> None:
        self.k = max(4, int(round(self.fps / 2)))  # dissolve span: half a second
        self.ring: deque[np.ndarray] = deque(maxlen=self.k + 5)
        self.d1 = array("d")
        self.back = array("d")  # min diff of frame i-1 to frames i+1..i+3 (flash test)
        self.fwd = array("d")  # min diff of frame i to frames i-2..i-4 (return from a flash)
        self.dk = array("d")
        self.lin = array("d")
        self.v = array("d")
        self.times = array("d")  # presentation time of each frame (variable frame rate safe)
        self.n = 0

    def time_at(self, frame: int) -> float:
        """Presentation time of ``frame``; ``n`` (one past the end) is the end of the last frame."""
        if frame < len(self.times):
            return self.times[frame]
        if not self.times:
            return frame / self.fps
        return self.times[-1] + (frame - len(self.times) + 1) / self.fps

    @property
    def last_diff(self) -> float:
        return self.d1[-1] if self.d1 else 0.0

    def feed(self, feat: np.ndarray, t: float | None = None) -> None:
        self.times.append(self.n / self.fps if t is None else t)
        ring = self.ring
        self.d1.append(_mad(feat, ring[-1]) if ring else 0.0)
        self.v.append(float(feat[..., 2].mean()))
        self.back.append(float("inf"))
        self.fwd.append(min((_mad(feat, ring[-j]) for j in (2, 3, 4) if len(ring) >= j), default=float("inf")))
        ring.append(feat)
        i, k = self.n, self.k
        # flash test for frame c = i-3: does the picture before c come back at c+1..c+3?
        c = i - 3
        if c >= 1 and len(ring) >= 5:
            before = ring[-5]
            self.back[c] = min(_mad(before, ring[-3]), _mad(before, ring[-2]), _mad(before, ring[-1]))
        if i >= k and len(ring) >= k + 1:
            a, m = ring[-k - 1], ring[-1 - k // 2]
            dk = _mad(feat, a)
            self.dk.append(dk)
            self.lin.append(_mad(m, (a + feat) / 2) / dk if dk > 1e-6 else 1.0)
        else:
            self.dk.append(0.0)
            self.lin.append(1.0)
        self.n += 1

    def boundaries(self) -> list[Boundary]:
        """Shot boundaries as first frames of new shots, in order."""
        found, _ = self._found()
        return _merge(found, self.min_gap, self.n)

    @property
    def min_gap(self) -> int:
        return max(2, int(self.opts.min_shot_s * self.fps))

    def _found(self) -> tuple[list[Boundary], np.ndarray]:
        """Every boundary before merging (cuts, fades, dissolves), and the dissolve candidates per frame."""
        o, n = self.opts, self.n
        d1 = _np(self.d1)
        w = self.k
        cuts: list[int] = []
        for i in np.flatnonzero(d1 >= o.cut_min):
            lo, hi = max(1, i - w), min(n, i + w + 1)
            neigh = np.concatenate([d1[lo:i], d1[i + 1:hi]])
            med = float(np.median(neigh)) if neigh.size else 0.0
            if d1[i] < o.cut_ratio * med + 5.0:
                continue
            if min(self.back[i], self.fwd[i]) < o.flash_return * d1[i]:
                continue  # the picture came back (or is back): a flash, not a cut
            cuts.append(int(i))
        found = [Boundary(c, "cut") for c in cuts]
        black = _np(self.v) < o.black_v
        for start, end in _runs(black):
            if end - start < o.min_black_frames:
                continue
            if start > 0:
                found.append(Boundary(start, "fade"))
            if end < n:
                found.append(Boundary(end, "fade"))
        cand = self._candidates(cuts)
        found += [Boundary(f, "dissolve") for f in self._dissolves(cand, black)]
        return found, cand

    def _candidates(self, cuts: list[int]) -> np.ndarray:
        """Frames that look like the middle of a cross-fade (K back and now differ, half-way is their mean)."""
        o, k = self.opts, self.k
        dk, lin = _np(self.dk), _np(self.lin)
        v = _np(self.v)
        cand = (dk >= o.gradual_min) & (lin <= o.gradual_linearity)
        # a ramp from or into (near) black is a fade, found from the black run itself
        back_v = np.concatenate([np.full(k, 0.0), v[:-k]]) if v.size > k else np.zeros_like(v)
        cand &= np.minimum(back_v, v) >= 3 * o.black_v
        for c in cuts:  # the K frames after a cut differ from K back because of the cut
            cand[c:c + k + 1] = False
        return cand

    def _dissolves(self, cand: np.ndarray, black: np.ndarray) -> list[int]:
        k = self.k
        out = []
        for start, end in _runs(cand):
            if end - start < max(2, k // 3):
                continue
            mid = (start + end - 1) // 2 - k // 2
            if not black[max(0, mid - 1):mid + 2].any():
                out.append(int(mid))
        return out

    def settled(self) -> tuple[int, list[Boundary]]:
        """``(p, bounds)``: the boundaries up to frame ``p`` that no later frame can change (p = 0: none yet).

        Why they are final, input by input (``w = k``):
        * a cut at ``i`` reads ``d1[i-w..i+w]`` and the flash test of frame ``i+3``: decided for ``i < n - w``;
        * a black run is decided once a frame after it is not black; an open run may still add a fade at
          its start (if it reaches ``min_black_frames``) and at its end;
        * dissolve candidates are decided below ``n - w`` (cuts mask the ``k`` frames after them); a run of
          candidates still open there may end anywhere and puts its boundary ``k // 2`` before its middle,
          so no earlier than ``start - k // 2``.
        So no boundary still to be found lies below ``u``; ``_merge`` only ever changes its last output, and
        only for a boundary within ``min_gap`` of it: outputs at or below ``u - min_gap`` are final.
        """
        n, w, k = self.n, self.k, self.k
        found, cand = self._found()
        u = n - w
        black = _np(self.v) < self.opts.black_v
        if n and black[-1]:
            lit = np.flatnonzero(~black)
            u = min(u, int(lit[-1]) + 1 if lit.size else 0)
        f = n - w
        if f >= 1 and cand[f - 1]:
            off = np.flatnonzero(~cand[:f])
            f = int(off[-1]) + 1 if off.size else 0
        u = min(u, f - k // 2 - 1)
        bounds = _merge(found, self.min_gap, n)
        p = max((b.frame for b in bounds if b.frame + self.min_gap <= u), default=0)
        return p, [b for b in bounds if b.frame <= p]

    def shots(self, boundaries: list[Boundary] | None = None) -> list[Shot]:
        bounds = self.boundaries() if boundaries is None else boundaries
        edges = [Boundary(0, "start")] + [b for b in bounds if 0 < b.frame < self.n]
        out = []
        for i, b in enumerate(edges):
            end = edges[i + 1].frame if i + 1 < len(edges) else self.n
            out.append(Shot(i, b.frame, end, round(self.time_at(b.frame), 3), round(self.time_at(end), 3), b.kind))
        return out

    def black_runs(self, min_frames: int = 3) -> list[tuple[int, int]]:
        return [r for r in _runs(_np(self.v) < self.opts.black_v) if r[1] - r[0] >= min_frames]

    def frozen_runs(self, min_frames: int, eps: float = 0.35) -> list[tuple[int, int]]:
        """Runs of frames identical to the one before (black excluded)."""
        still = (_np(self.d1) < eps) & (_np(self.v) >= self.opts.black_v)
        if still.size:
            still[0] = False
        return [(s - 1, e) for s, e in _runs(still) if e - s + 1 >= min_frames]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if mask.size == 0:
        return []
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(d[::2], d[1::2])]


_PRIORITY = {"cut": 0, "fade": 1, "dissolve": 2}


def _merge(found: list[Boundary], min_gap: int, n: int) -> list[Boundary]:
    """One boundary per transition: nearby ones collapse onto the strongest kind."""
    found = sorted((b for b in found if 0 < b.frame < n), key=lambda b: b.frame)
    out: list[Boundary] = []
    for b in found:
        if out and b.frame - out[-1].frame < min_gap:
            if _PRIORITY[b.kind] < _PRIORITY[out[-1].kind]:
                out[-1] = b
            continue
        out.append(b)
    return out


def group_scenes(shots: list[Shot], hists: list[np.ndarray | None], *, threshold: float = 0.45,
                 lookback: int = 3) -> list[dict]:
    """Consecutive shots whose colour histograms resemble a recent shot of the scene stay in it."""
    scenes: list[dict] = []
    members: list[int] = []
    for s in shots:
        h = hists[s.index] if s.index < len(hists) else None
        joins = bool(members) and h is not None and any(
            hists[m] is not None and cv2.compareHist(h, hists[m], cv2.HISTCMP_INTERSECT) >= threshold
            for m in members[-lookback:])
        if members and not joins:
            scenes.append(_scene(len(scenes), [shots[m] for m in members]))
            members = []
        members.append(s.index)
    if members:
        scenes.append(_scene(len(scenes), [shots[m] for m in members]))
    for sc in scenes:
        for idx in sc["shots"]:
            shots[idx].scene = sc["index"]
    return scenes


def _scene(index: int, shots: list[Shot]) -> dict:
    return {"index": index, "start_s": shots[0].start_s, "end_s": shots[-1].end_s,
            "start_frame": shots[0].start_frame, "end_frame": shots[-1].end_frame,
            "shots": [s.index for s in shots], "keyframe": shots[0].keyframe}


def colour_hist(image: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return (h / max(1.0, float(h.sum()))).astype(np.float32)
