"""Request context for logs and audit rows, structured logging, Prometheus metrics."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Histogram

# None, not {}: a mutable default would be one dict shared by every context. Read it via current_request().
_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("clipdex_request", default=None)

REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter("clipdex_http_requests", "HTTP requests", ["method", "route", "status"],
                        registry=REGISTRY)
HTTP_LATENCY = Histogram("clipdex_http_request_seconds", "HTTP request latency", ["route"],
                         registry=REGISTRY)
SYSTEM_SESSIONS = Counter("clipdex_system_sessions", "Cross-tenant (system) sessions opened, by reason",
                          ["reason"], registry=REGISTRY)
STAGE_SECONDS = Histogram("clipdex_stage_seconds", "Stage run time", ["stage", "outcome"],
                          registry=REGISTRY, buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 7200))


def current_request() -> dict:
    return _request.get() or {}


def bind_request(**values) -> contextvars.Token:
    return _request.set({**current_request(), **values})


def reset_request(token: contextvars.Token) -> None:
    _request.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with request/tenant/job ids from context."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": round(time.time(), 3), "level": record.levelname, "logger": record.name,
               "msg": record.getMessage()}
        out.update({k: v for k, v in current_request().items() if k in ("request_id", "tenant_id", "job_id")})
        for key in ("tenant_id", "job_id", "stage", "video_id", "system_reason"):
            if hasattr(record, key):
                out[key] = str(getattr(record, key))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_clipdex", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._clipdex = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
