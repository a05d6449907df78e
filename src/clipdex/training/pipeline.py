"""One training run end to end: dataset version -> fine-tune -> evaluate vs base -> weights stored."""

from __future__ import annotations

import logging
from pathlib import Path

from clipdex.jobs import chaos
from clipdex.models import TrainedModel
from clipdex.training import catalog, datasets, evaluate, finetune

log = logging.getLogger("clipdex.training")
STAGE = "train"  # the chaos hook's stage name: CLIPDEX_CHAOS=train:mid_work kills after the first checkpoint


def _options(m: TrainedModel, settings) -> finetune.TrainOptions:
    p = m.params or {}
    return finetune.TrainOptions(method=m.method, max_steps=int(p["max_steps"]), learning_rate=p.get("learning_rate"),
                                 batch_size=int(p.get("batch_size", 4)), lora_r=int(p.get("lora_r", 8)),
                                 max_length=int(p.get("max_length", 192)),
                                 save_steps=int(p.get("save_steps") or settings.training_save_steps),
                                 seed=int(p.get("seed", 0)), device=settings.training_device)


def run(platform, claim, lease, workdir: Path) -> dict:
    from clipdex.search.embed import get_embedder

    settings = platform.settings
    with platform.db.tenant(claim.tenant_id, readonly=True) as s:
        m = s.get(TrainedModel, claim.model_id)
        opts, base_name, ds_id, ds_version = _options(m, settings), m.base_model, m.dataset_id, m.dataset_version
    items = datasets.read_snapshot(platform, claim.tenant_id, ds_id, ds_version)
    train_items = [i for i in items if i["split"] == "train"]
    test_items = [i for i in items if i["split"] == "test"]
    base = catalog.resolve(settings, base_name)
    store = finetune.CheckpointStore(platform.blobs, claim.tenant_id, claim.model_id)
    hooks = finetune.Hooks(progress=lease.progress, check_alive=lease.check,
                           after_checkpoint=lambda step: chaos.maybe_kill(STAGE, "mid_work", claim.attempt))
    result = finetune.train(base, train_items, opts, store, workdir, hooks)
    lease.check()
    lease.write({"progress": {**_current(platform, claim), "phase": "evaluating"},
                 "resumed_from_step": result.resumed_from_step})
    base_model = None if opts.method == "lora" else finetune.load_model(base)
    metrics = evaluate.compare(result.model, base_model, result.tokenizer, base.kind, test_items,
                               get_embedder(settings))
    metrics |= {"train_items": len(train_items), "test_items": len(test_items), "final_step": result.final_step,
                "train_seconds": round(result.seconds, 2), "final_loss": result.losses[-1] if result.losses else None}
    lease.check()
    prefix, size = finetune.save_final(result, base, opts, store, workdir)
    chaos.maybe_kill(STAGE, "after_artifact", claim.attempt)
    store.drop_all()  # checkpoints only serve a resume; the stored weights are the model now
    return {"metrics": metrics, "weights_prefix": prefix, "size_bytes": size,
            "resumed_from_step": result.resumed_from_step}


def _current(platform, claim) -> dict:
    from sqlalchemy import select

    from clipdex.models import TrainingJob

    with platform.db.tenant(claim.tenant_id, readonly=True) as s:
        return dict(s.scalar(select(TrainingJob.progress).where(TrainingJob.id == claim.job_id)) or {})
