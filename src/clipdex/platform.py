"""The process-wide services one deployment needs: settings, database, blob store."""

from __future__ import annotations

from dataclasses import dataclass

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
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url, app_role=settings.database_app_role)
        return cls(settings=settings, db=db, blobs=open_store(settings.resolved_storage_url, settings))

    def close(self) -> None:
        self.db.dispose()
