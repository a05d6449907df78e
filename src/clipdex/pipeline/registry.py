"""Which stages exist and which a job runs.

Stages are found through the entry-point group ``clipdex.stages`` (name = stage name, value =
``module:attribute``, a stage object or a class to instantiate). Built-in analyzers are registered
there in clipdex's own pyproject.toml exactly as a third-party package registers its own, so this
package imports no analyzer. ``extra`` specs (setting ``CLIPDEX_EXTRA_STAGES``) load the same way
without packaging: a one-file analyzer tried out on a worker, the test stages of the engine tests.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points

from clipdex.pipeline.artifacts import Input, JsonArtifact
from clipdex.pipeline.stage import Stage, VideoView, applies

GROUP = "clipdex.stages"
log = logging.getLogger("clipdex.pipeline")

_STAGES: dict[str, Stage] = {}
_discovered = False


class StageContractError(TypeError):
    """A stage object that does not keep the contract (refused at discovery, not at its first job)."""


def register(stage: Stage) -> Stage:
    check(stage)
    _STAGES[stage.name] = stage
    return stage


def check(stage) -> None:
    """Refuse a stage that misses a declared attribute or declares inputs it cannot be given."""
    missing = [a for a in ("name", "version", "requires", "queue", "run") if not hasattr(stage, a)]
    if missing:
        raise StageContractError(f"stage {stage!r} lacks {', '.join(missing)}")
    for kind in getattr(stage, "inputs", ()):
        if not (isinstance(kind, type) and issubclass(kind, Input)):
            raise StageContractError(f"stage {stage.name}: input {kind!r} is not an artifact kind")
        made_by = getattr(kind, "stage", None)
        if made_by and made_by not in (*stage.requires, *getattr(stage, "after", ())):
            # without the ordering, the input would be read before its stage has run in the same job
            raise StageContractError(f"stage {stage.name} reads {kind.__name__} of stage {made_by}: "
                                     f"name {made_by} in requires or after")
    for kind in getattr(stage, "outputs", ()):
        if isinstance(kind, type) and issubclass(kind, JsonArtifact) and kind.stage != stage.name:
            raise StageContractError(f"stage {stage.name} cannot produce {kind.__name__} (stage {kind.stage}'s)")


def _instance(obj):
    return obj() if isinstance(obj, type) else obj


def discover(extra: Iterable[str] = ()) -> dict[str, Stage]:
    """Register every stage of the ``clipdex.stages`` entry points, then the ``extra`` specs."""
    global _discovered
    for ep in entry_points(group=GROUP):
        stage = _instance(ep.load())
        if getattr(stage, "name", None) != ep.name:
            raise StageContractError(f"entry point {ep.name} = {ep.value} names stage {getattr(stage, 'name', None)!r}")
        register(stage)
    for spec in extra:
        module, _, attr = spec.partition(":")
        register(_instance(getattr(importlib.import_module(module), attr)))
    _discovered = True
    return dict(_STAGES)


def _ensure() -> None:
    if not _discovered:
        discover()


def get(name: str) -> Stage:
    _ensure()
    return _STAGES[name]


def all_stages() -> dict[str, Stage]:
    _ensure()
    return dict(_STAGES)


def queue_of(stage: Stage, settings) -> str:
    """The queue a stage's work goes to: a stage may pick by configuration (a GPU model -> ``gpu``)."""
    pick = getattr(stage, "queue_for", None)
    return pick(settings) if pick else stage.queue


def plan(video: VideoView, disabled: Iterable[str] = ()) -> list[tuple[Stage, list[str]]]:
    """The stages for ``video`` in dependency order, each with the stage names it waits for.

    ``requires`` are hard dependencies (a stage is dropped when one is not planned);
    ``after`` are ordering hints honoured only when that stage is planned too.
    """
    _ensure()
    off = set(disabled)  # operator setting CLIPDEX_DISABLED_STAGES
    chosen = {n: s for n, s in sorted(_STAGES.items()) if n not in off and applies(s, video)}
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
