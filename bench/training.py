"""Training benchmark: our fine-tuning path next to a raw transformers/peft loop on the same data.

    .venv/bin/python -m bench.training [--steps 8] [--methods lora,full] [--base smollm2-135m]

For each method, (a) ``clipdex.training.finetune.train`` (transformers' Trainer, progress callback,
checkpoint copied to a blob store) and (b) a plain loop (same model, LoRA config, batches, AdamW,
linear schedule, ``loss.backward(); opt.step()``) run the same number of steps on the same items.
Reports samples/s, seconds per step (first step excluded: warm-up) and the ratio ours / raw
(aim: <= 1.1). Uses a GPU when one is present (``CLIPDEX_TRAINING_DEVICE``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import console, write_json

TALK = ["The launch is planned for March.", "Maria Lopez leads the design team for the new platform.",
        "The company has 12 engineers in the Lisbon office.", "The budget review is scheduled for October.",
        "Daniel Okafor runs the support desk for the product.", "The warehouse has 40 robots on the main floor."]


class MemoryBlobs:
    """Checkpoint copies go to memory: the bench measures training, not the disk."""

    def __init__(self) -> None:
        self.d: dict[str, bytes] = {}

    def put_file(self, key, path):
        self.d[key] = Path(path).read_bytes()
        return len(self.d[key])

    def put_bytes(self, key, data):
        self.d[key] = data
        return len(data)

    def list_prefix(self, prefix):
        return [k for k in list(self.d) if k.startswith(prefix)]

    def delete_prefix(self, prefix):
        for k in self.list_prefix(prefix):
            del self.d[k]


def items() -> list[dict]:
    from clipdex.training import questions as qg

    out = []
    segments = [{"index": i, "start": i, "end": i + 1, "text": t} for i, t in enumerate(TALK)]
    for sent in qg.sentences_of(segments):
        out += [{"question": p.question, "answer": p.answer, "context": sent.context} for p in qg.pairs_for(sent)]
    return out


def ours(base, data, method: str, steps: int, batch: int) -> list[float]:
    from transformers import TrainerCallback

    from clipdex.training import finetune

    times: list[float] = []
    last = [time.perf_counter()]

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now

    opts = finetune.TrainOptions(method=method, max_steps=steps, batch_size=batch, save_steps=steps)
    store = finetune.CheckpointStore(MemoryBlobs(), uuid.uuid4(), uuid.uuid4())
    # the clock rides beside our callback (finetune imports Trainer inside train(), so this takes effect)
    import transformers

    real_trainer = transformers.Trainer

    class Timed(real_trainer):
        def __init__(self, *a, callbacks=None, **k):
            super().__init__(*a, callbacks=(callbacks or []) + [Clock()], **k)

    transformers.Trainer = Timed
    try:
        last[0] = time.perf_counter()
        finetune.train(base, data, opts, store, Path(tempfile.mkdtemp()))
    finally:
        transformers.Trainer = real_trainer
    return times


def raw(base, data, method: str, steps: int, batch: int) -> list[float]:
    import torch
    from transformers import DataCollatorForSeq2Seq, get_linear_schedule_with_warmup, set_seed

    from clipdex.training import finetune

    set_seed(0)
    tok = finetune.load_tokenizer(base)
    model = finetune.load_model(base)
    if method == "lora":
        model = finetune.wrap_lora(model, base, finetune.TrainOptions(method="lora"))
    device = finetune.pick_device("auto")
    model.to(device).train()
    feats = finetune.features(tok, base, data, 192)
    collate = DataCollatorForSeq2Seq(tok, model=None, label_pad_token_id=-100, padding=True)
    lr = finetune.TrainOptions(method=method).lr()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    sched = get_linear_schedule_with_warmup(opt, 0, steps)
    g = torch.Generator().manual_seed(0)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        idx = torch.randint(len(feats), (batch,), generator=g).tolist()
        b = {k: v.to(device) for k, v in collate([feats[i] for i in idx]).items()}
        loss = model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    return times


def run(steps: int = 8, methods: tuple[str, ...] = ("lora", "full"), base_name: str = "smollm2-135m",
        batch: int = 4) -> dict:
    from clipdex.settings import Settings
    from clipdex.training import catalog, finetune

    settings = Settings()
    base = catalog.resolve(settings, base_name)
    data = items()
    rows = []
    for method in methods:
        a = ours(base, data, method, steps, batch)
        b = raw(base, data, method, steps, batch)
        sa, sb = statistics.median(a[1:] or a), statistics.median(b[1:] or b)
        rows.append({"method": method, "steps": steps, "batch": batch, "ours_s_per_step": round(sa, 3),
                     "raw_s_per_step": round(sb, 3), "ours_samples_per_s": round(batch / sa, 2),
                     "raw_samples_per_s": round(batch / sb, 2), "ratio": round(sa / sb, 3)})
    return {"base": base_name, "device": finetune.pick_device(settings.training_device), "rows": rows}


def print_result(data: dict) -> None:
    from rich.table import Table

    t = Table(title=f"fine-tuning {data['base']} on {data['device']}: ours (Trainer) vs raw loop")
    for col in ("method", "steps", "batch", "ours s/step", "raw s/step", "ours samples/s", "raw samples/s", "ratio"):
        t.add_column(col)
    for r in data["rows"]:
        t.add_row(r["method"], str(r["steps"]), str(r["batch"]), str(r["ours_s_per_step"]), str(r["raw_s_per_step"]),
                  str(r["ours_samples_per_s"]), str(r["raw_samples_per_s"]), str(r["ratio"]))
    console.print(t)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--methods", default="lora,full")
    p.add_argument("--base", default="smollm2-135m")
    args = p.parse_args(argv)
    data = run(args.steps, tuple(args.methods.split(",")), args.base)
    print_result(data)
    console.print(f"wrote {write_json('training', data)}")


if __name__ == "__main__":
    main()
