"""Registry rules without training: activate, roll back, delete (blobs gone), the LRU model cache."""

from __future__ import annotations

import threading
import uuid

from clipdex.models import TrainedModel, TrainingDataset
from clipdex.storage import keys
from clipdex.training import serving
from tests.conftest import new_tenant

V = "/api/v1"


def _trained(platform, tenant_id) -> str:
    with platform.db.tenant(tenant_id) as s:
        ds = TrainingDataset(tenant_id=tenant_id, name="d", status="ready")
        s.add(ds)
        s.flush()
        m = TrainedModel(tenant_id=tenant_id, dataset_id=ds.id, base_model="smollm2-135m", method="lora",
                         params={"max_steps": 5}, status="succeeded")
        s.add(m)
        s.flush()
        m.weights_prefix = keys.training_prefix(tenant_id, "models", m.id) + "weights/"
        platform.blobs.put_bytes(m.weights_prefix + "manifest.json", b"{}")
        platform.blobs.put_bytes(keys.training_blob(tenant_id, "models", m.id, "checkpoints", "checkpoint-5",
                                                    "COMPLETE"), b"ok")
        return str(m.id)


def _active(client, ctx) -> list[str]:
    return [m["id"] for m in client.get(f"{V}/models", headers=ctx.headers).json()["items"] if m["active"]]


def test_activate_rollback_delete(sq):
    platform, client = sq
    ctx = new_tenant(platform, client, "Reg", tier="pro")
    first, second = _trained(platform, ctx.id), _trained(platform, ctx.id)
    assert client.post(f"{V}/models/rollback", headers=ctx.headers).json()["code"] == "model.none_active"
    assert client.post(f"{V}/models/{first}/activate", headers=ctx.headers).status_code == 200
    assert client.get(f"{V}/answers/settings", headers=ctx.headers).json()["answer_backend"] == "tenant"
    r = client.post(f"{V}/models/{second}/activate", headers=ctx.headers)
    assert r.json()["lineage"]["previous_active_id"] == first and _active(client, ctx) == [second]
    r = client.post(f"{V}/models/rollback", headers=ctx.headers)
    assert r.json()["active"]["id"] == first and _active(client, ctx) == [first]
    r = client.post(f"{V}/models/rollback", headers=ctx.headers)
    assert r.json()["active"] is None and _active(client, ctx) == []
    assert client.get(f"{V}/answers/settings", headers=ctx.headers).json()["answer_backend"] is None

    assert client.post(f"{V}/models/{second}/activate", headers=ctx.headers).status_code == 200
    prefix = keys.training_prefix(ctx.id, "models", uuid.UUID(second))
    assert len(list(platform.blobs.list_prefix(prefix))) == 2
    assert client.delete(f"{V}/models/{second}", headers=ctx.headers).status_code == 204
    assert list(platform.blobs.list_prefix(prefix)) == [] and _active(client, ctx) == []
    assert client.get(f"{V}/answers/settings", headers=ctx.headers).json()["answer_backend"] is None
    # Ask without an active model cannot pick the tenant backend
    r = client.post(f"{V}/ask", headers=ctx.headers, json={"question": "Anything?", "backend": "tenant"})
    assert r.status_code == 503 and r.json()["code"] == "answer.backend_unavailable"
    with platform.db.tenant(ctx.id) as s:
        s.add(TrainedModel(tenant_id=ctx.id, base_model="smollm2-135m", method="lora", status="queued"))
    queued = [m for m in client.get(f"{V}/models", headers=ctx.headers).json()["items"] if m["status"] == "queued"]
    r = client.post(f"{V}/models/{queued[0]['id']}/activate", headers=ctx.headers)
    assert r.status_code == 409 and r.json()["code"] == "model.not_ready"


class _Adapters:
    """The part of a peft model the cache touches: named adapters."""

    def __init__(self):
        self.names: set[str] = set()

    def delete_adapter(self, name):
        self.names.remove(name)


def test_model_cache_evicts_least_recently_used_adapters():
    cache, holder = serving.ModelCache(), _Adapters()
    lock = threading.Lock()

    def loader(name, size):
        def load(bases):
            holder.names.add(name)
            return serving.Loaded(holder, None, "causal", name, size, lock)
        return load

    ids = [uuid.uuid4() for _ in range(3)]
    cache.get(ids[0], loader("a", 40), cap_bytes=100)
    cache.get(ids[1], loader("b", 40), cap_bytes=100)
    cache.get(ids[0], loader("a", 40), cap_bytes=100)  # a used again: b is now the oldest
    cache.get(ids[2], loader("c", 40), cap_bytes=100)
    assert cache.loaded() == [ids[0], ids[2]] and holder.names == {"a", "c"}
    cache.forget(ids[0])
    assert cache.loaded() == [ids[2]] and holder.names == {"c"}


def test_an_active_model_without_its_files_answers_a_clear_503(sq):
    """Weights lost from the blob store (or never written): Ask says so with a stable code, instead of a
    500 from the loader; the empty folder it fetched is not kept as if it were the model."""
    platform, client = sq
    ctx = new_tenant(platform, client, "Lost")
    mid = _trained(platform, ctx.id)
    assert client.post(f"{V}/models/{mid}/activate", headers=ctx.headers).status_code == 200
    platform.blobs.delete_prefix(keys.training_prefix(ctx.id, "models", uuid.UUID(mid)))  # the files are gone
    r = client.post(f"{V}/ask", headers=ctx.headers, json={"question": "What was said?", "backend": "tenant"})
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "answer.backend_unavailable" and "files are missing" in r.json()["detail"]
    assert not (platform.settings.resolved_model_cache_dir / "tenants" / str(ctx.id) / mid).exists()
