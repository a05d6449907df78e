"""The log guard catches each kind of secret, server-side only."""

from __future__ import annotations

import logging

import pytest

from tests.log_guard import LogGuard

SECRETS = {
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "refresh": "rt_" + "A" * 43,
    "api_key": "cdx_0123456789ab_" + "b" * 43,
    "signed": "https://x.example/api/v1/blobs/" + "c" * 60,
    "password": "correct horse battery staple",
}


@pytest.mark.allow_secret_logs  # the outer, autouse guard sees these records too
@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("how", ["message", "args", "extra", "exception"])
def test_each_secret_is_caught(kind, how):
    secret = SECRETS[kind]
    log = logging.getLogger("clipdex.some.module")
    with LogGuard("correct horse battery staple") as guard:
        if how == "message":
            log.warning("token is %s" % secret)
        elif how == "args":
            log.info("token is %s", secret)
        elif how == "extra":
            log.info("login", extra={"auth": secret})
        else:
            try:
                raise ValueError(secret)
            except ValueError:
                log.exception("failed")
    assert guard.leaks and kind and len(guard.leaks) >= 1


def test_client_loggers_and_clean_records_pass():
    with LogGuard("correct horse battery staple") as guard:
        logging.getLogger("httpx").info("HTTP Request: GET http://testserver/api/v1/blobs/%s", "c" * 60)
        logging.getLogger("clipdex.api").info("GET /api/v1/blobs/<token> 200")
        logging.getLogger("clipdex.api").info("user %s logged in", "1234")
    assert guard.leaks == []
