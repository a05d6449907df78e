"""Per-tier training limits (settings.training_limits) and the checks made before any work."""

from __future__ import annotations

from dataclasses import dataclass

from clipdex.errors import TrainingBaseTooLarge, TrainingNotInPlan, TrainingStepsExceeded


@dataclass(frozen=True)
class TrainingLimits:
    allowed: bool = False
    max_steps: int = 0
    max_concurrent: int = 0
    max_base_params_m: float = 0.0

    def public(self) -> dict:
        return {"allowed": self.allowed, "max_steps": self.max_steps, "max_concurrent": self.max_concurrent,
                "max_base_params_m": self.max_base_params_m}


def limits_for(settings, tier: str) -> TrainingLimits:
    raw = settings.training_limits.get(tier) or settings.training_limits.get(settings.default_tier) or {}
    return TrainingLimits(**{k: v for k, v in raw.items() if k in TrainingLimits.__dataclass_fields__})


def check_plan(limits: TrainingLimits, tier: str) -> None:
    """Refuse tenants whose plan has no training (first check of a request, before any lookup)."""
    if not limits.allowed:
        raise TrainingNotInPlan(f"Training custom models is not part of the {tier} plan.", tier=tier)


def check_request(limits: TrainingLimits, max_steps: int, base_params_m: float) -> None:
    if max_steps > limits.max_steps:
        raise TrainingStepsExceeded(f"The plan allows at most {limits.max_steps} training steps.",
                                    limit=limits.max_steps)
    if base_params_m > limits.max_base_params_m:
        raise TrainingBaseTooLarge(f"The plan allows base models up to {limits.max_base_params_m:g} M parameters.",
                                   limit=limits.max_base_params_m)
