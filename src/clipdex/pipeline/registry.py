"""Which stages exist and which a job runs. Later capabilities register here; the engine is untouched."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from clipdex.pipeline.stage import Stage, VideoView

_STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    _STAGES[stage.name] = stage
    return stage


def get(name: str) -> Stage:
    return _STAGES[name]


def all_stages() -> dict[str, Stage]:
    return dict(_STAGES)


def load_builtin() -> None:
    from clipdex.analyzers import audio, fetch, probe, thumbnail  # noqa: F401  (each registers itself)
    from clipdex.analyzers import diarization, sound_events, transcription  # noqa: F401
    from clipdex.analyzers import scenes, visual  # noqa: F401
    from clipdex.analyzers import index  # noqa: F401
    from clipdex.analyzers import summary  # noqa: F401
    from clipdex.analyzers import compliance  # noqa: F401


def queue_of(stage: Stage, settings) -> str:
    """The queue a stage's work goes to: a stage may pick by configuration (a GPU model -> ``gpu``)."""
    pick = getattr(stage, "queue_for", None)
    return pick(settings) if pick else stage.queue


def load_extra(specs: Iterable[str]) -> None:
    """Register stages named ``module:attribute`` in settings (custom analyzers)."""
    for spec in specs:
        module, _, attr = spec.partition(":")
        register(getattr(importlib.import_module(module), attr))


def plan(video: VideoView, disabled: Iterable[str] = ()) -> list[tuple[Stage, list[str]]]:
    """The stages for ``video`` in dependency order, each with the stage names it waits for.

    ``requires`` are hard dependencies (a stage is dropped when one is not planned);
    ``after`` are ordering hints honoured only when that stage is planned too.
    """
    off = set(disabled)  # operator setting CLIPDEX_DISABLED_STAGES
    chosen = {n: s for n, s in sorted(_STAGES.items()) if n not in off and s.applies(video)}
    changed = True
    while changed:  # drop stages whose hard requirements are not planned, transitively
        changed = False
        for n, s in list(chosen.items()):
            if any(r not in chosen for r in s.requires):
                chosen.pop(n)
                changed = True
    deps = {n: list(s.requires) + [a for a in getattr(s, "after", ()) if a in chosen]
            for n, s in chosen.items()}
    ordered: list[tuple[Stage, list[str]]] = []
    done: set[str] = set()
    while deps:
        ready = [n for n, d in deps.items() if all(x in done for x in d)]
        if not ready:
            raise RuntimeError(f"stage dependency cycle among {sorted(deps)}")
        for n in ready:
            ordered.append((chosen[n], deps.pop(n)))
            done.add(n)
    return ordered
