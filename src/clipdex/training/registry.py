"""Model versions: create (queue a training), list, activate for Ask, roll back, delete with their blobs."""

from __future__ import annotations

import shutil
import uuid

from sqlalchemy import select, update

from clipdex.db.types import utcnow
from clipdex.errors import NoActiveModel, NotActivatable
from clipdex.models import Tenant, TrainedModel, TrainingDataset, TrainingJob
from clipdex.storage import keys
from clipdex.tenancy.access import owned_by

TENANT_BACKEND = "tenant"


def latest_job(s, model_id: uuid.UUID) -> TrainingJob | None:
    return s.scalar(select(TrainingJob).where(TrainingJob.model_id == model_id).order_by(
        TrainingJob.created_at.desc()).limit(1))


def create(s, ds: TrainingDataset, *, base_model: str, method: str, params: dict, created_by: str,
           max_attempts: int) -> tuple[TrainedModel, TrainingJob]:
    m = TrainedModel(tenant_id=ds.tenant_id, dataset_id=ds.id, dataset_version=ds.version, base_model=base_model,
                     method=method, params=params, status="queued", created_by=created_by)
    s.add(m)
    s.flush()
    job = TrainingJob(tenant_id=ds.tenant_id, model_id=m.id, max_attempts=max_attempts,
                      progress={"step": 0, "max_steps": params["max_steps"], "phase": "queued", "history": []})
    s.add(job)
    s.flush()
    return m, job


def public(m: TrainedModel, job: TrainingJob | None) -> dict:
    return {
        "id": str(m.id), "status": m.status, "job_id": job and str(job.id),
        "dataset_id": m.dataset_id and str(m.dataset_id),
        "dataset_version": m.dataset_version, "base_model": m.base_model, "method": m.method, "params": m.params,
        "metrics": m.metrics or {}, "beats_base": m.beats_base, "size_bytes": m.size_bytes, "active": m.active,
        "activated_at": m.activated_at and m.activated_at.isoformat(), "created_by": m.created_by,
        "created_at": m.created_at.isoformat(),
        "lineage": {"dataset_id": m.dataset_id and str(m.dataset_id), "dataset_version": m.dataset_version,
                    "base_model": m.base_model,
                    "previous_active_id": m.previous_active_id and str(m.previous_active_id)},
        "job": job and {"id": str(job.id), "status": job.status, "attempt": job.attempt, "progress": job.progress,
                        "resumed_from_step": job.resumed_from_step, "error_code": job.error_code,
                        "error_message": job.error_message},
    }


def active_model(s, tenant_id: uuid.UUID) -> TrainedModel | None:
    return s.scalar(select(TrainedModel).where(owned_by(TrainedModel, tenant_id), TrainedModel.active.is_(True)))


def _set_backend(s, tenant_id: uuid.UUID, on: bool) -> None:
    t = s.get(Tenant, tenant_id)
    rest = {k: v for k, v in (t.settings or {}).items() if k != "answer_backend"}
    keep = (t.settings or {}).get("answer_backend")
    t.settings = {**rest, "answer_backend": TENANT_BACKEND} if on else (
        rest if keep == TENANT_BACKEND else {**rest, **({"answer_backend": keep} if keep else {})})


def activate(s, m: TrainedModel, *, remember_previous: bool = True) -> TrainedModel:
    """Make ``m`` the tenant's Ask model (answer backend ``tenant``); the one it replaces is remembered."""
    if m.status != "succeeded" or not m.weights_prefix:
        raise NotActivatable("Only a trained model can be activated.")
    current = active_model(s, m.tenant_id)
    if current is not None and current.id == m.id:
        return m
    if current is not None:
        current.active = False
    if remember_previous:  # a rollback returns to what was active before (nothing: the default backend)
        m.previous_active_id = current.id if current is not None else None
    s.flush()
    m.active, m.activated_at = True, utcnow()
    _set_backend(s, m.tenant_id, True)
    return m


def rollback(s, tenant_id: uuid.UUID) -> TrainedModel | None:
    """Back to the version active before the current one; none left: Ask returns to the default backend."""
    current = active_model(s, tenant_id)
    if current is None:
        raise NoActiveModel("No model is active.")
    prev = s.get(TrainedModel, current.previous_active_id) if current.previous_active_id else None
    current.active = False
    s.flush()
    if prev is not None and prev.status == "succeeded" and prev.weights_prefix:
        prev.active, prev.activated_at = True, utcnow()
        return prev
    _set_backend(s, tenant_id, False)
    return None


def delete(platform, s, m: TrainedModel) -> None:
    """Weights, checkpoints and rows gone; a running training is cancelled first (its lease fails)."""
    from clipdex.training.serving import forget

    if m.active:
        rollback(s, m.tenant_id)
    s.execute(update(TrainedModel).where(TrainedModel.previous_active_id == m.id).values(previous_active_id=None))
    s.execute(update(TrainingJob).where(TrainingJob.model_id == m.id, TrainingJob.status.in_(("queued", "running")))
              .values(status="cancelled", finished_at=utcnow()).execution_options(synchronize_session=False))
    platform.blobs.delete_prefix(keys.training_prefix(m.tenant_id, "models", m.id))
    forget(m.id)
    # the serving copy of the weights in the local model cache goes too (it outlived the blobs before)
    shutil.rmtree(platform.settings.resolved_model_cache_dir / "tenants" / str(m.tenant_id) / str(m.id),
                  ignore_errors=True)
    s.delete(m)
