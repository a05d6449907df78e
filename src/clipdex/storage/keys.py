"""The only place blob keys are built. Every tenant's blobs live under ``tenants/{tenant_id}/``."""

from __future__ import annotations

import re
import uuid

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def _part(value: str) -> str:
    if not _SAFE.match(value) or ".." in value:
        raise ValueError(f"unsafe blob key component: {value!r}")
    return value


def tenant_prefix(tenant_id: uuid.UUID) -> str:
    return f"tenants/{uuid.UUID(str(tenant_id))}/"


def video_prefix(tenant_id: uuid.UUID, video_id: uuid.UUID) -> str:
    return f"{tenant_prefix(tenant_id)}videos/{uuid.UUID(str(video_id))}/"


def original(tenant_id: uuid.UUID, video_id: uuid.UUID, ext: str) -> str:
    ext = _part(ext.lstrip(".").lower() or "bin")
    return f"{video_prefix(tenant_id, video_id)}original.{ext}"


def artifact(tenant_id: uuid.UUID, video_id: uuid.UUID, stage: str, version: str, name: str) -> str:
    """Deterministic: a re-run of the same stage version overwrites, never duplicates."""
    return f"{video_prefix(tenant_id, video_id)}{_part(stage)}/{_part(version)}/{_part(name)}"


def incoming(tenant_id: uuid.UUID, upload_id: uuid.UUID) -> str:
    """Bytes of an upload not yet accepted (probe pending)."""
    return f"{tenant_prefix(tenant_id)}incoming/{uuid.UUID(str(upload_id))}"


def tenant_of(key: str) -> uuid.UUID:
    """The tenant a key belongs to; raises ValueError for keys outside the tenant layout."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "tenants":
        raise ValueError("key outside the tenant layout")
    return uuid.UUID(parts[1])


def system_probe(name: str) -> str:
    """A reserved key outside every tenant's prefix, for health probes (``clipdex doctor``)."""
    return f"system/probes/{_part(name)}"


# custom models (issue 13): datasets and model versions (weights, checkpoints) in the tenant prefix
def training_prefix(tenant_id: uuid.UUID, kind: str, object_id: uuid.UUID) -> str:
    """``tenants/{t}/models/{id}/`` or ``tenants/{t}/datasets/{id}/``; everything of it goes when it does."""
    if kind not in ("models", "datasets"):
        raise ValueError(f"unknown training kind {kind!r}")
    return f"{tenant_prefix(tenant_id)}{kind}/{uuid.UUID(str(object_id))}/"


def training_blob(tenant_id: uuid.UUID, kind: str, object_id: uuid.UUID, *parts: str) -> str:
    """A deterministic key under ``training_prefix`` (e.g. ``checkpoints/checkpoint-20/adapter_model.safetensors``)."""
    return training_prefix(tenant_id, kind, object_id) + "/".join(_part(p) for p in parts)
