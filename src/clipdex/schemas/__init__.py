"""Request and response models.

E-mail addresses: email-validator refuses special-use domains, ``.local`` and ``.test`` among them.
Self-hosted deployments live on intranets whose mail domains are exactly that (``corp.local``), and
the CLI already accepts them, so the API does too. Other special-use names (``localhost``,
``invalid``, ``onion``, ``arpa``) stay refused.
"""

import email_validator

email_validator.SPECIAL_USE_DOMAIN_NAMES = [d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES
                                            if d not in ("local", "test")]
