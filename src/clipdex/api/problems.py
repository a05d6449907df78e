"""One place that turns every error into RFC 9457 problem+json with a stable code."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clipdex.errors import (
    ActionForbidden,
    AuthRequired,
    ClipdexError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    RequestInvalid,
    UnscopedQuery,
)
from clipdex.observability import current_request

log = logging.getLogger("clipdex.api")

PROBLEM_BASE = "https://clipdex.dev/problems/"
# Framework HTTP errors with a catalogued class; any other status is answered as ``http.<status>``.
HTTP_ERRORS: dict[int, type[ClipdexError]] = {404: NotFound, 405: MethodNotAllowed, 401: AuthRequired,
                                              403: ActionForbidden}


def problem_of(cls: type[ClipdexError], detail: str, headers: dict | None = None, **ext) -> JSONResponse:
    """The response for a catalogued error class: its status, code and title."""
    return problem(cls.status, cls.code, cls.title, detail, headers, **ext)


def problem(status: int, code: str, title: str, detail: str, headers: dict | None = None, **ext) -> JSONResponse:
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail, "code": code,
            "request_id": current_request().get("request_id")}
    body.update(ext)
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def _validation_errors(exc: RequestValidationError) -> list[dict]:
    # Field locations and messages only: never echo input values back (they may hold secrets).
    return [{"loc": [str(p) for p in e.get("loc", ())][:6], "msg": str(e.get("msg", ""))[:200],
             "type": e.get("type", "")} for e in exc.errors()[:20]]


def install(app: FastAPI) -> None:
    @app.exception_handler(ClipdexError)
    async def _domain(request: Request, exc: ClipdexError):
        return problem(exc.status, exc.code, exc.title, exc.detail, exc.headers, **exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return problem_of(RequestInvalid, "The request does not match the API schema.", errors=_validation_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        cls = HTTP_ERRORS.get(exc.status_code)
        if cls is None:
            return problem(exc.status_code, f"http.{exc.status_code}", "HTTP error", "HTTP error", headers)
        detail = "The requested resource was not found." if cls is NotFound else cls.title
        return problem_of(cls, detail, headers)

    @app.exception_handler(UnscopedQuery)
    async def _unscoped(request: Request, exc: UnscopedQuery):
        log.error("tenant guard refused a query", exc_info=exc)
        return problem_of(InternalError, "Something went wrong on our side.")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.error("unhandled error", exc_info=exc)
        return problem_of(InternalError, "Something went wrong on our side.")
