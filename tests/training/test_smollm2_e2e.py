"""The whole workflow on real parts: espeak-ng talks -> pipeline (Whisper tiny.en, index) -> Q&A dataset
-> LoRA on SmolLM2-135M (CPU, a few steps) -> evaluation beats the base on token F1 on the test split
-> activated -> POST /ask answers through the tenant model with verified citations -> roll back."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest

from clipdex.rag.answer import NOT_FOUND_TEXT
from clipdex.training.runner import TrainingWorker
from tests.conftest import api_client, drain, login, new_tenant, upload
from tests.search.library import pipeline_platform, spoken_video
from tests.training.support import TALKS

# CPU training: ~5 min idle, far more on a shared, loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
V = "/api/v1"
PIPELINE = {"fetch", "probe", "extract_audio", "transcribe", "index"}
# SmolLM2 is de-quantised once per machine (~1 min), not once per run
MODEL_CACHE = Path(tempfile.gettempdir()) / "clipdex-test-models"


def test_spoken_videos_to_a_tenant_model_that_answers_ask(tmp_path, capsys):
    pytest.importorskip("gguf")
    platform = pipeline_platform(tmp_path, PIPELINE, model_cache_dir=MODEL_CACHE)
    try:
        with api_client(platform) as client:
            ctx = new_tenant(platform, client, "Talks", tier="pro")
            vids = [upload(client, ctx, spoken_video(tmp_path, f"talk{i}", " ".join(talk)),
                           title=f"Talk {i}").json()["id"]
                    for i, talk in enumerate(TALKS)]
            drain(platform)
            assert all(client.get(f"{V}/videos/{v}", headers=ctx.headers).json()["status"] == "ready" for v in vids)

            r = client.post(f"{V}/datasets", headers=ctx.headers, json={"name": "talks", "video_ids": vids})
            ds = client.get(f"{V}/datasets/{r.json()['id']}", headers=ctx.headers).json()
            assert ds["status"] == "ready" and ds["counts"]["train"] >= 12 and ds["counts"]["test"] >= 2, ds

            r = client.post(f"{V}/models", headers=ctx.headers, json={
                "dataset_id": ds["id"], "base_model": "smollm2-135m", "method": "lora", "max_steps": 12})
            assert r.status_code == 202, r.text
            model_id = r.json()["id"]
            assert TrainingWorker(platform).drain() == 1
            # a fresh token: on a loaded machine training can outlast the 15-minute access token
            ctx = dataclasses.replace(ctx, token=login(client, ctx.email, tenant=ctx.slug)["access_token"])
            m = client.get(f"{V}/models/{model_id}", headers=ctx.headers).json()
            assert m["status"] == "succeeded", m
            ft, base = m["metrics"]["fine_tuned"], m["metrics"]["base"]
            with capsys.disabled():
                print(f"\nSmolLM2 LoRA 12 steps: {m['metrics']['train_seconds']} s; fine-tuned {ft}; base {base}; "
                      f"examples {m['metrics']['examples']}")
            assert ft["n"] == base["n"] == ds["counts"]["test"]
            assert ft["token_f1"] > base["token_f1"] and m["beats_base"] is True, m["metrics"]
            assert m["dataset_version"] == ds["version"] and m["size_bytes"] > 0

            r = client.post(f"{V}/models/{model_id}/activate", headers=ctx.headers)
            assert r.status_code == 200 and r.json()["active"] is True
            assert client.get(f"{V}/answers/settings", headers=ctx.headers).json()["effective"] == "tenant"
            a = client.post(f"{V}/ask", headers=ctx.headers, json={"question": "When is the launch planned?"}).json()
            assert a["backend"] == "tenant" and a["supported"], a
            assert a["citations"] and {c["video_id"] for c in a["citations"]} == {vids[0]}
            assert all(s["supported"] for s in a["sentences"] if s["citations"])
            assert "March" in a["answer"]
            nope = client.post(f"{V}/ask", headers=ctx.headers,
                               json={"question": "What is the capital of France?"}).json()
            assert nope["answer"] == NOT_FOUND_TEXT and not nope["supported"] and not nope["citations"]

            r = client.post(f"{V}/models/rollback", headers=ctx.headers)
            assert r.status_code == 200 and r.json()["active"] is None
            assert client.get(f"{V}/answers/settings", headers=ctx.headers).json()["effective"] != "tenant"
            with capsys.disabled():
                print(f"ask={a['answer']!r}")
    finally:
        platform.close()
