"""The BlobStore protocol every storage backend implements."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    def put_file(self, key: str, path: Path) -> int:
        """Store a local file under ``key`` (atomically: readers never see a partial blob)."""

    def put_bytes(self, key: str, data: bytes) -> int: ...

    def adopt_file(self, key: str, path: Path) -> int:
        """Move a local temp file into the store under ``key`` (a rename when the store is local)."""

    def open_writer(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A writable stream; the blob appears under ``key`` only when the context exits cleanly."""

    def open(self, key: str) -> BinaryIO: ...

    def local_path(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local file with the blob's bytes for tools such as ffmpeg (a temp copy if remote)."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def modified_at(self, key: str) -> float | None:
        """Epoch seconds of the blob's last write, None when it does not exist (the reconciler's grace period)."""

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def list_prefix(self, prefix: str) -> Iterator[str]: ...

    def copy(self, src: str, dst: str) -> None:
        """Copy within the store (server-side on S3: the bytes never pass through this process)."""

    def move(self, src: str, dst: str) -> None: ...
