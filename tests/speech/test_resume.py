"""A worker killed with SIGKILL in the middle of a long transcription: the next one resumes at the
first unfinished chunk, and the transcript has every sentence once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from clipdex.evaluation.wer import error_rate
from clipdex.models import JobStage
from clipdex.platform import Platform
from clipdex.storage import keys
from tests.conftest import drain, migrated_sqlite_settings
from tests.speech import media

SENTENCES = [
    "The first chapter explains how the project started in a small office.",
    "In the second part the engineers describe the new storage system.",
    "Next the team reviews the budget and the hiring plan for spring.",
    "After that the designers present three ideas for the new logo.",
    "The fifth topic is the customer survey and what people asked for.",
    "Then the sales team reports on the results of the last quarter.",
    "The seventh item covers security training for every employee.",
    "Finally the director thanks everyone and closes the meeting.",
]
KEEP = {"fetch", "probe", "extract_audio", "transcribe"}

VICTIM = """
from clipdex.jobs.worker import Worker
from clipdex.pipeline import registry
from clipdex.platform import Platform
from clipdex.settings import Settings
registry.discover()
Worker(Platform.from_settings(Settings()), name="victim").drain()
"""


@pytest.mark.slow
def test_killed_worker_resumes_from_the_last_finished_chunk(tmp_path, speech_dir):
    from clipdex.pipeline import registry
    from tests.conftest import new_tenant, upload
    from fastapi.testclient import TestClient
    from clipdex.app import create_app

    disabled = [n for n in registry.all_stages() if n not in KEEP]
    settings = migrated_sqlite_settings(tmp_path, disabled_stages=disabled, asr_chunk_s=5.0, asr_threads=2, lease_s=2.0)
    p = Platform.from_settings(settings)
    gap = media.silence(speech_dir / "resume-gap.wav", 0.6)
    parts = []
    for i, text in enumerate(SENTENCES):
        parts += [media.speak(speech_dir / f"r{i}.wav", text), gap]
    clip = media.to_video(media.concat(tmp_path / "long.wav", parts), tmp_path / "long.mp4")
    with TestClient(create_app(platform=p, embedded_workers=0)) as c:
        alpha = new_tenant(p, c, "Alpha")
        vid = upload(c, alpha, clip, language="en").json()["id"]

    env = dict(os.environ, CLIPDEX_DATA_DIR=str(settings.data_dir), CLIPDEX_SECRET_KEY="t" * 40, CLIPDEX_ENV="test",
               CLIPDEX_DISABLED_STAGES=",".join(disabled), CLIPDEX_ASR_CHUNK_S="5", CLIPDEX_ASR_THREADS="2",
               CLIPDEX_LEASE_S="2", CLIPDEX_WORKER_THREADS="0")
    prefix = keys.video_prefix(alpha.id, vid) + "transcribe/"
    victim = subprocess.Popen([sys.executable, "-c", VICTIM], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and victim.poll() is None:
            done = [k for k in p.blobs.list_prefix(prefix) if k.rsplit("/", 1)[1].startswith("chunk-")]
            if len(done) >= 2:
                break
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    before = {k: p.blobs.absolute(k).stat().st_mtime_ns for k in p.blobs.list_prefix(prefix)
              if k.rsplit("/", 1)[1].startswith("chunk-")}
    assert 2 <= len(before) < 6, f"killed with {len(before)} chunks done"

    deadline = time.monotonic() + 120  # the lease runs out, then this worker takes the stage over
    while time.monotonic() < deadline:
        drain(p)
        with p.db.tenant(alpha.id) as s:
            st = s.scalar(select(JobStage).where(JobStage.name == "transcribe"))
            status, output = st.status, st.output
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.3)
    assert status == "succeeded", (status, output)
    assert output["resumed_chunks"] == len(before) and output["chunks"] > len(before)
    for k, mtime in before.items():  # finished chunks were read back, not transcribed again
        assert p.blobs.absolute(k).stat().st_mtime_ns == mtime

    from clipdex.speech import transcript

    with p.db.tenant(alpha.id) as s:
        t = transcript.load(p, s, uuid.UUID(vid))
    texts = [seg["text"] for seg in t["segments"]]
    starts = [seg["start"] for seg in t["segments"]]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # A chunk transcribed twice would add a whole 5 s of words: the length check catches that
    # exactly; the WER bound (looser, since tiny.en's int8 decoding is not bit-identical from run to
    # run) catches lost or garbled chunks.
    hyp_words = " ".join(texts).split()
    ref_words = " ".join(SENTENCES).split()
    assert len(hyp_words) <= 1.1 * len(ref_words), (len(hyp_words), len(ref_words), texts)
    errs, n = error_rate(" ".join(SENTENCES), " ".join(texts))
    assert errs / n <= 0.25, (errs / n, texts)
    p.close()
