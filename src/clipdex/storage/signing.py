"""Short-lived signed download URLs whose tokens reveal nothing.

The token is the blob key, expiry, file name and content type sealed with AES-GCM under a key
derived from the deployment secret: authenticated (a changed byte fails) and encrypted, so a link
says nothing about storage keys, tenants or videos to whoever sees it (browser history, a proxy log,
a shared screenshot). Links stay short-lived; the route that serves them supports Range.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clipdex.errors import InvalidDownloadLink

_AAD = b"clipdex-download-v2"


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding: the alphabet of every opaque token and cursor in a URL."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """The bytes of a ``b64url`` string (ValueError when it is not one)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aead(secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"clipdex download links\0" + secret.encode()).digest())


def sign(secret: str, key: str, *, ttl_s: int, filename: str, content_type: str) -> tuple[str, int]:
    """An opaque token for ``key`` valid ``ttl_s`` seconds, and its expiry (epoch seconds)."""
    expires = int(time.time()) + ttl_s
    payload = json.dumps({"k": key, "e": expires, "f": filename, "t": content_type}, separators=(",", ":"))
    nonce = os.urandom(12)
    return b64url(nonce + _aead(secret).encrypt(nonce, payload.encode(), _AAD)), expires


def verify(secret: str, token: str) -> dict:
    invalid = InvalidDownloadLink("The download link is invalid or has expired.")
    try:
        raw = unb64url(token)
        if len(raw) < 12 + 16:
            raise invalid
        data = json.loads(_aead(secret).decrypt(raw[:12], raw[12:], _AAD))
    except (ValueError, InvalidTag, json.JSONDecodeError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or data.get("e", 0) < time.time():
        raise invalid
    return data
