"""Blob storage: the BlobStore protocol, key layout, and backends."""

from __future__ import annotations

from pathlib import Path

from clipdex.storage.base import BlobStore


def open_store(url: str) -> BlobStore:
    """A BlobStore for ``file:///path`` (more schemes come with the scale-out work)."""
    if url.startswith("file://"):
        from clipdex.storage.local import LocalBlobStore

        return LocalBlobStore(Path(url[len("file://"):]))
    raise ValueError("unsupported storage URL scheme (supported: file://)")


__all__ = ["BlobStore", "open_store"]
