"""Domain errors with stable dotted codes; one handler turns them into RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class ClipdexError(Exception):
    """Base of every error a client may see. ``code`` is stable and documented."""

    status = 400
    code = "request.invalid"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, code: str | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.extensions = extensions


class NotFound(ClipdexError):
    status, code, title = 404, "resource.not_found", "Not found"

    def __init__(self) -> None:
        # One message for "missing" and "not yours": the body must not tell them apart.
        super().__init__("The requested resource was not found.")


class Unauthenticated(ClipdexError):
    status, code, title = 401, "auth.unauthenticated", "Authentication required"


class Forbidden(ClipdexError):
    status, code, title = 403, "auth.forbidden", "Not allowed"


class Conflict(ClipdexError):
    status, code, title = 409, "resource.conflict", "Conflict"


class TooManyRequests(ClipdexError):
    status, code, title = 429, "rate.limited", "Too many requests"


class QuotaExceeded(ClipdexError):
    status, code, title = 402, "quota.exceeded", "Quota exceeded"


class PayloadTooLarge(ClipdexError):
    status, code, title = 413, "upload.too_large", "Upload too large"


class MediaRejected(ClipdexError):
    """Untrusted media that cannot or may not be processed. Permanent: never retried."""

    status, code, title = 422, "media.rejected", "Media rejected"


class ImportRejected(ClipdexError):
    status, code, title = 422, "import.rejected", "Import rejected"


class TransientError(Exception):
    """A failure worth retrying (a tool timed out under load, storage hiccup)."""


class UnscopedQuery(RuntimeError):
    """Raised by the ORM guard when tenant-owned rows are queried without a tenant context."""
