"""The one place a Stripe client is built: the official library, pointed at CLIPDEX_STRIPE_API_BASE."""

from __future__ import annotations

import contextlib
import logging

import stripe

from clipdex.errors import BillingNotConfigured, BillingUnavailable
from clipdex.settings import Settings

log = logging.getLogger(__name__)
# the library logs every request URL at INFO; ours says what matters, never with keys
logging.getLogger("stripe").setLevel(logging.WARNING)


def require_billing(settings: Settings) -> None:
    if not settings.billing_enabled:
        raise BillingNotConfigured()


def client_for(settings: Settings) -> stripe.StripeClient:
    """A StripeClient for the configured key and base address (BillingNotConfigured without keys)."""
    require_billing(settings)
    bases = {}
    if settings.stripe_api_base:
        base = settings.stripe_api_base.rstrip("/")
        bases = {"api": base, "meter_events": base, "files": base, "connect": base}
    return stripe.StripeClient(settings.stripe_api_key.get_secret_value(), base_addresses=bases,
                               max_network_retries=2, http_client=stripe.RequestsClient(timeout=20))


def webhook_secret(settings: Settings) -> str:
    require_billing(settings)
    return settings.stripe_webhook_secret.get_secret_value()


@contextlib.contextmanager
def stripe_errors():
    """Stripe failures become ``billing.stripe_unavailable`` (502): the caller (or Stripe) retries."""
    try:
        yield
    except stripe.StripeError as e:
        log.warning("stripe call failed: %s (http %s)", type(e).__name__, getattr(e, "http_status", None))
        raise BillingUnavailable("The payment provider could not complete the request; try again.") from None
