"""Errors about the request itself, before any domain is involved."""

from __future__ import annotations

from clipdex.errors.base import ClipdexError, Invalid


class ServerError(ClipdexError):
    """Our side failed; nothing about the request was wrong, so it may be retried."""

    status, title, retryable = 500, "Internal error", True


class InternalError(ServerError):
    code = "internal"
    hint = "Retry later; if it persists, report the request_id to the operator."


class RequestInvalid(Invalid):
    code, title = "request.invalid", "Invalid request"
    hint = "Fix the fields listed in `errors` (see the OpenAPI schema)."


class InvalidCursor(Invalid):
    code, title = "request.invalid_cursor", "Invalid cursor"
    hint = "Send `next_cursor` exactly as a previous page returned it, with the same sort."


class MethodNotAllowed(ClipdexError):
    status, code, title = 405, "request.method_not_allowed", "Method not allowed"
    hint = "Use one of the methods the OpenAPI schema lists for this path."
