"""The seq2seq path end to end on a tiny randomly initialised T5 the test builds: queue -> train ->
checkpoints in the tenant prefix -> kill mid-training -> resume from the checkpoint -> evaluate -> store once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from sqlalchemy import select

from clipdex.models import TrainingJob, UsageRecord
from clipdex.platform import Platform
from clipdex.storage import keys
from clipdex.training.runner import TrainingWorker
from tests.conftest import api_client, migrated_sqlite_settings, new_tenant
from tests.training.support import all_text, seed_talks, tiny_t5

# CPU training: ~5 min idle, far more on a shared, loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
V = "/api/v1"


def _env(settings) -> dict:
    return {**os.environ, "CLIPDEX_DATA_DIR": str(settings.data_dir), "CLIPDEX_ENV": "test",
            "CLIPDEX_SECRET_KEY": settings.secret_key, "CLIPDEX_LEASE_S": str(settings.lease_s),
            "CLIPDEX_TRAINING_BASE_MODELS": json.dumps(settings.training_base_models),
            "CLIPDEX_TRAINING_SAVE_STEPS": str(settings.training_save_steps),
            "CLIPDEX_MODEL_CACHE_DIR": str(settings.resolved_model_cache_dir), "CLIPDEX_CHAOS": "train:mid_work"}


def test_tiny_t5_trains_is_killed_resumes_from_its_checkpoint_and_is_stored_once(tmp_path):
    base = tiny_t5(tmp_path / "tiny-t5", all_text())
    settings = migrated_sqlite_settings(tmp_path, lease_s=2.0, training_save_steps=5,
                                        training_base_models={"tiny-t5": str(base)})
    platform = Platform.from_settings(settings)
    try:
        with api_client(platform) as client:
            ctx = new_tenant(platform, client, "Seq", tier="pro")
            vids = seed_talks(platform, ctx.id)
            ds = client.post(f"{V}/datasets", headers=ctx.headers,
                             json={"name": "t5", "video_ids": [str(v) for v in vids]}).json()
            r = client.post(f"{V}/models", headers=ctx.headers, json={
                "dataset_id": ds["id"], "base_model": "tiny-t5", "method": "full", "max_steps": 15,
                "learning_rate": 3e-3, "batch_size": 8})
            assert r.status_code == 202, r.text
            model_id, job_id = r.json()["id"], r.json()["job_id"]

            # a worker process that SIGKILLs itself right after storing its first checkpoint
            code = ("from clipdex.platform import Platform; from clipdex.settings import Settings;"
                    "from clipdex.training.runner import TrainingWorker;"
                    "TrainingWorker(Platform.from_settings(Settings())).drain()")
            proc = subprocess.run([sys.executable, "-c", code], env=_env(settings), timeout=600,
                                  capture_output=True, text=True)
            assert proc.returncode == -9, proc.stderr[-2000:]
            prefix = keys.training_prefix(ctx.id, "models", uuid.UUID(model_id))
            stored = sorted(platform.blobs.list_prefix(prefix + "checkpoints/"))
            assert any(k.endswith("checkpoint-5/COMPLETE") for k in stored), stored
            m = client.get(f"{V}/models/{model_id}", headers=ctx.headers).json()
            assert m["status"] == "running" and m["job"]["progress"]["step"] >= 5

            time.sleep(settings.lease_s + 0.5)  # the dead worker's lease runs out
            assert TrainingWorker(platform, name="survivor").drain() == 1
            m = client.get(f"{V}/models/{model_id}", headers=ctx.headers).json()
            assert m["status"] == "succeeded", m
            assert m["job"]["attempt"] == 2 and m["job"]["resumed_from_step"] == 5
            assert m["metrics"]["final_step"] == 15 and m["metrics"]["fine_tuned"]["n"] > 0
            for side in ("fine_tuned", "base"):
                assert set(m["metrics"][side]) >= {"exact_match", "token_f1", "rouge_l", "faithfulness"}
            history = m["job"]["progress"]["history"]
            assert [h["step"] for h in history] == list(range(1, 16))  # steps 1-5 from the killed run, 6-15 resumed
            assert history[-1]["loss"] < history[0]["loss"]
            weights = sorted(platform.blobs.list_prefix(prefix))
            assert all(k.startswith(prefix + "weights/") for k in weights)  # checkpoints gone, weights once
            assert prefix + "weights/manifest.json" in weights and prefix + "weights/model.safetensors" in weights
            assert m["size_bytes"] > 0
            with platform.db.tenant(ctx.id, readonly=True) as s:
                assert s.get(TrainingJob, uuid.UUID(job_id)).status == "succeeded"
                minutes = s.scalars(select(UsageRecord.quantity).where(UsageRecord.metric == "training_minutes")).all()
            assert len(minutes) == 1 and minutes[0] > 0  # metered once, for the attempt that finished

            other = new_tenant(platform, client, "Other", tier="pro")
            for method, path in (("GET", f"{V}/models/{model_id}"), ("POST", f"{V}/models/{model_id}/activate"),
                                 ("DELETE", f"{V}/models/{model_id}")):
                assert client.request(method, path, headers=other.headers).status_code == 404
            assert client.delete(f"{V}/models/{model_id}", headers=ctx.headers).status_code == 204
            assert list(platform.blobs.list_prefix(prefix)) == []
            assert client.get(f"{V}/models/{model_id}", headers=ctx.headers).status_code == 404
    finally:
        platform.close()
