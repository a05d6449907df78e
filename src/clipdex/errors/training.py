"""Datasets, glossaries, fine-tuning and the per-tenant model registry."""

from __future__ import annotations

from clipdex.errors.base import Conflict, Invalid, StillProcessing
from clipdex.errors.request import ServerError


class DatasetNotReady(StillProcessing):
    code, title = "dataset.not_ready", "Dataset not ready"
    hint = "Wait until the dataset's status is ready."


class DatasetBuildFailed(ServerError):
    """Recorded on a dataset whose build crashed; never raised."""

    code, title = "dataset.build_failed", "Dataset build failed"
    hint = "Build the dataset again; if it fails again, report the dataset id to the operator."


class EmptySelection(Invalid):
    code, title = "dataset.no_videos", "No videos selected"
    hint = "Select at least one ready video (ids, a search query, or all)."


class InvalidGlossary(Invalid):
    code, title = "glossary.invalid", "Invalid glossary"
    hint = "Use printable terms within the length limit in `detail`."


class TooManyGlossaryTerms(InvalidGlossary):
    code, title = "glossary.too_many_terms", "Too many glossary terms"
    hint = "Keep the glossary within the limit in `detail`."


class TrainingRefused(Invalid):
    """Family: a training request that cannot be run as given."""

    title = "Invalid training request"


class InvalidTrainingParam(TrainingRefused):
    code, title = "training.invalid_param", "Training parameter out of range"
    hint = "Keep the parameter within the range in `detail`."


class InvalidTrainingMethod(TrainingRefused):
    code, title = "training.invalid_method", "Unknown training method"
    hint = "Use one of the methods in `detail` (lora is the default)."


class FullTuneTooLarge(TrainingRefused):
    code, title = "training.full_too_large", "Model too large for full fine-tuning"
    hint = "Use method=lora."


class EmptyDataset(TrainingRefused):
    code, title = "training.empty_dataset", "Dataset has no training items"
    hint = "Build the dataset from videos with transcripts, or add items."


class UnknownBase(TrainingRefused):
    code, title = "training.unknown_base_model", "Unknown base model"
    hint = "Choose a base model from the deployment's catalogue (listed in `detail`)."


class TrainingNotCancellable(Conflict):
    code, title = "training.not_cancellable", "Training cannot be cancelled"
    hint = "Only queued or running trainings can be cancelled."


class TrainingFailed(ServerError):
    """Recorded on a training job that failed for a reason that is not the request's."""

    code, title = "training.error", "Training failed"
    hint = "Start the training again; if it fails again, report the model id to the operator."


class TrainingWorkerLost(ServerError):
    code, title = "training.worker_lost", "Training worker lost"
    hint = "Start the training again; the operator checks the train workers' memory and logs."


class NotActivatable(Conflict):
    code, title = "model.not_ready", "Model not ready"
    hint = "Activate a model only after its training succeeded."


class NoActiveModel(NotActivatable):
    code, title = "model.none_active", "No active model"
    hint = "Nothing to roll back: activate a model first."
