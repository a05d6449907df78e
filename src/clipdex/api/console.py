"""Serves the built web console (``console/dist``) at ``/``, with a fallback for client-side routes.

The console is a static single-page app that talks to the public API, so serving it is only
files: hashed bundles under ``/assets`` (cached for good) and ``index.html`` for every other
browser navigation that no API route answers (no caching, so a new build shows at once).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>clipdex</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto"><h1>clipdex</h1>
<p>The API is running. Read the <a href="/docs">API reference</a> or fetch
<a href="/openapi.json">openapi.json</a>. The web console is not built: run <code>make setup</code>
(or <code>npm ci &amp;&amp; npm run build</code> in <code>console/</code>) and restart.</p></body></html>"""

# Paths the SPA fallback never answers: API and machine endpoints keep their own 404s.
RESERVED = ("api/", "docs", "redoc", "openapi.json", "healthz", "readyz", "metrics", "assets/")


def console_dir() -> Path | None:
    """The built console: a copy packaged inside clipdex, else the source checkout's ``console/dist``."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "console_dist", here.parents[3] / "console" / "dist"):
        if (candidate / "index.html").is_file():
            return candidate
    return None


def install(app: FastAPI) -> None:
    """Routes ``/`` (and client-side routes) to the console, or to a landing page when none is built.

    The fallback hooks the 404 handler instead of adding a catch-all route, so every API route
    keeps its own answers (405 for a wrong method, problem+json 404 for an unknown API path).
    Call after ``problems.install``: it wraps the handler installed there.
    """
    dist = console_dir()
    if dist is None:
        @app.get("/", include_in_schema=False, response_class=HTMLResponse)
        def landing() -> str:
            return LANDING
        return

    index = dist / "index.html"

    # "/" is the console for every client (curl sends "Accept: */*"); only deeper client-side routes
    # depend on the Accept header, so scripts still get a 404 for a path that does not exist.
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def console_index() -> FileResponse:
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})

    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="console-assets")
    top_level = {p.name for p in dist.iterdir() if p.is_file() and p.name != "index.html"}
    previous = app.exception_handlers[StarletteHTTPException]

    async def console_or_problem(request: Request, exc: StarletteHTTPException):
        path = request.url.path.lstrip("/")
        if exc.status_code == 404 and request.method in ("GET", "HEAD") and not path.startswith(RESERVED):
            if path in top_level:  # favicon and the like
                return FileResponse(dist / path, headers={"Cache-Control": "public, max-age=3600"})
            if "text/html" in request.headers.get("accept", ""):
                return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
        return await previous(request, exc)

    app.add_exception_handler(StarletteHTTPException, console_or_problem)
