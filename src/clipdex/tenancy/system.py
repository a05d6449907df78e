"""The named tenancy exceptions: units of work that may see every tenant's rows.

A system session skips the ORM tenant guard and, on PostgreSQL, the row-level security policy. Each
one is opened for a ``SystemReason`` from a closed set, logged and counted
(``clipdex_system_sessions{reason=...}``). Outside ``tenancy/`` and the job machinery (``jobs/``),
code opens one only through ``system_session``; ``tests/security/test_system_sessions.py`` keeps
it so. Routes never open one: they call a service that does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session

from clipdex.db.engine import SystemReason

__all__ = ["SystemReason", "system_session"]


@contextlib.contextmanager
def system_session(platform, reason: SystemReason, *, readonly: bool = False) -> Iterator[Session]:
    """A cross-tenant unit of work for ``reason``; commits on success (``readonly``: see ``Database.tenant``)."""
    with platform.db.system(reason=reason, readonly=readonly) as s:
        yield s
