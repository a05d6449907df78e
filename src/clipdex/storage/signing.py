"""Short-lived signed download URLs (HMAC over key, expiry, file name)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from clipdex.errors import ClipdexError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, key: str, *, ttl_s: int, filename: str, content_type: str) -> tuple[str, int]:
    expires = int(time.time()) + ttl_s
    payload = _b64(json.dumps({"k": key, "e": expires, "f": filename, "t": content_type}).encode())
    mac = hmac.new(secret.encode(), b"blob:" + payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}", expires


def verify(secret: str, token: str) -> dict:
    invalid = ClipdexError("The download link is invalid or has expired.", code="download.invalid_link", status=403)
    try:
        payload, mac = token.split(".", 1)
        expected = hmac.new(secret.encode(), b"blob:" + payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise invalid
        data = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError):
        raise invalid from None
    if data.get("e", 0) < time.time():
        raise invalid
    return data
