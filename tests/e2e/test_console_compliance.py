"""The console's compliance pages end to end: a real `clipdex serve` (compliance stage on, the model stages
off) processes a clip with a 5 Hz flash and a 3 s black gap; Playwright in the system Chromium opens the
list, the report, clicks findings (the player seeks) and downloads the PDF.

The spec is console/e2e/compliance.spec.ts; screenshots land in console/test-results/screenshots/compliance-*.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import json
from pathlib import Path

import pytest

from tests.e2e.test_console import browser_ready, _free_port, run_playwright, serving
from tests.media import FFMPEG

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
BIN = Path(sys.executable).parent
TITLE = "Flash and black test clip"

pytestmark = pytest.mark.slow


def _cli(env: dict, *args: str) -> None:
    r = subprocess.run([str(BIN / "clipdex"), *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _clip(path: Path) -> Path:
    """0-1 s pattern, 1-3 s full-screen 5 Hz white/black flashing, 3-5 pattern, 5-8 black, 8-10 pattern; a tone."""
    lum = "if(lt(mod(N\\,5)\\,2)\\,255\\,0)"
    parts = ["testsrc2=size=320x180:rate=25:duration=1",
             f"color=c=black:size=320x180:rate=25:duration=2,format=gray,geq=lum='{lum}'",
             "testsrc2=size=320x180:rate=25:duration=2", "color=c=black:size=320x180:rate=25:duration=3",
             "testsrc2=size=320x180:rate=25:duration=2"]
    args = [FFMPEG, "-v", "error", "-y"]
    for p in parts:
        args += ["-f", "lavfi", "-i", p]
    args += ["-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*1000*t):s=48000:d=10"]
    fc = "".join(f"[{i}:v]format=yuv420p[v{i}];" for i in range(5)) + "".join(f"[v{i}]" for i in range(5)) + \
        "concat=n=5:v=1:a=0[v]"
    subprocess.run(args + ["-filter_complex", fc, "-map", "[v]", "-map", "5:a", "-c:v", "libx264", "-preset",
                           "ultrafast", "-c:a", "aac", "-movflags", "+faststart", str(path)], check=True)
    return path


def _api(url: str, method: str, path: str, token: str | None = None, body: dict | None = None,
         data: bytes | None = None, ctype: str = "application/json") -> dict:
    req = urllib.request.Request(url + path, method=method, data=data if data is not None else
                                 (json.dumps(body).encode() if body is not None else None))
    req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def _upload(url: str, token: str, clip: Path) -> str:
    boundary = "clipdexe2eboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{TITLE}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{clip.name}\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    ctype = f"multipart/form-data; boundary={boundary}"
    return _api(url, "POST", "/api/v1/videos", token, data=body, ctype=ctype)["id"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_ready()
    tmp = tmp_path_factory.mktemp("compliance-e2e")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(tmp / "data"), "CLIPDEX_SECRET_KEY": "e2e-secret-" * 4,
           "CLIPDEX_PUBLIC_URL": url, "CLIPDEX_ENV": "test", "CLIPDEX_POLL_INTERVAL_S": "0.2",
           "CLIPDEX_WORKER_THREADS": "1", "CLIPDEX_LOG_LEVEL": "WARNING",
           "CLIPDEX_DISABLED_STAGES": "transcribe,diarize,sound_events,visual,index,summarize,scenes"}
    env.pop("CLIPDEX_DATABASE_URL", None)
    env.pop("CLIPDEX_STORAGE_URL", None)
    _cli(env, "migrate")
    _cli(env, "admin", "create-tenant", "Acme Media", "--slug", "acme", "--owner", "alice@acme.test",
         "--password", "alice-e2e-pass")
    clip = _clip(tmp / "flash-black.mp4")
    with serving(env, url, tmp / "serve.log"):
        token = _api(url, "POST", "/api/v1/auth/login", body={"email": "alice@acme.test",
                                                              "password": "alice-e2e-pass"})["access_token"]
        vid = _upload(url, token, clip)
        deadline = time.monotonic() + 180
        while _api(url, "GET", f"/api/v1/videos/{vid}", token)["status"] not in ("ready", "failed"):
            assert time.monotonic() < deadline, "the clip was not processed in time"
            time.sleep(0.5)
        yield {"url": url, "chromium": chromium, "log": tmp / "serve.log"}


def test_console_compliance(server):
    shots = CONSOLE / "test-results" / "screenshots"
    for old in shots.glob("compliance-*"):
        old.unlink()
    env = {**os.environ, "CLIPDEX_E2E_URL": server["url"], "CHROMIUM_PATH": server["chromium"],
           "E2E_COMPLIANCE": "1", "E2E_TITLE": TITLE, "E2E_USER_A": "alice@acme.test", "E2E_PASS_A": "alice-e2e-pass",
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": os.environ.get("CI", "")}
    run_playwright("e2e/compliance.spec.ts", env, server["log"])
    for name in ("compliance-list", "compliance-report", "compliance-report-eu"):
        assert (shots / f"{name}.png").is_file(), f"no screenshot {name}"
    pdf = shots / "compliance-report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
