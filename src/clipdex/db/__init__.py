"""Database access: engine, scoped sessions, the tenant guard, migrations."""

from clipdex.db.engine import Database

__all__ = ["Database"]
