"""One gallery for every kind of biometric embedding: faces (people) and voices (speaker profiles).

A gallery entry is a tenant-owned row that carries a unit-length centroid, stored as little-endian
float32 bytes. A new embedding is recognised as an entry when its cosine to the entry's centroid
reaches the kind's threshold; naming or merging folds embeddings into a centroid. The rows, their
tables and what else they hold (a person's faces, a voice's source) stay with their capability
(``people/service.py``, ``speech/speakers.py``); the vector side is here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

E = TypeVar("E")
DTYPE = "<f4"  # fixed byte order: a gallery written on one machine reads the same on any other


def pack(v) -> bytes:
    """The bytes stored for an embedding (float32, little-endian)."""
    return np.asarray(v, dtype=DTYPE).tobytes()


def unpack(b: bytes) -> np.ndarray:
    """The embedding stored by ``pack`` (read-only view of ``b``)."""
    return np.frombuffer(b, dtype=DTYPE)


def unit(v) -> np.ndarray:
    """``v`` scaled to length 1 (a zero vector stays zero)."""
    x = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(x))
    return x / n if n > 0 else x


def centroid(vectors: Iterable) -> np.ndarray:
    """The unit mean of ``vectors``: what an entry is matched by."""
    return unit(np.mean([np.asarray(v, dtype=np.float32) for v in vectors], axis=0))


def fold(stored: bytes, samples: int, new) -> bytes:
    """Packed centroid of ``samples`` embeddings (``stored``) with one more, each counted once."""
    return pack(unit(unit(unpack(stored)) * samples + unit(new)))


@dataclass
class Gallery(Generic[E]):
    """Entries of one tenant and one embedding kind, with their unit centroids, matched by cosine."""
    entries: list[E]
    vectors: list[np.ndarray]
    threshold: float

    @classmethod
    def of(cls, entries: Sequence[E], threshold: float,
           embedding: Callable[[E], bytes] = lambda e: e.embedding) -> Gallery[E]:
        """A gallery over ``entries`` whose packed centroid ``embedding(entry)`` returns."""
        return cls(list(entries), [unit(unpack(embedding(e))) for e in entries], threshold)

    def closest(self, v) -> tuple[E, float] | None:
        """The entry closest to ``v`` if it reaches the threshold (first of equals; other sizes skipped)."""
        q = unit(v)
        best = max(((float(q @ e), i) for i, e in enumerate(self.vectors) if e.size == q.size),
                   default=None, key=lambda x: x[0])
        if best is None or best[0] < self.threshold:
            return None
        return self.entries[best[1]], best[0]

    def assign(self, queries: dict[str, Sequence[float]]) -> dict[str, tuple[E, float]]:
        """``{label: (entry, cosine)}`` for the labels that reach the threshold, closest pairs first;
        each entry names at most one label (one voice is one speaker of a video)."""
        if not queries or not self.entries:
            return {}
        labels = list(queries)
        sim = np.stack([unit(queries[k]) for k in labels]) @ np.stack(self.vectors).T
        out: dict[str, tuple[E, float]] = {}
        taken: set[int] = set()
        for i, j in sorted(np.ndindex(sim.shape), key=lambda ij: -sim[ij]):
            if sim[i, j] < self.threshold:
                break
            if labels[i] in out or j in taken:
                continue
            out[labels[i]] = (self.entries[j], float(sim[i, j]))
            taken.add(j)
        return out
