"""Processing jobs: what clients may do with them, and the codes a failed job records."""

from __future__ import annotations

from clipdex.errors.base import Conflict
from clipdex.errors.request import ServerError


class JobNotCancellable(Conflict):
    code, title = "job.not_cancellable", "Job cannot be cancelled"
    hint = "Only queued or running jobs can be cancelled."


class JobNotRetryable(Conflict):
    code, title = "job.not_retryable", "Job cannot be retried"
    hint = "Only failed or cancelled jobs can be retried."


class JobCancelled(Conflict):
    """Recorded on a video whose job was cancelled; never raised."""

    code, title = "job.cancelled", "Processing cancelled"
    hint = "Retry the job to process the video again."


class StageFailed(ServerError):
    """A stage failed for a reason that is not the media's: recorded after the last attempt."""

    code, title = "job.stage_error", "Processing stage failed"
    hint = "Retry the job; if it fails again, report the job id to the operator."


class WorkerLost(ServerError):
    """Workers died on every attempt of a stage (crash, out of memory, killed)."""

    code, title = "job.worker_lost", "Worker lost"
    hint = "Retry the job; if it fails again, the operator checks worker memory and logs."
