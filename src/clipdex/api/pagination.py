"""One pagination convention: ``?limit=&cursor=`` with opaque keyset cursors, ``{items, next_cursor}``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Select, and_, func, or_
from sqlalchemy.orm import Session

from clipdex.errors import InvalidCursor
from clipdex.storage.signing import b64url, unb64url


@dataclass
class PageRequest:
    limit: int
    cursor: str | None


def _page_params(limit: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
                 cursor: Annotated[str | None, Query(max_length=512, description="from next_cursor")] = None
                 ) -> PageRequest:
    return PageRequest(limit, cursor)


PageParams = Annotated[PageRequest, Depends(_page_params)]


@dataclass
class PageResult:
    items: list
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    return b64url(json.dumps(values, default=str).encode())


def _decode(cursor: str) -> list[Any]:
    try:
        return json.loads(unb64url(cursor))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        raise InvalidCursor("The cursor is not valid.") from None


def paginate(s: Session, query: Select, model, page: PageRequest, *, sort: str = "-created_at",
             nulls_as: Any = None) -> PageResult:
    """Keyset pagination over ``sort`` (a column name, ``-`` for descending) with ``id`` as tie-breaker."""
    desc = sort.startswith("-")
    col = getattr(model, sort.lstrip("-"))
    key = func.coalesce(col, nulls_as) if nulls_as is not None else col
    if page.cursor:
        raw = _decode(page.cursor)
        if not isinstance(raw, list) or len(raw) != 3 or raw[0] != sort:
            raise InvalidCursor("The cursor belongs to another sort order.")
        value = _coerce(col, raw[1])
        after = (key < value) if desc else (key > value)
        last_id = _coerce(model.id, raw[2])
        same = and_(key == value, (model.id < last_id) if desc else (model.id > last_id))
        query = query.where(or_(after, same))
    order = (key.desc(), model.id.desc()) if desc else (key.asc(), model.id.asc())
    rows = list(s.scalars(query.order_by(*order).limit(page.limit + 1)))
    nxt = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        v = getattr(last, sort.lstrip("-"))
        nxt = _encode([sort, (nulls_as if v is None else v), str(last.id)])
    return PageResult(rows, nxt)


def _coerce(col, value):
    from datetime import datetime
    import uuid as _uuid

    ptype = col.type.python_type if hasattr(col.type, "python_type") else None
    try:
        if col.key == "id" or ptype is _uuid.UUID:
            return _uuid.UUID(str(value))
        if ptype is datetime or "DateTime" in type(col.type).__name__:
            return datetime.fromisoformat(value)
        if ptype in (int, float):
            return ptype(value)
    except (ValueError, TypeError, NotImplementedError):
        raise InvalidCursor("The cursor is not valid.") from None
    return value
