"""On-screen text: rapidocr (PP-OCR ONNX), reading only what changed; spans merged in time.

A frame is read in three steps, each skipped when it can be: (1) nothing on screen changed since the
last sample (a 64x36 feature): the open spans continue; (2) a change mask at quarter resolution
against the last examined picture: text boxes the change does not touch keep their text, and only the
changed regions that look like text (dense short edges) go to the detector, cropped; (3) each detected
line is looked up by its picture in a cache of lines already read, and only new lines are recognised.
A slide held for 30 s is therefore detected and recognised once, whatever moves beside it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import cv2
import numpy as np

from clipdex.analyzers.runtime import models

MIN_SCORE = 0.75  # recognition confidence below which a line is noise (PP-OCR: real text reads 0.9+)


def _load_engine():
    from rapidocr import RapidOCR

    from clipdex.analyzers.runtime import compute_threads, device

    if not _accepts_params():
        return RapidOCR()
    return RapidOCR(params={"Global.log_level": "error",
                            "EngineConfig.onnxruntime.intra_op_num_threads": compute_threads(),
                            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                            "EngineConfig.onnxruntime.use_cuda": device() == "cuda"})


def _engine_key() -> tuple:
    from clipdex.analyzers.runtime import compute_threads, device

    return ("rapidocr", compute_threads(), device())


def ocr_engine():
    """This thread's engine (its Python wrappers keep per-call state: not shared between threads)."""
    import threading

    return models.get((*_engine_key(), threading.get_ident()), _load_engine)


def warm_engine() -> None:
    """Load one engine ahead of the first stage that reads text (a worker's warm-up)."""
    models.warm(_engine_key(), _load_engine)


def _accepts_params() -> bool:
    import inspect

    from rapidocr import RapidOCR

    return "params" in inspect.signature(RapidOCR.__init__).parameters


def _rect(pts: np.ndarray) -> list[float]:
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return [round(float(x0), 1), round(float(y0), 1), round(float(x1 - x0), 1), round(float(y1 - y0), 1)]


def read_text(image: np.ndarray, min_score: float = MIN_SCORE) -> list[tuple[str, float, list[float]]]:
    """(text, score, [x, y, w, h]) per detected line: the whole pipeline on one picture."""
    r = ocr_engine()(image, use_det=True, use_cls=True, use_rec=True)
    if r is None or getattr(r, "txts", None) is None:
        return []
    out = []
    for txt, score, box in zip(r.txts, r.scores, r.boxes):
        if float(score) < min_score or not str(txt).strip():
            continue
        out.append((str(txt).strip(), float(score), _rect(np.asarray(box, np.float32))))
    return out


def meaningful(text: str, score: float, min_score: float = MIN_SCORE) -> bool:
    """Whether a read line is worth a span: confident, two or more letters or digits, mostly word
    characters. Drops what a moving pattern or a logo yields: ``_``, ``H``, ``日``, ``-=|``."""
    if score < min_score:
        return False
    chars = [c for c in text if not c.isspace()]
    word = [c for c in chars if unicodedata.category(c)[0] in "LN"]
    return len(word) >= 2 and len(word) >= 0.6 * len(chars)


