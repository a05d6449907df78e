"""Plans, payments and the quotas a plan sets."""

from __future__ import annotations

from clipdex.errors.base import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    PayloadTooLarge,
    QuotaExceeded,
    TooManyRequests,
    Unavailable,
)


class BillingOwnerOnly(Forbidden):
    code, title = "billing.owner_only", "Owners only"
    hint = "Ask an owner of the tenant to manage billing."


class UnknownPlan(Invalid):
    code, title = "billing.unknown_plan", "Unknown plan"
    hint = "Choose one of the plans GET /api/v1/billing lists."


class NoCustomer(Conflict):
    code, title = "billing.no_customer", "No billing account"
    hint = "Subscribe to a plan first."


class PlansNotSynced(Conflict):
    code, title = "billing.plans_not_synced", "Plans not synced"
    hint = "The operator runs `clipdex billing sync`."


class AlreadySubscribed(Conflict):
    code, title = "billing.already_subscribed", "Already subscribed"
    hint = "Change or cancel the subscription in the customer portal."


class BillingNotConfigured(Conflict):
    code, title = "billing.not_configured", "Billing is not configured"
    hint = "Nothing to pay here: the operator sets tiers by hand on this deployment."

    def __init__(self) -> None:
        super().__init__("Billing is off on this deployment: the operator sets tiers by hand.")


class BillingUnavailable(Unavailable):
    """Stripe could not be reached or refused a call; the message never echoes Stripe's (it may name keys)."""

    status, code, title = 502, "billing.stripe_unavailable", "Payment provider unavailable"
    hint = "Retry later."


class BillingSuspended(QuotaExceeded):
    code, title = "billing.suspended", "Billing suspended"
    hint = "A tenant owner settles the overdue invoice from the billing page."

    def __init__(self) -> None:
        super().__init__("Payment is overdue: uploads and processing are paused; everything stored stays readable. "
                         "The tenant owner can settle the invoice from the billing page.")


class WebhookRejected(BadRequest):
    code, title = "billing.webhook_invalid", "Webhook rejected"
    hint = "Check the webhook signing secret; events must be signed and recent."


class WebhookTooLarge(PayloadTooLarge):
    code, title = "billing.webhook_too_large", "Webhook body too large"
    hint = "Webhook bodies are limited to 1 MiB."


class StorageQuotaExceeded(QuotaExceeded):
    code, title = "quota.storage_exceeded", "Storage quota used up"
    hint = "Delete videos, or move to a plan with more storage."


class ProcessingMinutesExceeded(QuotaExceeded):
    code, title = "quota.processing_minutes_exceeded", "Processing minutes used up"
    hint = "Wait for next month's allowance, or move to a plan with more minutes."


class ConcurrentJobsLimit(TooManyRequests):
    code, title = "quota.concurrent_jobs", "Too many jobs at once"
    hint = "Wait for the seconds in Retry-After (a running job to finish), then retry."


class TrainingNotInPlan(QuotaExceeded):
    code, title = "quota.training_not_in_plan", "Training not in plan"
    hint = "Move to a plan that includes custom models."


class TrainingStepsExceeded(QuotaExceeded):
    code, title = "quota.training_steps_exceeded", "Too many training steps"
    hint = "Ask for at most `limit` steps, or move to a larger plan."


class TrainingBaseTooLarge(QuotaExceeded):
    code, title = "quota.training_base_too_large", "Base model too large for plan"
    hint = "Choose a base model of at most `limit` M parameters, or move to a larger plan."
