"""The `train` queue by tier: a pro tenant waits behind its concurrency limit; enterprise goes first at
equal load; cancel stops a queued training."""

from __future__ import annotations

import uuid

from clipdex.training import runner
from tests.conftest import new_tenant
from tests.training.support import TALKS, seed_talks

V = "/api/v1"


def _queue(client, ctx, ds_id) -> dict:
    r = client.post(f"{V}/models", headers=ctx.headers, json={
        "dataset_id": ds_id, "base_model": "smollm2-135m", "method": "lora", "max_steps": 10})
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"id", "job_id", "status"} and r.json()["status"] == "queued"
    return r.json()


def _dataset(platform, client, ctx) -> str:
    vids = seed_talks(platform, ctx.id, TALKS[:3])
    r = client.post(f"{V}/datasets", headers=ctx.headers, json={"name": "d", "video_ids": [str(v) for v in vids]})
    return r.json()["id"]


def test_enterprise_first_at_equal_load_and_pro_waits_behind_its_limit(sq):
    platform, client = sq
    pro = new_tenant(platform, client, "Pro", tier="pro")
    ent = new_tenant(platform, client, "Ent", tier="enterprise")
    pro_ds, ent_ds = _dataset(platform, client, pro), _dataset(platform, client, ent)
    pro_jobs = [_queue(client, pro, pro_ds), _queue(client, pro, pro_ds)]
    ent_job = _queue(client, ent, ent_ds)  # queued last

    first = runner.claim_next(platform, "w1")
    assert str(first.job_id) == ent_job["job_id"]  # higher tier first when neither runs anything
    second = runner.claim_next(platform, "w2")
    assert str(second.job_id) == pro_jobs[0]["job_id"]
    assert runner.claim_next(platform, "w3") is None  # pro's second training waits: max 1 at a time for pro
    m = client.get(f"{V}/models/{pro_jobs[1]['id']}", headers=pro.headers).json()
    assert m["status"] == "queued" and m["job"]["status"] == "queued"

    # a cancelled training is never claimed; listing shows every version
    r = client.post(f"{V}/models/{pro_jobs[1]['id']}/cancel", headers=pro.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"{V}/models/{pro_jobs[1]['id']}/cancel", headers=pro.headers).status_code == 409
    events = client.get(f"{V}/models/{pro_jobs[1]['id']}/events", headers=pro.headers).text
    assert events.startswith("event: progress") and "event: done" in events and '"cancelled"' in events
    assert len(client.get(f"{V}/models", headers=pro.headers).json()["items"]) == 2
    assert client.get(f"{V}/models/{uuid.uuid4()}", headers=pro.headers).status_code == 404
    assert client.get(f"{V}/models/{ent_job['id']}", headers=pro.headers).status_code == 404
