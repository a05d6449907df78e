"""Shared response shapes: one pagination convention, problem details."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Every list endpoint: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out."""

    items: list[T]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page; null at the end")


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable dotted ``code``."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "type": "https://clipdex.dev/problems/media.unrecognized", "title": "Media rejected", "status": 422,
        "detail": "The file is not a recognised audio or video format.", "code": "media.unrecognized",
        "request_id": "3f2a9c1d0b7e4a55"}})

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
