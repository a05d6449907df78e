"""The error base class, the families that set an HTTP status, and the catalogue they register into.

A *catalogued* error is a class that names its own ``code``: the code is stable API, documented in
``docs/errors.md`` (generated from these classes), and belongs to exactly one class. Families such as
``Conflict`` only set a status and a default ``retryable``; they exist for ``except`` clauses and to
be subclassed, never to be raised as they are.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

_REGISTERED: list[type[ClipdexError]] = []


class InlineErrorCode(DeprecationWarning):
    """``code=`` was passed at raise time; raise the catalogued class that owns the code instead."""


class ClipdexError(Exception):
    """Base of every error a client may see, rendered as problem+json by ``api/problems.py``.

    ``retryable`` says whether the same request or stage may succeed later without change: the job
    runner retries by it, and clients may too.
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "request.invalid"
    title: ClassVar[str] = "Bad request"
    retryable: ClassVar[bool] = False
    hint: ClassVar[str] = ""
    # Statuses an instance may take besides ``status`` (documented; set by the class's own __init__).
    alt_statuses: ClassVar[tuple[int, ...]] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "code" in cls.__dict__:
            _REGISTERED.append(cls)

    def __new__(cls, *args: Any, code: str | None = None, **kw: Any):
        # Legacy ``SomeFamily(detail, code="x.y")``: becomes the catalogued class that owns the code.
        target = cls
        if code is not None:
            target = by_code().get(code, cls)
            why = "raise its class" if target is not cls else "it is not in the catalogue (clipdex/errors/)"
            warnings.warn(f"error code {code!r} passed inline: {why}", InlineErrorCode, stacklevel=2)
        obj = super().__new__(target)
        if not issubclass(target, cls):  # Python only calls __init__ on instances of cls
            obj.__init__(*args, code=code, **kw)
        return obj

    def __init__(self, detail: str | None = None, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        # ``status=`` only counts with an uncatalogued legacy code; a catalogued class's status is its own.
        if code is not None and code != type(self).code:  # not catalogued: kept as given (deprecated)
            self.code = code
            if status:
                self.status = status
        self.headers = headers or {}
        self.extensions = extensions


def catalogued(cls: type) -> bool:
    """True for classes that own a code (the catalogue); False for families and the base."""
    return isinstance(cls, type) and issubclass(cls, ClipdexError) and cls in _REGISTERED


def registered() -> list[type[ClipdexError]]:
    """Every class that declares its own code, in definition order (duplicates included, for the tests)."""
    return list(_REGISTERED)


def by_code() -> dict[str, type[ClipdexError]]:
    """The catalogue: code -> class (the first class wins if two claim one; a test forbids that)."""
    out: dict[str, type[ClipdexError]] = {}
    for cls in _REGISTERED:
        out.setdefault(cls.code, cls)
    return out


# --- families: a status and a default for retrying ---------------------------------------------

class BadRequest(ClipdexError):
    status, title = 400, "Bad request"


class Invalid(ClipdexError):
    """Well-formed but unacceptable input (HTTP 422)."""

    status, title = 422, "Invalid request"


class Unauthenticated(ClipdexError):
    status, title = 401, "Authentication required"


class Forbidden(ClipdexError):
    status, title = 403, "Not allowed"


class NotFound(ClipdexError):
    """The one answer for "missing" and "not yours"."""

    status, code, title = 404, "resource.not_found", "Not found"
    hint = "Check the id; resources of other tenants are reported as missing too."

    def __init__(self) -> None:
        # One message for "missing" and "not yours": the body must not tell them apart.
        super().__init__("The requested resource was not found.")


class Missing(ClipdexError):
    """Something named inside a resource the caller may see (a segment, a speaker) does not exist."""

    status, title = 404, "Not found"


class Conflict(ClipdexError):
    status, title = 409, "Conflict"


class StillProcessing(Conflict):
    """The resource exists but the processing that produces this part has not finished."""

    title = "Not ready"


class Gone(ClipdexError):
    status, title = 410, "Gone"


class PayloadTooLarge(ClipdexError):
    status, title = 413, "Payload too large"


class QuotaExceeded(ClipdexError):
    status, title = 402, "Quota exceeded"


class TooManyRequests(ClipdexError):
    """Rate or concurrency limits: the same request succeeds later (see Retry-After)."""

    status, title, retryable = 429, "Too many requests", True


class Unavailable(ClipdexError):
    """A dependency (model, mail server, payment provider) is missing or down: retry later."""

    status, title, retryable = 503, "Service unavailable", True


class TransientError(Exception):
    """A failure worth retrying (a tool timed out under load, storage hiccup).

    Not a ClipdexError on purpose: it never reaches a client as such (the API answers 500
    ``internal``, a job records ``job.stage_error``) and the runner retries it.
    """

    retryable: ClassVar[bool] = True


class UnscopedQuery(RuntimeError):
    """Raised by the ORM guard when tenant-owned rows are queried without a tenant context."""

    retryable: ClassVar[bool] = False
