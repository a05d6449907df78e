"""The process-wide services one deployment needs: settings, database, blob store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from clipdex.db import Database
from clipdex.settings import Settings
from clipdex.storage import BlobStore, open_store


@dataclass
class Platform:
    settings: Settings
    db: Database
    blobs: BlobStore

    @classmethod
    def from_settings(cls, settings: Settings) -> "Platform":
        secure_data_dir(settings.data_dir)
        db = Database(settings.resolved_database_url, app_role=settings.database_app_role)
        return cls(settings=settings, db=db, blobs=open_store(settings.resolved_storage_url, settings))

    def close(self) -> None:
        self.db.dispose()


def secure_data_dir(path: Path) -> None:
    """Create the data folder private to this user (0700) and tighten an existing one, with the
    SQLite database and the secret key in it (0600): media, transcripts and keys of every tenant
    live below it, and other local users have no business there."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
        for name in ("clipdex.db", "clipdex.db-wal", "clipdex.db-shm", "secret.key"):
            if (path / name).exists():
                os.chmod(path / name, 0o600)
    except PermissionError:  # a folder owned by someone else: leave it, doctor reports the modes
        pass
