"""Signed download links are opaque: no storage key, tenant id or video id can be read from them."""

from __future__ import annotations

import base64
import re
import uuid

import pytest

from clipdex.errors import InvalidDownloadLink
from clipdex.storage import signing
from tests.conftest import drain, new_tenant, upload
from tests.media import make_video

LINK = re.compile(r"/api/v1/blobs/([A-Za-z0-9_\-.]+)")


def _links(obj) -> list[str]:
    found: list[str] = []
    if isinstance(obj, dict):
        for v in obj.values():
            found += _links(v)
    elif isinstance(obj, list):
        for v in obj:
            found += _links(v)
    elif isinstance(obj, str):
        found += LINK.findall(obj)
    return found


def _readable_forms(token: str) -> list[bytes]:
    """The token as sent, and every way it could be decoded by someone curious."""
    forms = [token.encode()]
    for part in token.split("."):
        for pad in ("", "=", "=="):
            for dec in (base64.urlsafe_b64decode, base64.b64decode):
                try:
                    forms.append(dec(part + pad))
                except ValueError:
                    pass
    return forms


def _secrets_of(*ids: uuid.UUID) -> list[bytes]:
    out = [b"tenants/", b"videos/", b"original"]
    for i in ids:
        out += [str(i).encode(), i.hex.encode(), i.bytes]
    return out


def test_every_signed_link_the_api_returns_is_opaque(sq, tmp_path):
    platform, client = sq
    t = new_tenant(platform, client, "Links")
    r = upload(client, t, make_video(tmp_path / "v.mp4", seconds=2, size="160x120"))
    vid = uuid.UUID(r.json()["id"])
    drain(platform)
    bodies = [client.get("/api/v1/videos", headers=t.headers).json(),
              client.get(f"/api/v1/videos/{vid}", headers=t.headers).json(),
              client.get(f"/api/v1/videos/{vid}/download", headers=t.headers).json()]
    arts = client.get(f"/api/v1/videos/{vid}/artifacts", headers=t.headers).json()
    bodies += [client.get(f"/api/v1/videos/{vid}/artifacts/{a['id']}/download", headers=t.headers).json()
               for a in arts]
    tokens = _links(bodies)
    assert len(tokens) >= 2 + len(arts), bodies
    secrets = _secrets_of(t.id, vid)
    for token in tokens:
        for form in _readable_forms(token):
            for s in secrets:
                assert s not in form, f"a signed link reveals {s!r}"
    # the links still work, with Range, and a changed byte breaks them
    dl = client.get(f"/api/v1/blobs/{tokens[2]}", headers={"Range": "bytes=0-15"})
    assert dl.status_code == 206 and len(dl.content) == 16
    tampered = tokens[2][:-2] + ("A" if tokens[2][-2] != "A" else "B") + tokens[2][-1]
    assert client.get(f"/api/v1/blobs/{tampered}").status_code == 403


def test_tokens_are_sealed_and_expire():
    secret = "s" * 40
    token, _ = signing.sign(secret, "tenants/x/videos/y/original.mp4", ttl_s=60, filename="a", content_type="b")
    assert signing.verify(secret, token)["k"] == "tenants/x/videos/y/original.mp4"
    assert b"tenants" not in base64.urlsafe_b64decode(token + "==")
    for bad in (token[:-1], "x" * 60, "", signing.sign("other" * 10, "k", ttl_s=60, filename="a", content_type="b")[0]):
        with pytest.raises(InvalidDownloadLink):
            signing.verify(secret, bad)
    expired, _ = signing.sign(secret, "k", ttl_s=-1, filename="a", content_type="b")
    with pytest.raises(InvalidDownloadLink):
        signing.verify(secret, expired)
