"""Helpers shared by the ingest tests: problem+json checks, custom tiers, what a tenant kept, a real server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import uvicorn
from sqlalchemy import func, select

from clipdex.models import Job, Video
from clipdex.platform import Platform
from clipdex.settings import DEFAULT_TIERS, Tier
from clipdex.storage import keys

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
LEAKS = ("/tmp", "staging", "Traceback", "/work/", ".py\"")


def assert_problem(r, status: int, code: str | None = None, *, codes: tuple[str, ...] = ()) -> dict:
    """An RFC 9457 body with a stable code, the request id, and nothing about the server's insides."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert PROBLEM_KEYS <= body.keys(), body
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    if codes:
        assert body["code"] in codes, body
    assert body["type"].endswith("/" + body["code"]), body
    assert body["title"] and body["detail"], body
    assert body["request_id"] and body["request_id"] == r.headers.get("x-request-id"), body
    for leak in LEAKS:
        assert leak not in r.text, f"{leak!r} leaked in {r.text}"
    return body


def add_tier(platform: Platform, name: str, **limits) -> Tier:
    """Register a tier derived from 'pro' with some limits changed (tenants created with it use it)."""
    tier = DEFAULT_TIERS["pro"].model_copy(update={"name": name, **limits})
    platform.settings.tiers[name] = tier
    return tier


def kept(platform: Platform, tenant_id: uuid.UUID) -> dict:
    """What a tenant has left behind: rows, blobs and staged upload files."""
    with platform.db.tenant(tenant_id) as s:
        videos = s.scalar(select(func.count()).select_from(Video).where(Video.tenant_id == tenant_id))
        jobs = s.scalar(select(func.count()).select_from(Job).where(Job.tenant_id == tenant_id))
    staging = platform.settings.staging_dir
    return {"videos": videos, "jobs": jobs,
            "blobs": list(platform.blobs.list_prefix(keys.tenant_prefix(tenant_id))),
            "staged": sorted(p.name for p in staging.glob("upload-*")),
            "scratch": sorted(p.name for p in staging.glob("clipdex-*"))}


NOTHING = {"videos": 0, "jobs": 0, "blobs": [], "staged": [], "scratch": []}


def assert_nothing_kept(platform: Platform, tenant_id: uuid.UUID) -> None:
    assert kept(platform, tenant_id) == NOTHING


@contextlib.contextmanager
def live_server(app) -> Iterator[int]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread (real sockets: streaming, early answers)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def raw_connection(port: int, *, sndbuf: int = 64 * 1024) -> Iterator[socket.socket]:
    """A client socket with a small send buffer, so bytes sent track bytes the server took closely."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.settimeout(15)
    sock.connect(("127.0.0.1", port))
    try:
        yield sock
    finally:
        sock.close()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response with a Content-Length body (what the API sends for problems)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def problem_of(body: bytes) -> dict:
    return json.loads(body.decode())
