"""BlobStore on a local folder (the embedded default)."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError("invalid blob key")
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("invalid blob key")
        return path

    def put_file(self, key: str, path: Path) -> int:
        with open(path, "rb") as src, self.open_writer(key) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        return self.size(key)

    def adopt_file(self, key: str, path: Path) -> int:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError:  # another filesystem: copy, then drop the temp file
            self.put_file(key, path)
            Path(path).unlink(missing_ok=True)
        return self.size(key)

    def put_bytes(self, key: str, data: bytes) -> int:
        with self.open_writer(key) as dst:
            dst.write(data)
        return len(data)

    @contextlib.contextmanager
    def open_writer(self, key: str) -> Iterator[BinaryIO]:
        target = self._path(key)
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        f = open(tmp, "wb")
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())
            f.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            if not f.closed:
                f.close()
            tmp.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise KeyError(key) from None

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.exists():
            raise KeyError(key)
        yield path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix.rstrip("/"))
        if not base.exists():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file()) if base.is_dir() else 1
        if base.is_dir():
            shutil.rmtree(base, ignore_errors=True)
        else:
            base.unlink(missing_ok=True)
        return count

    def list_prefix(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix.rstrip("/"))
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.is_file():
                    yield p.relative_to(self.root).as_posix()

    def copy(self, src: str, dst: str) -> None:
        with self.open_writer(dst) as out, open(self._path(src), "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), target)

    def modified_at(self, key: str) -> float | None:
        """Epoch seconds of the blob's last write (None when it does not exist)."""
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    def absolute(self, key: str) -> Path:
        """Local-only: the file behind a key, for range-request downloads."""
        return self._path(key)
