"""The console end to end on word joins and password reset: a real `clipdex serve` transcribes a spoken
video whose Whisper tokens include sub-words ("$400", ",000"; "well", "-known"), the transcript panel
shows them as one word, and a lost password is reset through an operator-made link. Driven by
console/e2e/words-reset.spec.ts; screenshots land in console/test-results/screenshots/."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e.test_console import browser_ready, BIN, CONSOLE, _cli, _free_port, run_playwright, serving
from tests.speech.media import speak, to_video

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # server start, Whisper, Chromium
SENTENCE = "The forecast is 400,000 dollars. It is a well-known figure."
KEEP = {"fetch", "probe", "extract_audio", "thumbnail", "transcribe"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_ready()
    from clipdex.pipeline import registry

    tmp = tmp_path_factory.mktemp("console-words")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(tmp / "data"), "CLIPDEX_SECRET_KEY": "e2e-words-" * 4,
           "CLIPDEX_PUBLIC_URL": url, "CLIPDEX_ENV": "test", "CLIPDEX_POLL_INTERVAL_S": "0.2",
           "CLIPDEX_WORKER_THREADS": "1", "CLIPDEX_LOG_LEVEL": "WARNING",
           "CLIPDEX_DISABLED_STAGES": ",".join(n for n in registry.all_stages() if n not in KEEP)}
    env.pop("CLIPDEX_DATABASE_URL", None)
    env.pop("CLIPDEX_STORAGE_URL", None)
    _cli(env, "migrate")
    _cli(env, "admin", "create-tenant", "Words", "--slug", "words", "--owner", "wanda@words.test",
         "--password", "wanda-e2e-pass")
    link = subprocess.run([str(BIN / "clipdex"), "admin", "reset-link", "wanda@words.test"], env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout.split()[-1]
    assert "/reset-password#token=" in link
    video = to_video(speak(tmp / "figures.wav", SENTENCE, speed=140), tmp / "figures.mp4")
    with serving(env, url, tmp / "serve.log", ready_timeout_s=240):  # a shared, busy machine starts slowly
        yield {"url": url, "video": video, "chromium": chromium, "log": tmp / "serve.log", "link": link}


def test_transcript_words_and_password_reset_in_the_console(server):
    shots = CONSOLE / "test-results" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLIPDEX_E2E_URL": server["url"], "CHROMIUM_PATH": server["chromium"], "E2E_WORDS": "1",
           "E2E_VIDEO": str(server["video"]), "E2E_USER": "wanda@words.test", "E2E_PASS": "wanda-e2e-pass",
           "E2E_RESET_LINK": server["link"], "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "CI": os.environ.get("CI", "")}
    run_playwright("e2e/words-reset.spec.ts", env, server["log"])
    for name in ("transcript-words", "cjk-text", "forgot-password", "reset-password", "reset-done"):
        assert (shots / f"{name}.png").is_file(), f"no screenshot of {name}"
