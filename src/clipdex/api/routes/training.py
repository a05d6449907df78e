"""Custom models: Q&A datasets (build, review, export), trainings on the ``train`` queue, the model
registry (activate for Ask, roll back, delete), and the tenant glossary."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, BackgroundTasks, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from clipdex.api.deps import Authed, PlatformDep
from clipdex.api.pagination import PageParams, paginate
from clipdex.api.sse import snapshot_events
from clipdex.models import TrainedModel, TrainingDataset
from clipdex.schemas.common import Page
from clipdex.tenancy import access, audit
from clipdex.training import datasets, registry, service

router = APIRouter(tags=["training"])
STREAM_MAX_S = 6 * 3600
Split = Literal["train", "validation", "test"]


class DatasetCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    video_ids: list[uuid.UUID] = Field(default_factory=list, max_length=datasets.MAX_VIDEOS)
    query: str | None = Field(None, max_length=500, description="also every video a search for this finds")
    all_ready: bool = Field(False, description="also every video with a transcript")
    draft_with: Literal["local", "openai"] | None = Field(
        None, description="also draft pairs with this generative backend (kept only when their span supports them)")


class Accepted(BaseModel):
    id: uuid.UUID
    status: str


class DatasetPublic(BaseModel):
    id: uuid.UUID
    name: str
    status: str
    version: int
    counts: dict
    selection: dict
    created_at: str
    updated_at: str
    error_code: str | None = None


class ItemPublic(BaseModel):
    id: uuid.UUID
    question: str
    answer: str
    video_id: uuid.UUID | None
    start: float
    end: float
    split: str
    context: str
    segment_ids: list[int]
    source: str
    kind: str
    status: str


class ItemCreate(BaseModel):
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=1000)
    context: str | None = Field(None, max_length=4000)
    video_id: uuid.UUID | None = None
    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, ge=0)


class ItemUpdate(BaseModel):
    question: str | None = Field(None, min_length=1, max_length=1000)
    answer: str | None = Field(None, min_length=1, max_length=1000)
    context: str | None = Field(None, max_length=4000)
    status: Literal["accepted", "generated", "edited"] | None = None


class ModelCreate(BaseModel):
    dataset_id: uuid.UUID
    base_model: str = Field("smollm2-135m", max_length=200)
    method: Literal["lora", "full"] = "lora"
    max_steps: int = Field(30, ge=1, le=100_000)
    learning_rate: float | None = Field(None, gt=0)
    batch_size: int | None = Field(None, ge=1)
    lora_r: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=1)


class ModelAccepted(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    status: str


class ModelPublic(BaseModel):
    id: uuid.UUID
    status: str
    job_id: uuid.UUID | None
    dataset_id: uuid.UUID | None
    dataset_version: int
    base_model: str
    method: str
    params: dict
    metrics: dict
    beats_base: bool | None
    size_bytes: int
    active: bool
    activated_at: str | None
    created_by: str | None
    created_at: str
    lineage: dict
    job: dict | None


class RollbackResult(BaseModel):
    active: ModelPublic | None


class Glossary(BaseModel):
    terms: list[str] = Field(default_factory=list, max_length=1000)
    video_hints: dict[uuid.UUID, list[str]] = Field(default_factory=dict, max_length=500)


# --- datasets -----------------------------------------------------------------------------------

@router.post("/datasets", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Build a Q&A dataset from videos' transcripts (status `ready` when built)")
def create_dataset(body: DatasetCreate, principal: Authed, platform: PlatformDep, tasks: BackgroundTasks) -> Accepted:
    drafter = service.drafter(platform, principal, body.draft_with)
    out = service.create_dataset(platform, principal, body.name, body.video_ids, body.query, body.all_ready)
    tasks.add_task(datasets.build, platform, access.tenant_of(principal), uuid.UUID(out["id"]), drafter)
    return Accepted(id=out["id"], status=out["status"])


@router.get("/datasets", response_model=Page[DatasetPublic], summary="The tenant's datasets, newest first")
def list_datasets(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[DatasetPublic]:
    with access.session_for(platform, principal, readonly=True) as s:
        r = paginate(s, access.list_owned(principal, TrainingDataset, service.READ), TrainingDataset, page)
        return Page(items=[datasets.public(d) for d in r.items], next_cursor=r.next_cursor)


@router.get("/datasets/{dataset_id}", response_model=DatasetPublic, summary="A dataset with its split counts")
def get_dataset(dataset_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> DatasetPublic:
    with access.session_for(platform, principal, readonly=True) as s:
        return datasets.public(service.get_dataset(s, principal, dataset_id))


@router.delete("/datasets/{dataset_id}", status_code=204, summary="Delete a dataset, its items and exports")
def delete_dataset(dataset_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> Response:
    with access.session_for(platform, principal) as s:
        ds = service.get_dataset(s, principal, dataset_id, service.DELETE)
        datasets.delete_dataset(platform, s, ds)
        audit.record(s, "dataset.deleted", actor=principal.actor, tenant_id=ds.tenant_id,
                     target=f"dataset:{dataset_id}")
    return Response(status_code=204)


@router.get("/datasets/{dataset_id}/items", response_model=Page[ItemPublic], summary="Review: items with filters")
def list_items(dataset_id: uuid.UUID, principal: Authed, platform: PlatformDep, page: PageParams,
               split: Split | None = None, source: Literal["wh", "cloze", "llm", "manual"] | None = None,
               status_: Literal["generated", "accepted", "edited"] | None = Query(None, alias="status"),
               video_id: uuid.UUID | None = None, q: str | None = Query(None, max_length=200)) -> Page[ItemPublic]:
    with access.session_for(platform, principal, readonly=True) as s:
        ds = service.get_dataset(s, principal, dataset_id)
        r = paginate(s, service.list_items(s, ds, split, source, status_, video_id, q), datasets.DatasetItem, page,
                     sort="position")
        return Page(items=[datasets.item_public(i) for i in r.items], next_cursor=r.next_cursor)


@router.post("/datasets/{dataset_id}/items", status_code=201, response_model=ItemPublic, summary="Add a pair by hand")
def add_item(dataset_id: uuid.UUID, body: ItemCreate, principal: Authed, platform: PlatformDep) -> ItemPublic:
    with access.session_for(platform, principal) as s:
        ds = service.get_dataset(s, principal, dataset_id, service.WRITE)
        video = service.ensure_video(s, principal, body.video_id)
        item = datasets.add_item(s, ds, video, body.model_dump())
        s.flush()
        return datasets.item_public(item)


@router.patch("/datasets/{dataset_id}/items/{item_id}", response_model=ItemPublic, summary="Edit or accept a pair")
def edit_item(dataset_id: uuid.UUID, item_id: uuid.UUID, body: ItemUpdate, principal: Authed,
              platform: PlatformDep) -> ItemPublic:
    with access.session_for(platform, principal) as s:
        ds = service.get_dataset(s, principal, dataset_id, service.WRITE)
        item = datasets.edit_item(s, ds, service.get_item(s, principal, ds, item_id, service.WRITE),
                                  body.model_dump(exclude_unset=True))
        s.flush()
        return datasets.item_public(item)


@router.delete("/datasets/{dataset_id}/items/{item_id}", status_code=204, summary="Delete a pair")
def delete_item(dataset_id: uuid.UUID, item_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> Response:
    with access.session_for(platform, principal) as s:
        ds = service.get_dataset(s, principal, dataset_id, service.WRITE)
        datasets.delete_item(s, ds, service.get_item(s, principal, ds, item_id, service.WRITE))
    return Response(status_code=204)


@router.get("/datasets/{dataset_id}/export", summary="The dataset as JSONL (one pair per line)",
            responses={200: {"content": {"application/x-ndjson": {}}}})
def export_dataset(dataset_id: uuid.UUID, principal: Authed, platform: PlatformDep,
                   split: Split | None = None) -> Response:
    with access.session_for(platform, principal, readonly=True) as s:
        ds = service.get_dataset(s, principal, dataset_id)
        body = datasets.jsonl(datasets.rows(s, ds, split))
        name = f"dataset-{ds.id}-v{ds.version}{'-' + split if split else ''}.jsonl"
    return Response(body, media_type="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- trainings and the registry -----------------------------------------------------------------

@router.get("/training/plan", summary="The plan's training limits, base models and parameter bounds")
def training_plan(principal: Authed, platform: PlatformDep) -> dict:
    return service.plan(platform, principal)


@router.post("/models", status_code=status.HTTP_202_ACCEPTED, response_model=ModelAccepted,
             summary="Queue a training on the `train` queue (the plan is checked first)")
def create_model(body: ModelCreate, principal: Authed, platform: PlatformDep) -> ModelAccepted:
    return ModelAccepted(**service.start_training(platform, principal, body.model_dump()))


@router.get("/models", response_model=Page[ModelPublic], summary="Model versions, newest first")
def list_models(principal: Authed, platform: PlatformDep, page: PageParams) -> Page[ModelPublic]:
    with access.session_for(platform, principal, readonly=True) as s:
        r = paginate(s, access.list_owned(principal, TrainedModel, service.READ), TrainedModel, page)
        return Page(items=[service.model_view(s, m) for m in r.items], next_cursor=r.next_cursor)


@router.get("/models/{model_id}", response_model=ModelPublic, summary="A model version with metrics and progress")
def get_model(model_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> ModelPublic:
    with access.session_for(platform, principal, readonly=True) as s:
        return service.model_view(s, service.get_model(s, principal, model_id))


@router.post("/models/{model_id}/activate", response_model=ModelPublic, summary="Answer Ask with this version")
def activate_model(model_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> ModelPublic:
    with access.session_for(platform, principal) as s:
        m = registry.activate(s, service.get_model(s, principal, model_id, service.MANAGE))
        audit.record(s, "model.activated", actor=principal.actor, tenant_id=m.tenant_id, target=f"model:{m.id}")
        s.flush()
        return service.model_view(s, m)


@router.post("/models/rollback", response_model=RollbackResult, summary="Back to the previously active version")
def rollback_model(principal: Authed, platform: PlatformDep) -> RollbackResult:
    from clipdex.auth.service import ensure

    ensure(principal, service.MANAGE)
    with access.session_for(platform, principal) as s:
        m = registry.rollback(s, access.tenant_of(principal))
        audit.record(s, "model.rolled_back", actor=principal.actor, tenant_id=access.tenant_of(principal),
                     target=f"model:{m.id}" if m else "model:none")
        s.flush()
        return RollbackResult(active=service.model_view(s, m) if m else None)


@router.post("/models/{model_id}/cancel", response_model=ModelPublic, summary="Cancel a queued or running training")
def cancel_model(model_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> ModelPublic:
    return service.cancel_training(platform, principal, model_id)


@router.delete("/models/{model_id}", status_code=204, summary="Delete a version: weights, checkpoints and rows")
def delete_model(model_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> Response:
    with access.session_for(platform, principal) as s:
        m = service.get_model(s, principal, model_id, service.DELETE)
        registry.delete(platform, s, m)
        audit.record(s, "model.deleted", actor=principal.actor, tenant_id=access.tenant_of(principal),
                     target=f"model:{model_id}")
    return Response(status_code=204)


def _read_model(platform, principal, model_id) -> dict:
    with access.session_for(platform, principal, readonly=True) as s:
        return service.model_view(s, service.get_model(s, principal, model_id))


@router.get("/models/{model_id}/events", summary="Server-sent events: 'progress' (step, loss, lr, ETA), then 'done'",
            responses={200: {"content": {"text/event-stream": {}}}})
async def model_events(model_id: uuid.UUID, principal: Authed, platform: PlatformDep) -> StreamingResponse:
    first = await run_in_threadpool(_read_model, platform, principal, model_id)  # 404 before the stream starts

    return snapshot_events(first, lambda: _read_model(platform, principal, model_id),
                           poll_s=max(0.5, platform.settings.poll_interval_s), max_s=STREAM_MAX_S)


# --- glossary -----------------------------------------------------------------------------------

@router.get("/glossary", response_model=Glossary, summary="The tenant's custom vocabulary and per-video hints")
def get_glossary(principal: Authed, platform: PlatformDep) -> Glossary:
    return Glossary(**service.read_glossary(platform, principal))


@router.put("/glossary", response_model=Glossary,
            summary="Replace the glossary (biases transcription toward these terms)")
def put_glossary(body: Glossary, principal: Authed, platform: PlatformDep) -> Glossary:
    return Glossary(**service.put_glossary(platform, principal, body.terms, body.video_hints))
