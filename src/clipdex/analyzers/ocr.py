"""On-screen text: rapidocr (PP-OCR ONNX) on gated, de-duplicated frames; spans merged in time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

from clipdex.analyzers.runtime import models


def ocr_engine():
    import threading

    def load():
        from rapidocr import RapidOCR

        return RapidOCR(params={"Global.log_level": "error"}) if _accepts_params() else RapidOCR()

    return models.get(("rapidocr", threading.get_ident()), load)


def _accepts_params() -> bool:
    import inspect

    from rapidocr import RapidOCR

    return "params" in inspect.signature(RapidOCR.__init__).parameters


def read_text(image: np.ndarray, min_score: float = 0.75) -> list[tuple[str, float, list[float]]]:
    """(text, score, [x, y, w, h]) per detected line."""
    r = ocr_engine()(image)
    if r is None or getattr(r, "txts", None) is None:
        return []
    out = []
    for txt, score, box in zip(r.txts, r.scores, r.boxes):
        if float(score) < min_score or not str(txt).strip():
            continue
        pts = np.asarray(box, np.float32)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        out.append((str(txt).strip(), float(score), [round(float(x0), 1), round(float(y0), 1),
                                                      round(float(x1 - x0), 1), round(float(y1 - y0), 1)]))
    return out


def text_likelihood(gray: np.ndarray) -> float:
    """Share of 16x16 blocks dense in edges: text is many short strong edges close together."""
    edges = cv2.Canny(gray, 100, 200)
    h, w = edges.shape
    bh, bw = h // 16 * 16, w // 16 * 16
    if not bh or not bw:
        return 0.0
    blocks = edges[:bh, :bw].reshape(bh // 16, 16, bw // 16, 16).mean(axis=(1, 3)) / 255.0
    return float((blocks > 0.12).mean())


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass
class Span:
    text: str
    start_s: float
    end_s: float
    box: list[float]
    score: float

    def as_dict(self) -> dict:
        return {"text": self.text, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "box": self.box, "score": round(self.score, 3)}


@dataclass
class TextTracker:
    """Gate -> de-duplicate -> OCR -> merge identical text of consecutive reads into one span."""

    min_text_blocks: float = 0.004
    same_frame: float = 2.0  # mean abs difference of 64x36 features below which a frame is "unchanged"
    same_region: float = 12.0  # ...and the 99th percentile below which no part of it changed
    open: dict[str, Span] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    last_feat: np.ndarray | None = None
    ocr_runs: int = 0
    gated_out: int = 0
    deduped: int = 0

    def feed(self, t: float, image: np.ndarray, feat: np.ndarray, period: float) -> None:
        if self.last_feat is not None and self._unchanged(np.abs(feat - self.last_feat)):
            self.deduped += 1
            for s in self.open.values():  # nothing changed on screen: open spans continue
                s.end_s = t + period
            return
        self.last_feat = feat
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        lines = read_text(image) if text_likelihood(gray) >= self.min_text_blocks else []
        if lines:
            self.ocr_runs += 1
        else:
            self.gated_out += 1
        seen = {}
        for text, score, box in lines:
            key = _norm(text)
            span = self.open.get(key)
            if span is None:
                span = Span(text, t, t + period, box, score)
            span.end_s, span.score = t + period, max(span.score, score)
            seen[key] = span
        self.spans += [s for k, s in self.open.items() if k not in seen]
        self.open = seen

    def _unchanged(self, diff: np.ndarray) -> bool:
        """Nothing moved overall and no region changed strongly.

        The mean alone missed a slide whose words changed on the same background: new text moves
        few pixels of a 64x36 thumbnail, but those it moves, it moves a lot.
        """
        return float(diff.mean()) < self.same_frame and float(np.percentile(diff, 99)) < self.same_region

    def finish(self, end_s: float) -> list[dict]:
        for s in self.open.values():
            s.end_s = min(s.end_s, end_s)
        self.spans += list(self.open.values())
        self.open = {}
        return [s.as_dict() for s in sorted(self.spans, key=lambda s: (s.start_s, s.box[1], s.box[0]))]