def edge_blocks(gray: np.ndarray) -> np.ndarray:
    """Which 16x16 blocks are dense in edges (text is many short strong edges close together);
    partial blocks at the right and bottom edges count as blocks."""
    edges = cv2.Canny(gray, 100, 200)
    h, w = edges.shape
    ph, pw = -(-h // 16) * 16, -(-w // 16) * 16
    if (ph, pw) != (h, w):
        edges = cv2.copyMakeBorder(edges, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0)
    return edges.reshape(ph // 16, 16, pw // 16, 16).mean(axis=(1, 3)) / 255.0 > 0.12


def text_likelihood(gray: np.ndarray) -> float:
    """Share of 16x16 blocks dense in edges."""
    h, w = gray.shape[:2]
    if h < 16 or w < 16:
        return 0.0
    return float(edge_blocks(gray[:h // 16 * 16, :w // 16 * 16]).mean())


def _cells(region: tuple[int, int, int, int], n: int) -> tuple[slice, slice]:
    """The cells of an ``n``-pixel grid that a frame rectangle (x, y, w, h) touches."""
    x, y, w, h = region
    return slice(y // n, -(-(y + h) // n)), slice(x // n, -(-(x + w) // n))


def _share(blocks: np.ndarray, region: tuple[int, int, int, int]) -> float:
    part = blocks[_cells(region, 16)]
    return float(part.mean()) if part.size else 0.0


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


class LineReader:
    """Detection on (parts of) a frame and recognition of crops, with the engine's own models.

    Detection of a crop runs at the scale the detector would give the whole frame, so a line is
    found alike whether its region or the full picture is examined.
    """

    def __init__(self) -> None:
        self._key = _engine_key()
        self.engine = models.acquire(self._key, _load_engine)  # this reader's alone until close()
        self.engine._load_det_model(), self.engine._load_cls_model(), self.engine._load_rec_model()

    def close(self) -> None:
        """Hand the engine back for the next reader (a reader that is never closed just loses it)."""
        if self.engine is not None:
            models.release(self._key, self.engine)
            self.engine = None

    def detect(self, image: np.ndarray, region: tuple[int, int, int, int], frame_min_side: int) -> list[np.ndarray]:
        """Quadrilaterals (4 x 2, frame coordinates) of the text lines inside ``region`` (x, y, w, h)."""
        det = self.engine.text_det
        x, y, w, h = region
        scale = max(1.0, det.limit_side_len / frame_min_side) if det.limit_type == "min" else 1.0
        saved = det.limit_side_len, det.limit_type
        det.limit_side_len, det.limit_type = max(32, int(round(min(w, h) * scale))), "min"
        try:
            res = det(np.ascontiguousarray(image[y:y + h, x:x + w]))
        finally:
            det.limit_side_len, det.limit_type = saved
        if res.boxes is None:
            return []
        return [np.asarray(b, np.float32) + np.array([x, y], np.float32) for b in res.boxes]

    def crop(self, image: np.ndarray, quad: np.ndarray) -> np.ndarray:
        from rapidocr.utils.process_img import get_rotate_crop_image

        return get_rotate_crop_image(image, quad.copy())

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        from rapidocr.ch_ppocr_rec import TextRecInput

        if not crops:
            return []
        upright = self.engine.text_cls(crops).img_list
        r = self.engine.text_rec(TextRecInput(img=upright))
        return [(str(t).strip(), float(s)) for t, s in zip(r.txts, r.scores)]


def signature(crop: np.ndarray) -> tuple[float, np.ndarray]:
    """A line's picture, small and contrast-normalised, with its aspect: equal text gives equal ones."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h, w = gray.shape[:2]
    small = cv2.resize(gray, (96, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
    return w / max(1, h), (small - small.mean()) / max(4.0, float(small.std()))


@dataclass
class ReadCache:
    """Lines already recognised, found again by picture (a slide shown twice, a repeated title)."""

    size: int = 256
    max_diff: float = 0.3  # mean abs difference of normalised signatures; other text differs by 0.6+
    entries: list[tuple[float, np.ndarray, str, float]] = field(default_factory=list)

    def find(self, sig: tuple[float, np.ndarray]) -> tuple[str, float] | None:
        aspect, pic = sig
        for i, (a, p, text, score) in enumerate(self.entries):
            if abs(a - aspect) <= 0.08 * max(a, aspect) and float(np.abs(p - pic).mean()) < self.max_diff:
                self.entries.append(self.entries.pop(i))  # most recently used last
                return text, score
        return None

    def add(self, sig: tuple[float, np.ndarray], text: str, score: float) -> None:
        self.entries.append((sig[0], sig[1], text, score))
        del self.entries[:-self.size]


@dataclass
class Line:
    text: str
    score: float
    box: list[float]  # x, y, w, h in frame pixels


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


def _components(mask: np.ndarray, pad: int) -> list[tuple[int, int, int, int]]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    h, w = mask.shape
    out = []
    for x, y, bw, bh, _ in stats[1:n]:
        x0, y0 = max(0, x - pad), max(0, y - pad)
        out.append((x0, y0, min(w, x + bw + pad) - x0, min(h, y + bh + pad) - y0))
    return out


def _grow(rects: list[tuple[int, int, int, int]], boxes: list[list[float]], w: int, h: int,
          pad: int = 4) -> list[tuple[int, int, int, int]]:
    """Rectangles grown over every box they touch and merged where they overlap: a line is always
    examined whole, never cut by the edge of a region."""
    items = [(x, y, x + rw, y + rh) for x, y, rw, rh in rects]
    extra = [(max(0, int(bx) - pad), max(0, int(by) - pad),
              min(w, int(bx + bw) + 1 + pad), min(h, int(by + bh) + 1 + pad))
             for bx, by, bw, bh in boxes]
    changed = True
    while changed:
        changed = False
        for e in extra:
            for i, r in enumerate(items):
                if _touch(r, e) and not (r[0] <= e[0] and r[1] <= e[1] and r[2] >= e[2] and r[3] >= e[3]):
                    items[i] = (min(r[0], e[0]), min(r[1], e[1]), max(r[2], e[2]), max(r[3], e[3]))
                    changed = True
        merged: list[tuple[int, int, int, int]] = []
        for r in items:
            for i, m in enumerate(merged):
                if _touch(r, m):
                    merged[i] = (min(r[0], m[0]), min(r[1], m[1]), max(r[2], m[2]), max(r[3], m[3]))
                    changed = True
                    break
            else:
                merged.append(r)
        items = merged
    return [(a, b, c - a, d - b) for a, b, c, d in items]


def _touch(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@dataclass
class TextTracker:
    """Gate -> change mask -> detect changed regions -> recognise new lines -> merge into spans."""

    min_text_blocks: float = 0.004
    same_frame: float = 2.0  # mean abs difference of 64x36 features below which a frame is "unchanged"
    same_region: float = 12.0  # ...and the 99th percentile below which no part of it changed
    changed_level: int = 14  # grey levels at quarter resolution that count as a change
    quarter: int = 4
    full_read_share: float = 0.5  # changed regions above this share of the frame: detect the whole frame
    min_score: float = MIN_SCORE
    open: dict[str, Span] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)  # on screen at the last examined sample
    cache: ReadCache = field(default_factory=ReadCache)
    last_feat: np.ndarray | None = None
    ref: np.ndarray | None = None  # quarter-resolution grey picture the change mask compares with
    ref_blocks: np.ndarray | None = None  # edge-dense 16x16 blocks of that picture
    new_blocks: float = 0.15  # a changed region gaining this share of edge-dense blocks may hold new text
    ocr_runs: int = 0  # samples that ran the detector (on the frame or on changed regions)
    gated_out: int = 0  # samples with a change but nothing text-like in it
    deduped: int = 0  # samples identical to the last
    recognised: int = 0  # line crops sent to the recogniser
    reused: int = 0  # detected lines found in the cache instead of recognised
    _reader: LineReader | None = None

    def feed(self, t: float, image: np.ndarray, feat: np.ndarray, period: float) -> None:
        if self.last_feat is not None and self._unchanged(np.abs(feat - self.last_feat)):
            self.deduped += 1
            self._extend(t + period)
            return
        self.last_feat = feat
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        q = self.quarter
        small = cv2.resize(gray, (max(1, gray.shape[1] // q), max(1, gray.shape[0] // q)), interpolation=cv2.INTER_AREA)
        blocks = edge_blocks(gray)
        regions, whole = self._changed_regions(small, gray.shape)
        todo = [r for r in regions if whole or self._needs_reading(r, blocks)]
        if self.ref is None or whole:
            self.ref, self.ref_blocks = small, blocks
        else:
            for r in regions:  # what is examined now is the new reference there
                self.ref[_cells(r, q)] = small[_cells(r, q)]
                self.ref_blocks[_cells(r, 16)] = blocks[_cells(r, 16)]
        kept = [ln for ln in self.lines if not any(_overlap(ln.box, r) for r in todo)]
        texty = [r for r in todo if _share(blocks, r) >= self.min_text_blocks]
        if not texty:
            self.gated_out += 1
            self._merge(t, period, kept)
            return
        self.ocr_runs += 1
        self._merge(t, period, kept + self._read(image, texty))

    def _needs_reading(self, region: tuple[int, int, int, int], blocks: np.ndarray) -> bool:
        """A changed region is read again when a line was there, or when it gained text-like blocks.

        A moving picture (a speaker's camera, a drifting background) changes every sample without
        gaining text: its count of edge-dense blocks stays put, while a caption appearing adds a row
        of them. Only lines worth a span count, so noise read in a photo does not pin the region.
        """
        if any(_overlap(ln.box, region) for ln in self.lines):
            return True
        now, before = int(blocks[_cells(region, 16)].sum()), int(self.ref_blocks[_cells(region, 16)].sum())
        return now > before * (1 + self.new_blocks) + 1

    def _changed_regions(self, small: np.ndarray,
                         shape: tuple[int, int]) -> tuple[list[tuple[int, int, int, int]], bool]:
        """Frame rectangles to examine again (changed areas grown over the lines they touch), and
        whether that is the whole frame (a cut, a new slide layout, the first sample)."""
        h, w = shape
        if self.ref is None or self.ref.shape != small.shape:
            return [(0, 0, w, h)], True
        changed = (cv2.absdiff(small, self.ref) > self.changed_level).astype(np.uint8)
        if not changed.any():
            return [], False
        # wider than tall: the glyphs of one line join into one region
        mask = cv2.dilate(changed, np.ones((3, 9), np.uint8))
        q = self.quarter
        rects = [(x * q, y * q, min(w - x * q, bw * q), min(h - y * q, bh * q))
                 for x, y, bw, bh in _components(mask, 1)]
        rects = _grow(rects, [ln.box for ln in self.lines], w, h)
        if sum(rw * rh for _, _, rw, rh in rects) > self.full_read_share * w * h:
            return [(0, 0, w, h)], True
        return [r for r in rects if r[2] >= 8 and r[3] >= 8], False

    def _read(self, image: np.ndarray, regions: list[tuple[int, int, int, int]]) -> list[Line]:
        if self._reader is None:
            self._reader = LineReader()
        rd, min_side = self._reader, min(image.shape[:2])
        found: list[tuple[list[float], tuple[str, float] | None, np.ndarray, tuple]] = []
        for region in regions:
            for quad in rd.detect(image, region, min_side):
                crop = rd.crop(image, quad)
                if crop.size == 0:
                    continue
                sig = signature(crop)
                found.append((_rect(quad), self.cache.find(sig), crop, sig))
        todo = [i for i, f in enumerate(found) if f[1] is None]
        self.reused += len(found) - len(todo)
        self.recognised += len(todo)
        for i, read in zip(todo, self._reader.recognise([found[i][2] for i in todo])):
            self.cache.add(found[i][3], *read)
            found[i] = (found[i][0], read, found[i][2], found[i][3])
        return [Line(read[0], read[1], box) for box, read, _, _ in found if read is not None]

    def _merge(self, t: float, period: float, lines: list[Line]) -> None:
        self.lines = [ln for ln in lines if meaningful(ln.text, ln.score, self.min_score)]
        seen: dict[str, Span] = {}
        for ln in self.lines:
            key = _norm(ln.text)
            span = seen.get(key) or self.open.get(key)
            if span is None:
                span = Span(ln.text, t, t + period, ln.box, ln.score)
            span.end_s, span.score = t + period, max(span.score, ln.score)
            seen[key] = span
        self.spans += [s for k, s in self.open.items() if k not in seen]
        self.open = seen

    def _extend(self, end: float) -> None:
        for s in self.open.values():  # nothing changed on screen: open spans continue
            s.end_s = end

    def _unchanged(self, diff: np.ndarray) -> bool:
        """Nothing moved overall and no region changed strongly.

        The mean alone missed a slide whose words changed on the same background: new text moves
        few pixels of a 64x36 thumbnail, but those it moves, it moves a lot.
        """
        return float(diff.mean()) < self.same_frame and float(np.percentile(diff, 99)) < self.same_region

    def finish(self, end_s: float) -> list[dict]:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        for s in self.open.values():
            s.end_s = min(s.end_s, end_s)
        self.spans += list(self.open.values())
        self.open = {}
        return [s.as_dict() for s in sorted(self.spans, key=lambda s: (s.start_s, s.box[1], s.box[0]))]


def _overlap(box: list[float], region: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    rx, ry, rw, rh = region
    return x < rx + rw and rx < x + w and y < ry + rh and ry < y + h
