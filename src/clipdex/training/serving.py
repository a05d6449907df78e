"""Ask with the tenant's active model: the ``tenant`` answer backend and an LRU-bounded model cache.

LoRA versions are adapters on one shared base per process (peft named adapters), so many tenants'
models cost one base plus a few MB each; full fine-tunes are whole models. The cache evicts the least
recently used entries when their total size passes ``training_model_cache_mb``.

The backend only drafts: for the best quotes it asks the model for the answer, and writes the
sentence it answers with, citing that quote. Ask's verifier then checks every sentence against the
spans it cites, as for any backend, and "not found" stays "not found".
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from clipdex.models import TrainedModel
from clipdex.rag import text as tx
from clipdex.rag.citations import Quote, Sentence
from clipdex.rag.extractive import ExtractiveBackend
from clipdex.rag.protocol import BackendUnavailable, Task
from clipdex.tenancy.access import owned_by
from clipdex.training import catalog, evaluate

log = logging.getLogger(__name__)

MAX_QUOTES_ASKED = 3


@dataclass
class Loaded:
    model: object  # a peft model (adapter ``name`` selected per call) or a full model
    tokenizer: object
    kind: str
    adapter: str | None
    size: int
    lock: threading.Lock


class ModelCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[uuid.UUID, Loaded] = OrderedDict()
        self._bases: dict[str, object] = {}  # base path -> the peft model holding every adapter on it
        self._guard = threading.RLock()

    def get(self, model_id: uuid.UUID, loader, cap_bytes: int) -> Loaded:
        with self._guard:
            if model_id in self._entries:
                self._entries.move_to_end(model_id)
                return self._entries[model_id]
            entry = loader(self._bases)
            self._entries[model_id] = entry
            self._evict(cap_bytes, keep=model_id)
            return entry

    def _evict(self, cap_bytes: int, keep: uuid.UUID) -> None:
        while sum(e.size for e in self._entries.values()) > cap_bytes and len(self._entries) > 1:
            victim_id = next(k for k in self._entries if k != keep)
            self._drop(victim_id)

    def _drop(self, model_id: uuid.UUID) -> None:
        e = self._entries.pop(model_id, None)
        if e is not None and e.adapter:
            with e.lock:
                e.model.delete_adapter(e.adapter)

    def forget(self, model_id: uuid.UUID) -> None:
        with self._guard:
            self._drop(model_id)

    def loaded(self) -> list[uuid.UUID]:
        return list(self._entries)


cache = ModelCache()


def forget(model_id: uuid.UUID) -> None:
    cache.forget(model_id)


def _fetch(platform, m: TrainedModel) -> Path:
    """The model's weights in the local model cache (copied from the blob store once)."""
    local = platform.settings.resolved_model_cache_dir / "tenants" / str(m.tenant_id) / str(m.id)
    if (local / "manifest.json").exists():
        return local
    tmp = local.with_name(local.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for key in platform.blobs.list_prefix(m.weights_prefix):
        name = key[len(m.weights_prefix):]
        if "/" in name:
            continue
        with platform.blobs.open(key) as src, open(tmp / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    shutil.rmtree(local, ignore_errors=True)
    tmp.rename(local)
    return local


def _loader(platform, m: TrainedModel):
    def load(bases: dict) -> Loaded:
        from transformers import AutoTokenizer

        from clipdex.training.finetune import load_model

        d = _fetch(platform, m)
        if not (d / "manifest.json").is_file():  # weights lost from the store, or never written: a clear 503
            shutil.rmtree(d, ignore_errors=True)  # not a cache entry: the next call looks in the store again
            log.error("model %s is active but its weights are missing from the blob store", m.id)
            raise BackendUnavailable("The active custom model's files are missing; activate another version "
                                     "or ask with another backend.")
        manifest = json.loads((d / "manifest.json").read_text())
        base = catalog.resolve(platform.settings, manifest["base_model"])
        tok = AutoTokenizer.from_pretrained(str(d))
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        size = int(manifest.get("size_bytes") or 0)
        if manifest["method"] == "lora":
            from peft import PeftModel

            name = f"m{m.id.hex}"
            holder = bases.get(str(base.path))
            if holder is None:
                holder = PeftModel.from_pretrained(load_model(base), str(d), adapter_name=name)
                bases[str(base.path)] = holder
            else:
                holder.load_adapter(str(d), adapter_name=name)
            holder.eval()
            return Loaded(holder, tok, base.kind, name, size, _lock_of(holder))
        model = load_model(base.__class__(base.name, d, base.kind, base.params_m))
        model.eval()
        return Loaded(model, tok, base.kind, None, size, threading.Lock())

    return load


_locks: dict[int, threading.Lock] = {}


def _lock_of(obj) -> threading.Lock:
    return _locks.setdefault(id(obj), threading.Lock())


def answer(loaded: Loaded, question: str, context: str) -> str:
    with loaded.lock:
        if loaded.adapter:
            loaded.model.set_adapter(loaded.adapter)
        return evaluate.generate(loaded.model, loaded.tokenizer, loaded.kind, [(question, context)])[0]


def _sentence_for(ans: str, quote: Quote) -> str | None:
    """The sentence the backend answers with: the model's own when it is one, else the quote's
    sentence that holds the answer (None when the quote does not contain it)."""
    terms = set(tx.content_terms(ans))
    if not terms:
        return None
    if len(ans.split()) >= 6 and ans.rstrip()[-1:] in ".!?":
        return ans.strip()
    best, hit = None, 0.0
    for s in tx.split_sentences(quote.text):
        share = len(terms & set(tx.content_terms(s))) / len(terms)
        if share > hit:
            best, hit = s, share
    return best if hit >= 0.5 else None


@dataclass
class TenantModelBackend:
    loaded: Loaded
    embedder: object
    name: str = "tenant"

    def draft(self, task: Task, quotes: list[Quote]) -> list[Sentence]:
        if task.kind != "answer":
            return ExtractiveBackend(self.embedder).draft(task, quotes)
        # one answer, like any extractive QA model: from the best quote that holds one
        for q in quotes[:MAX_QUOTES_ASKED]:
            text = _sentence_for(answer(self.loaded, task.query, q.text), q)
            if text:
                return [Sentence(text, [q.n])]
        return []


def tenant_backend(platform, tenant_id: uuid.UUID | None, embedder) -> TenantModelBackend:
    """The ``tenant`` backend for Ask: the tenant's active model, loaded through the LRU cache."""
    if tenant_id is None:
        raise BackendUnavailable("The tenant model backend needs a tenant.")
    with platform.db.tenant(tenant_id, readonly=True) as s:
        m = s.scalar(select(TrainedModel).where(owned_by(TrainedModel, tenant_id), TrainedModel.active.is_(True)))
        if m is None:
            raise BackendUnavailable("No custom model is active for this organisation.")
        s.expunge(m)
    cap = platform.settings.training_model_cache_mb * 1024 * 1024
    return TenantModelBackend(cache.get(m.id, _loader(platform, m), cap), embedder)
