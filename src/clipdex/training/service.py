"""What the routes call: access checks, plan limits first, then datasets, trainings and the registry."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from clipdex.auth.principal import Principal
from clipdex.auth.service import ensure
from clipdex.errors import (
    EmptyDataset,
    EmptySelection,
    FullTuneTooLarge,
    InvalidTrainingMethod,
    InvalidTrainingParam,
    NotFound,
    TrainingNotCancellable,
)
from clipdex.models import DatasetItem, Tenant, TrainedModel, TrainingDataset, TrainingJob, Video
from clipdex.tenancy import access, audit
from clipdex.training import catalog, datasets, finetune, glossary, registry
from clipdex.training import limits as lim

READ, WRITE, DELETE, MANAGE = "video:read", "video:write", "video:delete", "tenant:update"


def _actor(principal: Principal) -> str:
    return str(principal.actor)


def _tier(platform, principal: Principal) -> str:
    with access.session_for(platform, principal, readonly=True) as s:
        return s.scalar(select(Tenant.tier).where(Tenant.id == access.tenant_of(principal)))


def get_dataset(s, principal: Principal, dataset_id: uuid.UUID, action: str = READ) -> TrainingDataset:
    return access.get_owned(s, principal, TrainingDataset, dataset_id, action)


def get_model(s, principal: Principal, model_id: uuid.UUID, action: str = READ) -> TrainedModel:
    return access.get_owned(s, principal, TrainedModel, model_id, action)


def get_item(s, principal: Principal, ds: TrainingDataset, item_id: uuid.UUID, action: str) -> DatasetItem:
    item = access.get_owned(s, principal, DatasetItem, item_id, action)
    if item.dataset_id != ds.id:
        raise NotFound()
    return item


# --- datasets -----------------------------------------------------------------------------------

def create_dataset(platform, principal: Principal, name: str, video_ids: list[uuid.UUID], query: str | None,
                   all_ready: bool) -> dict:
    """A dataset row in ``building``; the caller runs ``datasets.build`` after the 202."""
    ensure(principal, WRITE)
    tenant_id = access.tenant_of(principal)
    with access.session_for(platform, principal) as s:
        chosen = [access.get_video_for(s, principal, v, READ).id for v in dict.fromkeys(video_ids)]
        if query:
            chosen += _videos_matching(platform, tenant_id, query)
        if all_ready:
            chosen += datasets.ready_video_ids(s, tenant_id)
        chosen = list(dict.fromkeys(chosen))[: datasets.MAX_VIDEOS]
        if not chosen:
            raise EmptySelection("Select at least one video (ids, a search query, or all ready videos).")
        ds = TrainingDataset(tenant_id=tenant_id, name=name, status="building", created_by=_actor(principal),
                             selection={"video_ids": [str(v) for v in chosen], "query": query, "all": all_ready})
        s.add(ds)
        s.flush()
        audit.record(s, "dataset.created", actor=principal.actor, tenant_id=tenant_id, target=f"dataset:{ds.id}")
        return datasets.public(ds)


def drafter(platform, principal: Principal, name: str | None):
    """The generative drafter for a dataset build, or None; only a backend this deployment enabled."""
    if name is None:
        return None
    ensure(principal, WRITE)
    from clipdex.rag import backends
    from clipdex.search.embed import get_embedder
    from clipdex.training import drafting

    if name not in backends.enabled(platform.settings):
        raise backends.BackendNotEnabled(f"Backend {name!r} is not enabled here.")
    return drafting.for_settings(platform.settings, name, get_embedder(platform.settings))


def _videos_matching(platform, tenant_id: uuid.UUID, query: str) -> list[uuid.UUID]:
    from clipdex.search.retrieve import retrieve

    return list(dict.fromkeys(p.video_id for p in retrieve(platform, tenant_id, query, k=50)))


def list_items(s, ds: TrainingDataset, split: str | None, source: str | None, status: str | None,
               video_id: uuid.UUID | None, q: str | None):
    query = select(DatasetItem).where(DatasetItem.dataset_id == ds.id)
    for col, value in ((DatasetItem.split, split), (DatasetItem.source, source), (DatasetItem.status, status),
                       (DatasetItem.video_id, video_id)):
        if value is not None:
            query = query.where(col == value)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(DatasetItem.question).like(like) | func.lower(DatasetItem.answer).like(like))
    return query


# --- trainings ----------------------------------------------------------------------------------

def _params(body: dict, method: str) -> dict:
    params = {"max_steps": int(body["max_steps"])}
    for name, (lo, hi) in finetune.BOUNDS.items():
        value = body.get(name)
        if value is None:
            continue
        if not lo <= value <= hi:
            raise InvalidTrainingParam(f"{name} must be between {lo:g} and {hi:g}.", param=name)
        params[name] = value
    if method not in finetune.METHODS:
        raise InvalidTrainingMethod(f"method must be one of {list(finetune.METHODS)}.")
    return params


def start_training(platform, principal: Principal, body: dict) -> dict:
    """POST /models: the plan is checked before anything is looked up, then size and steps, then the dataset."""
    ensure(principal, WRITE)
    tier = _tier(platform, principal)
    limits = lim.limits_for(platform.settings, tier)
    lim.check_plan(limits, tier)
    params = _params(body, body["method"])
    lim.check_request(limits, params["max_steps"], catalog.declared_params_m(platform.settings, body["base_model"]))
    if body["method"] == "full" and catalog.declared_params_m(platform.settings, body["base_model"]) > 1000:
        raise FullTuneTooLarge("Full fine-tuning is for small models; use lora.")
    with access.session_for(platform, principal) as s:
        ds = get_dataset(s, principal, body["dataset_id"], WRITE)
        datasets.require_ready(ds)
        if not ds.counts.get("train"):
            raise EmptyDataset("The dataset has no training items.")
        datasets.snapshot(platform, s, ds)
        m, job = registry.create(s, ds, base_model=body["base_model"], method=body["method"], params=params,
                                 created_by=_actor(principal), max_attempts=platform.settings.max_attempts)
        audit.record(s, "model.training_queued", actor=principal.actor, tenant_id=ds.tenant_id, target=f"model:{m.id}")
        return {"id": str(m.id), "job_id": str(job.id), "status": m.status}


def model_view(s, m: TrainedModel) -> dict:
    return registry.public(m, registry.latest_job(s, m.id))


def cancel_training(platform, principal: Principal, model_id: uuid.UUID) -> dict:
    from clipdex.training import runner

    with access.session_for(platform, principal) as s:
        m = get_model(s, principal, model_id, WRITE)
        job = registry.latest_job(s, m.id)
        if job is None:
            raise TrainingNotCancellable("This model has no training to cancel.")
        runner.cancel(s, job)
        s.flush()
        s.refresh(m)
        return model_view(s, m)


def plan(platform, principal: Principal) -> dict:
    ensure(principal, READ)
    tier = _tier(platform, principal)
    limits = lim.limits_for(platform.settings, tier)
    with access.session_for(platform, principal, readonly=True) as s:
        running = s.scalar(select(func.count()).select_from(TrainingJob).where(
            access.owned_by(TrainingJob, access.tenant_of(principal)),
            TrainingJob.status.in_(("queued", "running"))))
    return {"tier": tier, **limits.public(), "active_trainings": running, "base_models": [
        {"name": n, "params_m": catalog.declared_params_m(platform.settings, n)}
        for n in catalog.names(platform.settings)],
        "methods": list(finetune.METHODS), "bounds": {k: list(v) for k, v in finetune.BOUNDS.items()}}


# --- glossary -----------------------------------------------------------------------------------

def read_glossary(platform, principal: Principal) -> dict:
    ensure(principal, READ)
    with access.session_for(platform, principal, readonly=True) as s:
        return glossary.read(s, access.tenant_of(principal))


def put_glossary(platform, principal: Principal, terms: list[str], video_hints: dict[uuid.UUID, list[str]]) -> dict:
    ensure(principal, WRITE)
    with access.session_for(platform, principal) as s:
        for vid in video_hints:
            access.get_video_for(s, principal, vid, WRITE)
        out = glossary.replace(s, access.tenant_of(principal), terms, video_hints)
        audit.record(s, "glossary.updated", actor=principal.actor, tenant_id=access.tenant_of(principal),
                     target="glossary", terms=len(out["terms"]))
        return out


def ensure_video(s, principal: Principal, video_id: uuid.UUID | None) -> Video | None:
    return access.get_video_for(s, principal, video_id, READ) if video_id else None
