"""URL imports: SSRF refusals up front, then real fetches from a local HTTP server through the worker."""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clipdex.storage import keys
from tests.api.ingest_support import add_tier, assert_nothing_kept, assert_problem, kept
from tests.conftest import drain, new_tenant
from tests.media import make_video

IMPORT_LIMIT = 400_000


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("import") / "clip.mp4", seconds=1, size="160x120", tone_hz=700)
    data = path.read_bytes()
    assert len(data) < IMPORT_LIMIT
    return data


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        kind, value = self.server.routes.get(self.path, ("missing", None))
        try:
            if kind == "bytes":
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(value)))
                self.end_headers()
                self.wfile.write(value)
            elif kind == "stream":  # no Content-Length: the body ends when the connection closes
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.end_headers()
                for _ in range(value // 65536):
                    self.wfile.write(bytes(65536))
            elif kind == "redirect":
                self.send_response(302)
                self.send_header("Location", value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the importer hung up (it stops reading at its limit)

    def log_message(self, *args):
        pass


@dataclass
class Origin:
    """A plain HTTP server on 127.0.0.1, and a second one on 127.0.0.2 that no import may reach."""

    main: ThreadingHTTPServer
    other: ThreadingHTTPServer
    threads: list = field(default_factory=list)

    def url(self, path: str, server: ThreadingHTTPServer | None = None) -> str:
        host, port = (server or self.main).server_address[:2]
        return f"http://{host}:{port}{path}"


def _server(host: str, routes: dict) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer((host, 0), _Handler)
    srv.daemon_threads = True
    srv.routes, srv.hits = routes, []
    return srv


@pytest.fixture
def origin(clip_bytes):
    routes: dict = {}
    o = Origin(_server("127.0.0.1", routes), _server("127.0.0.2", routes))
    routes.update({
        "/media/clip.mp4": ("bytes", clip_bytes),
        "/media/copy.mp4": ("bytes", clip_bytes),
        "/media/big.mp4": ("bytes", bytes(IMPORT_LIMIT + 1)),
        "/media/endless.mp4": ("stream", 8 * IMPORT_LIMIT),
        "/hop/local": ("redirect", "/media/clip.mp4"),
        "/hop/loopback": ("redirect", o.url("/media/clip.mp4", o.other)),
        "/hop/metadata": ("redirect", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    })
    for srv in (o.main, o.other):
        th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        th.start()
        o.threads.append(th)
    yield o
    for srv in (o.main, o.other):
        srv.shutdown()
        srv.server_close()


def _import(client, t, url: str, **extra):
    return client.post("/api/v1/videos/import", headers=t.headers, json={"url": url, **extra})


def _allow_loopback(platform) -> None:
    platform.settings.import_allowed_cidrs = ["127.0.0.1/32"]
    add_tier(platform, "importer", max_upload_bytes=IMPORT_LIMIT)


# --- refused when asked ------------------------------------------------------------------------

NOT_HTTP = ("request.invalid", "import.unsupported_scheme")


def test_private_and_non_http_urls_are_refused_up_front(sq, origin):
    platform, client = sq
    t = new_tenant(platform, client, "Ssrf")
    port = origin.main.server_address[1]
    cases = {
        f"http://127.0.0.1:{port}/media/clip.mp4": ("import.forbidden_address",),
        f"http://localhost:{port}/media/clip.mp4": ("import.forbidden_address",),
        f"http://[::1]:{port}/media/clip.mp4": ("import.forbidden_address",),
        f"http://[::ffff:127.0.0.1]:{port}/media/clip.mp4": ("import.forbidden_address",),
        f"http://127.1:{port}/media/clip.mp4": ("import.forbidden_address",),
        f"http://2130706433:{port}/media/clip.mp4": ("import.forbidden_address",),
        f"http://0.0.0.0:{port}/media/clip.mp4": ("import.forbidden_address",),
        "http://169.254.169.254/latest/meta-data/": ("import.forbidden_address",),
        "http://10.0.0.1/x.mp4": ("import.forbidden_address",),
        "http://172.16.5.4/x.mp4": ("import.forbidden_address",),
        "http://192.168.1.10/x.mp4": ("import.forbidden_address",),
        "http://100.64.0.1/x.mp4": ("import.forbidden_address",),
        "http://[fd00::1]/x.mp4": ("import.forbidden_address",),
        "http://[fe80::1]/x.mp4": ("import.forbidden_address",),
        "https://127.0.0.1/x.mp4": ("import.forbidden_address",),
        "http://user:secret@127.0.0.1/x.mp4": ("import.invalid_url", "import.forbidden_address"),
        "file:///etc/passwd": NOT_HTTP,
        "ftp://ftp.example.com/x.mp4": NOT_HTTP,
        "gopher://127.0.0.1:6379/_INFO": NOT_HTTP,
        "javascript:alert(1)": NOT_HTTP,
    }
    wrong = {}
    for url, codes in cases.items():
        r = _import(client, t, url)
        try:
            assert_problem(r, 422, codes=codes)
            assert "secret" not in r.text  # credentials in a URL are never echoed back
        except AssertionError as e:
            wrong[url] = str(e)[:300]
    assert wrong == {}
    assert origin.main.hits == [] and origin.other.hits == []
    assert_nothing_kept(platform, t.id)


# --- fetched by the worker ---------------------------------------------------------------------

def test_import_from_an_allowed_network_is_fetched_and_processed(client, platform, origin, clip_bytes):
    _allow_loopback(platform)
    t = new_tenant(platform, client, "Importer", tier="importer")

    r = _import(client, t, origin.url("/media/clip.mp4"), title="From the NAS", tags=["nas"])

    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "queued" and queued["source"] == "import" and queued["sha256"] is None
    assert queued["title"] == "From the NAS" and queued["tags"] == ["nas"]
    assert drain(platform) == 4  # fetch, probe, extract_audio, thumbnail
    video = client.get(f"/api/v1/videos/{queued['id']}", headers=t.headers).json()
    assert video["status"] == "ready", video
    assert video["sha256"] == hashlib.sha256(clip_bytes).hexdigest()
    assert video["size_bytes"] == len(clip_bytes) and video["filename"] == "clip.mp4"
    assert abs(video["duration_s"] - 1.0) < 0.2 and video["width"] == 160
    link = client.get(f"/api/v1/videos/{queued['id']}/download", headers=t.headers).json()
    assert client.get(link["url"].replace(platform.settings.public_url, "")).content == clip_bytes
    original = keys.original(t.id, queued["id"], "mp4")
    assert original in kept(platform, t.id)["blobs"]
    assert origin.main.hits == ["/media/clip.mp4"]
    assert kept(platform, t.id)["scratch"] == []


OUTCOMES = {
    "/hop/local": ("ready", None),  # redirects are followed...
    "/hop/loopback": ("failed", "import.forbidden_address"),  # ...and every hop is checked again
    "/hop/metadata": ("failed", "import.forbidden_address"),
    "/media/nothing-here.mp4": ("failed", "import.http_error"),
    "/media/big.mp4": ("failed", "import.too_large"),  # declared Content-Length over the limit
    "/media/endless.mp4": ("failed", "import.too_large"),  # no Content-Length: counted while reading
}


def test_import_outcomes_redirects_errors_and_limits(sq, origin):
    platform, client = sq
    _allow_loopback(platform)
    t = new_tenant(platform, client, "Hops", tier="importer")
    ids = {}
    for path in OUTCOMES:
        r = _import(client, t, origin.url(path))
        assert r.status_code == 202, r.text
        ids[path] = r.json()["id"]

    drain(platform)

    got, problems = {}, []
    for path, video_id in ids.items():
        video = client.get(f"/api/v1/videos/{video_id}", headers=t.headers).json()
        got[path] = (video["status"], video["error_code"])
        if video["status"] == "failed":
            fetch = video["job"]["stages"][0]
            if not (video["job"]["status"] == "failed" and fetch["name"] == "fetch"
                    and fetch["error_code"] == video["error_code"] and fetch["attempt"] == 1):
                problems.append((path, "the fetch stage should fail once, not be retried", video["job"]))
            if not video["error_message"] or "169.254" in video["error_message"]:
                problems.append((path, "unreadable or leaky message", video["error_message"]))
            if any(video_id in key for key in kept(platform, t.id)["blobs"]):
                problems.append((path, "blobs kept for a failed import", kept(platform, t.id)["blobs"]))
    assert got == OUTCOMES
    assert problems == []
    assert origin.other.hits == []  # nothing ever connected to the forbidden address
    assert kept(platform, t.id)["scratch"] == []


def test_importing_the_same_bytes_twice_fails_the_second_as_duplicate(sq, origin):
    platform, client = sq
    _allow_loopback(platform)
    t = new_tenant(platform, client, "Twice", tier="importer")
    first = _import(client, t, origin.url("/media/clip.mp4")).json()
    drain(platform)
    second = _import(client, t, origin.url("/media/copy.mp4")).json()

    drain(platform)

    one = client.get(f"/api/v1/videos/{first['id']}", headers=t.headers).json()
    two = client.get(f"/api/v1/videos/{second['id']}", headers=t.headers).json()
    assert one["status"] == "ready"
    assert two["status"] == "failed" and two["error_code"] == "video.duplicate", two
    assert first["id"] in two["error_message"]
    assert list(kept(platform, t.id)["blobs"]) == [b for b in kept(platform, t.id)["blobs"] if first["id"] in b]


def test_the_checked_dns_answer_is_the_address_connected_to(sq, origin, clip_bytes, monkeypatch):
    """DNS rebinding: the name is public-safe when checked and points elsewhere a moment later.

    The resolver is the one boundary faked here: ``check_url`` gets 127.0.0.1 (allowed for this
    test), any later lookup gets 127.0.0.2 (forbidden, and serving the same file). The import must
    connect to the address that was checked, never look the name up again.
    """
    platform, client = sq
    _allow_loopback(platform)
    t = new_tenant(platform, client, "Rebind", tier="importer")
    real = socket.getaddrinfo
    port = origin.main.server_address[1]

    def resolver(host, *args, **kwargs):
        if host != "media.rebind.test":
            return real(host, *args, **kwargs)
        if sys._getframe(1).f_code.co_name == "check_url":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", origin.other.server_address[:2])]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    r = _import(client, t, f"http://media.rebind.test:{port}/media/clip.mp4")
    assert r.status_code == 202, r.text

    drain(platform)

    video = client.get(f"/api/v1/videos/{r.json()['id']}", headers=t.headers).json()
    assert video["status"] == "ready", video
    assert video["sha256"] == hashlib.sha256(clip_bytes).hexdigest()
    assert origin.main.hits == ["/media/clip.mp4"] and origin.other.hits == []
