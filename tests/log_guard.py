"""The log guard: a test fails when the server side logged a secret (issue 18, "Secrets and logs").

Every log record of the test (every logger but the test client's own ``httpx``/``httpcore``, which
print the URLs the test requested) is rendered the way the production formatter would, message,
arguments, extra fields and tracebacks included, and scanned for access tokens (JWTs), refresh
tokens (``rt_...``), API keys (``cdx_...``), signed-URL tokens (``/api/v1/blobs/<token>``) and the
test password. The root logger is at INFO while the test runs, as ``clipdex serve`` configures it.
"""

from __future__ import annotations

import logging
import re

CLIENT_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2")
PATTERNS: dict[str, re.Pattern[str]] = {
    "access token (JWT)": re.compile(r"eyJ[\w-]{6,}\.eyJ[\w-]{6,}\.[\w-]*"),
    "refresh token": re.compile(r"(?<![\w-])rt_[\w-]{20,}"),
    "API key": re.compile(r"(?<![\w-])cdx_[0-9a-f]{6,}_[\w-]{16,}"),
    "signed-URL token": re.compile(r"/api/v1/blobs/(?!<)[\w.~%-]{16,}"),
}


class LeakCatcher(logging.Handler):
    def __init__(self, password: str) -> None:
        super().__init__(level=logging.DEBUG)
        self.password = password
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return
        try:
            parts = [record.getMessage()]
        except Exception:  # noqa: BLE001  (a bad format string is not this guard's business)
            parts = [str(record.msg), repr(record.args)]
        parts += [f"{k}={v!r}" for k, v in record.__dict__.items() if k not in _STANDARD]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(logging.Formatter().formatException(record.exc_info))
        text = "\n".join(parts)
        for what, pattern in PATTERNS.items():
            m = pattern.search(text)
            if m:
                self.leaks.append(f"{what} in a log record of {record.name!r}: {_clip(text, m.start())}")
        if self.password and self.password in text:
            self.leaks.append(f"the test password in a log record of {record.name!r}: "
                              f"{_clip(text, text.index(self.password))}")


_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


def _clip(text: str, at: int) -> str:
    return repr(text[max(0, at - 80): at + 60])


class LogGuard:
    """Installed on the root logger for one test; ``leaks`` lists what it caught."""

    def __init__(self, password: str) -> None:
        self.catcher = LeakCatcher(password)
        self._level: int | None = None
        self._unpropagated: list[logging.Logger] = []

    def __enter__(self) -> LogGuard:
        root = logging.getLogger()
        self._level = root.level
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        root.addHandler(self.catcher)
        # loggers that do not propagate to the root get the catcher directly
        for logger in list(logging.Logger.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger) and not logger.propagate:
                logger.addHandler(self.catcher)
                self._unpropagated.append(logger)
        return self

    def __exit__(self, *exc) -> None:
        root = logging.getLogger()
        root.removeHandler(self.catcher)
        for logger in self._unpropagated:
            logger.removeHandler(self.catcher)
        if self._level is not None:
            root.setLevel(self._level)

    @property
    def leaks(self) -> list[str]:
        return self.catcher.leaks
