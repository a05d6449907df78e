"""Blob storage: the BlobStore protocol, key layout, and backends."""

from __future__ import annotations

from pathlib import Path

from clipdex.storage.base import BlobStore


def open_store(url: str, settings=None) -> BlobStore:
    """A BlobStore for ``file:///path`` or ``s3://bucket/prefix`` (the latter configured by ``s3_*`` settings)."""
    if url.startswith("file://"):
        from clipdex.storage.local import LocalBlobStore

        return LocalBlobStore(Path(url[len("file://"):]))
    if url.startswith("s3://"):
        from clipdex.settings import get_settings
        from clipdex.storage.s3 import S3BlobStore

        return S3BlobStore.from_settings(url, settings if settings is not None else get_settings())
    raise ValueError("unsupported storage URL scheme (supported: file://, s3://)")


__all__ = ["BlobStore", "open_store"]
