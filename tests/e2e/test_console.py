"""The web console end to end: Playwright drives the system Chromium against a real `clipdex serve`.

The server runs on a fresh SQLite data dir with the embedded worker and the real pipeline
(transcription included); the browser signs in, uploads a spoken video, watches it finish, searches
a spoken phrase, follows a result and a citation into the player, and checks that a second
tenant sees none of it. The Playwright specs live in console/e2e/; screenshots of every page land
in console/test-results/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.media import FFMPEG
from tests.speech.media import speak

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
BIN = Path(sys.executable).parent
SENTENCE = "Hello and welcome. The quarterly budget review starts on monday. Please bring your sales numbers."
PHRASE = "quarterly budget review"
QUESTION = "When does the quarterly budget review start?"

# the shared corpus sits beside the repo (also in CI): a second, different real face for merge/split
CORPUS = Path(os.environ.get("CLIPDEX_CORPUS", ROOT.parent / "shared" / "corpus"))
SECOND_FACE = CORPUS / "images" / "faces" / "obama.jpg"

pytestmark = pytest.mark.slow


def _need(ok: bool, why: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"{why} (required under CI)")
        pytest.skip(why)


def _chromium() -> str | None:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and Path(found).exists() else None


def _make_video(tmp: Path) -> Path:
    """Three seconds each of two different real faces (so the people gallery has two people to merge and
    split), then a test pattern; espeak-ng says SENTENCE throughout."""
    import cv2
    import skimage.data

    face = tmp / "face.png"
    cv2.imwrite(str(face), skimage.data.astronaut()[..., ::-1])
    wav = speak(tmp / "speech.wav", SENTENCE, speed=140)
    out = tmp / "budget-review.mp4"
    fit = ("scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=15,"
           "format=yuv420p")
    subprocess.run([FFMPEG, "-v", "error", "-y", "-loop", "1", "-t", "3", "-i", str(face),
                    "-loop", "1", "-t", "3", "-i", str(SECOND_FACE),
                    "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=15:duration=6", "-i", str(wav),
                    "-filter_complex", f"[0:v]{fit}[a];[1:v]{fit}[b];[2:v]format=yuv420p[c];"
                                       "[a][b][c]concat=n=3:v=1:a=0[v]",
                    "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-shortest", "-movflags", "+faststart", str(out)], check=True)
    return out


def browser_ready() -> str:
    """The system Chromium's path, once the console is built and Playwright installed (else skip/fail)."""
    chromium = _chromium()
    _need(chromium is not None, "no system Chromium (apt-get install chromium)")
    _need((CONSOLE / "dist" / "index.html").is_file(), "console not built (make console)")
    _need((CONSOLE / "node_modules" / ".bin" / "playwright").exists(), "console node_modules missing (make console)")
    return chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str) -> None:
    subprocess.run([str(BIN / "clipdex"), *args], env=env, check=True, capture_output=True, timeout=120)


def _wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"clipdex serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("clipdex serve did not become ready")


@contextlib.contextmanager
def serving(env: dict, url: str, log_path: Path, ready_timeout_s: float = 60) -> Iterator[None]:
    """``clipdex serve`` at ``url`` with ``env`` (its output in ``log_path``) until the block ends."""
    port = url.rsplit(":", 1)[1]
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(BIN / "clipdex"), "serve", "--host", "127.0.0.1", "--port", port], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(url, proc, ready_timeout_s)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_playwright(spec: str, env: dict, server_log: Path) -> None:
    """Run one Playwright spec of the console; on failure show its output and the server's log tail."""
    r = subprocess.run([str(CONSOLE / "node_modules" / ".bin" / "playwright"), "test", spec], cwd=CONSOLE, env=env,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        tail = server_log.read_text()[-3000:]
        pytest.fail(f"Playwright failed ({r.returncode}):\n{r.stdout[-8000:]}\n{r.stderr[-3000:]}\n"
                    f"--- server log ---\n{tail}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_ready()
    _need(SECOND_FACE.is_file(), f"shared corpus face {SECOND_FACE} missing")
    tmp = tmp_path_factory.mktemp("console-e2e")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(tmp / "data"), "CLIPDEX_SECRET_KEY": "e2e-secret-" * 4,
           "CLIPDEX_PUBLIC_URL": url, "CLIPDEX_ENV": "test", "CLIPDEX_POLL_INTERVAL_S": "0.2",
           "CLIPDEX_WORKER_THREADS": "2", "CLIPDEX_LOG_LEVEL": "WARNING",
           # short-lived access tokens: the console must rotate them mid-run without signing anyone out
           "CLIPDEX_ACCESS_TOKEN_TTL_S": "75"}
    env.pop("CLIPDEX_DATABASE_URL", None)
    env.pop("CLIPDEX_STORAGE_URL", None)
    _cli(env, "migrate")
    _cli(env, "admin", "create-tenant", "Acme Media", "--slug", "acme", "--owner", "alice@acme.test",
         "--password", "alice-e2e-pass")
    _cli(env, "admin", "create-tenant", "Globex", "--slug", "globex", "--owner", "bob@globex.test",
         "--password", "bob-e2e-pass")
    _cli(env, "admin", "create-user", "alice@acme.test", "--operator", "--tenant", "globex", "--role", "viewer")
    video = _make_video(tmp)
    with serving(env, url, tmp / "serve.log"):
        yield {"url": url, "video": video, "chromium": chromium, "log": tmp / "serve.log"}


def test_console_end_to_end(server):
    shots = CONSOLE / "test-results" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    env = {**os.environ, "CLIPDEX_E2E_URL": server["url"], "CHROMIUM_PATH": server["chromium"],
           "E2E_VIDEO": str(server["video"]), "E2E_PHRASE": PHRASE, "E2E_QUESTION": QUESTION,
           "E2E_USER_A": "alice@acme.test", "E2E_PASS_A": "alice-e2e-pass",
           "E2E_USER_B": "bob@globex.test", "E2E_PASS_B": "bob-e2e-pass",
           "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": os.environ.get("CI", "")}
    run_playwright("e2e/console.spec.ts", env, server["log"])
    for page in ("signin", "library", "video", "search", "ask", "people", "people-merged", "people-split",
                 "people-deleted", "team", "team-invited", "team-roles", "operator", "operator-created", "usage"):
        assert (shots / f"{page}.png").is_file(), f"no screenshot of {page}"
