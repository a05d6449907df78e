"""Photosensitive flash transitions per ITU-R BT.1702 / Ofcom guidance, from decoded frames.

A *transition* is a change of relative luminance of at least 10 % of the maximum (0.1 on the
linear 0..1 scale) where the darker state is below 0.8, over at least 25 % of the screen at once;
a *flash* is a pair of opposing transitions. Saturated red counts separately: a pixel is saturated
red when R/(R+G+B) >= 0.8 (linear), its red value is (R - G - B) * 320, and a red transition is a
change of that value of more than 20 over the same area (the WCAG 2 formulation of the same rule).

Changes are accumulated per pixel along a monotonic trend, so a fade over several frames counts
once its total crosses the threshold, and a transition is counted only when the screen's direction
reverses (up, down, up...). Which count of transitions in one second fails is the policy's choice
(the guidance: more than three flashes, i.e. more than six transitions).
"""

from __future__ import annotations

import numpy as np

GRID = (80, 45)  # analysis grid (w, h): flashes are about large areas, not detail
# sRGB -> linear, per 8-bit code value
_LINEAR = np.where(np.arange(256) / 255.0 <= 0.04045, np.arange(256) / 255.0 / 12.92,
                   ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_rgb(small_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lin = _LINEAR[small_bgr]
    return lin[..., 2], lin[..., 1], lin[..., 0]


def relative_luminance(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def red_value(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = r + g + b
    saturated = r >= 0.8 * np.maximum(total, 1e-6)
    return np.where(saturated & (total > 1e-6), np.maximum(0.0, (r - g - b) * 320.0), 0.0).astype(np.float32)


class TransitionCounter:
    """Opposing large-area changes of one per-pixel quantity (luminance, or red value)."""

    def __init__(self, delta: float, area: float = 0.25, dark_below: float | None = None, eps: float = 1e-3) -> None:
        self.delta, self.area, self.dark_below, self.eps = delta, area, dark_below, eps
        self.prev: np.ndarray | None = None
        self.acc = self.start = self.state = None
        self.last = 0
        self.transitions: list[tuple[float, int]] = []

    def feed(self, t: float, x: np.ndarray) -> None:
        if self.prev is None:
            self.prev = x.copy()
            self.acc = np.zeros_like(x)
            self.start = x.copy()
            self.state = np.zeros(x.shape, np.int8)
            return
        d = x - self.prev
        moving = np.abs(d) > self.eps
        same = np.sign(d) == np.sign(self.acc)
        restart = moving & ~same & (self.acc != 0)
        fresh = moving & (self.acc == 0)
        self.start = np.where(restart | fresh, self.prev, self.start)
        self.acc = np.where(restart, d, np.where(moving, self.acc + d, self.acc))
        self.state[restart] = 0
        big = np.abs(self.acc) >= self.delta
        if self.dark_below is not None:
            big &= np.minimum(self.start, x) < self.dark_below
        self.state = np.where(big, np.sign(self.acc).astype(np.int8), self.state)
        self.prev = x.copy()
        up, down = float((self.state > 0).mean()), float((self.state < 0).mean())
        if up >= self.area and self.last != 1 and up >= down:
            self._count(t, 1)
        elif down >= self.area and self.last != -1:
            self._count(t, -1)

    def _count(self, t: float, sign: int) -> None:
        self.last = sign
        self.transitions.append((round(t, 3), sign))
        # the pixels that made this transition start over: a picture that then holds still (a cut to a
        # still that is brighter in part and darker in part) is one flash at most, not one every frame
        used = self.state == sign
        self.acc[used] = 0
        self.state[used] = 0


class FlashDetector:
    """General (luminance) and saturated-red transitions of a stream of small BGR frames."""

    def __init__(self) -> None:
        self.general = TransitionCounter(0.1, dark_below=0.8)
        self.red = TransitionCounter(20.0)

    def feed(self, t: float, small_bgr: np.ndarray) -> None:
        r, g, b = linear_rgb(small_bgr)
        self.general.feed(t, relative_luminance(r, g, b))
        self.red.feed(t, red_value(r, g, b))

    def result(self) -> dict:
        return {"general": [[t, s] for t, s in self.general.transitions],
                "red": [[t, s] for t, s in self.red.transitions]}


def violating_spans(times: list[float], max_transitions: int, window_s: float = 1.0) -> list[dict]:
    """Spans where more than ``max_transitions`` fall in some ``window_s`` window, merged."""
    spans: list[dict] = []
    j = 0
    ts = sorted(times)
    for i in range(len(ts)):
        j = max(j, i)
        while j + 1 < len(ts) and ts[j + 1] - ts[i] < window_s:
            j += 1
        count = j - i + 1
        if count > max_transitions:
            if spans and ts[i] <= spans[-1]["end_s"]:
                spans[-1]["end_s"] = max(spans[-1]["end_s"], ts[j])
                spans[-1]["peak_per_s"] = max(spans[-1]["peak_per_s"], count)
            else:
                spans.append({"start_s": ts[i], "end_s": ts[j], "peak_per_s": count})
    return spans
