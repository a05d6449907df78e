"""A tenant's whole data as one streamed ZIP archive (``GET /api/v1/tenant/export``).

The archive is written to the response as it is produced: rows table by table, then every blob
under the tenant's prefix in 1 MiB pieces, then ``manifest.json`` with each file's size and
SHA-256. Memory stays at about one piece whatever the tenant holds (ZIP data descriptors need no
seeking back).

Layout::

    tenant.json                 the tenant (name, slug, tier, settings)
    members.json                members: email, name, role, joined_at (no password hashes)
    db/<table>.jsonl            every tenant-owned table, one JSON object per row
    blobs/<key>                 every stored file: originals, artifacts, face crops, datasets, model weights
    manifest.json               format, counts per table, size and sha256 per file

What is left out, on purpose: password hashes, token and API-key hashes, refresh tokens and the
job queue's outbox (credentials and transient machinery), and the face and voice embeddings. The
embeddings are biometric templates of clipdex's own models, meaningless to any other system;
leaving them out keeps a leaked archive from carrying them. Names, appearances (times and boxes)
and the face crops are in the archive.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone

from sqlalchemy import LargeBinary, select

from clipdex.models import Base, Membership, Tenant, User
from clipdex.storage import keys
from clipdex.tenancy.access import owned_by

FORMAT = "clipdex-export/1"
PIECE = 1 << 20
SKIPPED_TABLES = frozenset({"refresh_tokens", "job_outbox"})
SECRET_COLUMNS = frozenset({"token_hash", "key_hash", "password_hash"})
STORED_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".jpg", ".jpeg", ".png", ".webp", ".wav", ".m4a", ".mp3",
                   ".aac", ".ogg", ".safetensors", ".pdf")  # already compressed, or not worth it


class _Sink(io.RawIOBase):
    """A write-only, non-seekable target that hands back what was written since the last drain."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self._buf += b
        self._pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self._pos

    def drain(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


def _jsonable(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


class _Archive:
    """The ZIP being streamed, with the manifest entries of what went into it."""

    def __init__(self) -> None:
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(self.sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.files: dict[str, dict] = {}

    def add(self, name: str, pieces) -> Iterator[bytes]:
        """Write ``pieces`` (an iterable of bytes) as ``name``; yields output as it becomes available."""
        stored = name.lower().endswith(STORED_SUFFIXES)
        info = zipfile.ZipInfo(name, date_time=datetime.now(timezone.utc).timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        digest, size = hashlib.sha256(), 0
        with self.zip.open(info, "w", force_zip64=True) as f:
            for piece in pieces:
                digest.update(piece)
                size += len(piece)
                f.write(piece)
                yield self.sink.drain()
        self.files[name] = {"size": size, "sha256": digest.hexdigest()}
        yield self.sink.drain()

    def close(self) -> bytes:
        self.zip.close()
        return self.sink.drain()


def stream(platform, tenant_id: uuid.UUID) -> Iterator[bytes]:
    """The archive of one tenant, piece by piece. Rows are read in the tenant's own scope only."""
    archive, counts = _Archive(), {}
    yield from archive.add("tenant.json", [_json(_tenant(platform, tenant_id))])
    members = _members(platform, tenant_id)
    counts["members"] = len(members)
    yield from archive.add("members.json", [_json(members)])
    for table in Base.metadata.sorted_tables:
        if "tenant_id" not in table.c or table.name in SKIPPED_TABLES:
            continue
        counts[table.name] = 0
        yield from archive.add(f"db/{table.name}.jsonl", _row_pages(platform, tenant_id, table, counts))
    prefix = keys.tenant_prefix(tenant_id)
    blob_keys = sorted(platform.blobs.list_prefix(prefix))
    counts["blobs"] = len(blob_keys)
    for key in blob_keys:
        yield from archive.add("blobs/" + key[len(prefix):], _pieces(platform.blobs, key))
    manifest = {"format": FORMAT, "tenant_id": str(tenant_id), "exported_at": datetime.now(timezone.utc).isoformat(),
                "counts": counts, "files": archive.files}
    yield from archive.add("manifest.json", [_json(manifest)])
    yield archive.close()


def _json(obj, *, line: bool = False) -> bytes:
    if line:
        return json.dumps(obj, ensure_ascii=False, default=_jsonable).encode() + b"\n"
    return json.dumps(obj, ensure_ascii=False, indent=1, default=_jsonable).encode()


def _pieces(blobs, key: str) -> Iterator[bytes]:
    with blobs.open(key) as f:
        while piece := f.read(PIECE):
            yield piece


def _tenant(platform, tenant_id: uuid.UUID) -> dict:
    with platform.db.tenant(tenant_id, readonly=True) as s:
        t = s.get(Tenant, tenant_id)
        return {"id": t.id, "name": t.name, "slug": t.slug, "tier": t.tier, "status": t.status,
                "settings": t.settings or {}, "created_at": t.created_at}


def _members(platform, tenant_id: uuid.UUID) -> list[dict]:
    with platform.db.tenant(tenant_id, readonly=True) as s:
        rows = s.execute(select(Membership, User.email, User.name).join(User, User.id == Membership.user_id)
                         .where(owned_by(Membership, tenant_id)).order_by(Membership.created_at)).all()
        return [{"user_id": m.user_id, "email": email, "name": name, "role": m.role, "joined_at": m.created_at}
                for m, email, name in rows]


def _row_pages(platform, tenant_id: uuid.UUID, table, counts: dict, page: int = 1000) -> Iterator[bytes]:
    """Every row of ``table`` for the tenant as JSON lines, without secrets and embeddings (see the module
    docstring); one short read per page, so a slow client never holds a transaction open."""
    cols = [c for c in table.c if c.name not in SECRET_COLUMNS and not isinstance(c.type, LargeBinary)]
    last = None
    while True:
        q = select(*cols).where(table.c.tenant_id == tenant_id).order_by(table.c.id).limit(page)
        with platform.db.tenant(tenant_id, readonly=True) as s:
            rows = s.execute(q if last is None else q.where(table.c.id > last)).all()
        if not rows:
            return
        counts[table.name] += len(rows)
        last = rows[-1]._mapping["id"]
        yield b"".join(_json({k: _jsonable(v) for k, v in r._mapping.items()}, line=True) for r in rows)
