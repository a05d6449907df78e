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


# The console is a same-origin single-page app: scripts, styles, API calls, images and media all come
# from this origin (media may come from object storage through the signed-link redirect).
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: blob:{store}; media-src 'self' blob:{store}; connect-src 'self'; "
               "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
# FastAPI's reference pages load Swagger UI / ReDoc from their CDN with an inline bootstrap script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
            "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'")


def store_origin(settings) -> str:
    """The object store's origin, for media redirected there by signed links (empty for a local folder)."""
    if not (settings.storage_url or "").startswith("s3://"):
        return ""
    from urllib.parse import urlsplit

    endpoint = settings.s3_public_endpoint_url or settings.s3_endpoint_url
    if not endpoint:
        return " https://*.amazonaws.com"
    parts = urlsplit(endpoint)
    return f" {parts.scheme}://{parts.netloc}"


class SecurityHeaders:
    """Headers every response carries: no sniffing, no framing, no referrer, and a strict CSP."""

    def __init__(self, app: ASGIApp, settings=None) -> None:
        self.app = app
        store = store_origin(settings) if settings is not None else ""
        self.common = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                       (b"referrer-policy", b"no-referrer"),
                       (b"cross-origin-opener-policy", b"same-origin"),
                       (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
        self.csp = CONSOLE_CSP.format(store=store).encode()
        self.docs_csp = DOCS_CSP.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "").startswith(("/docs", "/redoc"))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.common if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", self.docs_csp if docs else self.csp))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_wrapper)
