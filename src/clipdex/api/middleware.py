"""Request ids, access metrics and API-call metering."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clipdex.observability import HTTP_LATENCY, HTTP_REQUESTS, bind_request, reset_request

_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContext:
    """Pure ASGI middleware (does not buffer streaming bodies, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, meter=None) -> None:
        self.app, self.meter = app, meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _RID.match(incoming) else uuid.uuid4().hex[:16]
        client = scope.get("client")
        token = bind_request(request_id=rid, ip=client[0] if client else "")
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status["code"])).inc()
            HTTP_LATENCY.labels(path).observe(time.perf_counter() - start)
            principal = (scope.get("state") or {}).get("principal")
            if self.meter is not None and principal is not None:
                self.meter.hit(principal.tenant_id)
            reset_request(token)
