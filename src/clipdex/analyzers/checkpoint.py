"""Authenticated analyzer state: a pickled object sealed with HMAC-SHA256, checked before unpickling.

A checkpoint lives in blob storage, which is not trusted to run code: unpickling bytes someone could
write is code execution. So the bytes carry a MAC under a key derived from the deployment secret, and
the MAC covers a context (tenant, video, stage, plan, chunk) as well, so a state cannot be replayed
for another video, another plan or another chunk. Only verified bytes reach ``pickle.loads``; any
failure (bad MAC, truncated blob, a class that no longer unpickles) reads as "no checkpoint".
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
from collections.abc import Callable

from clipdex.pipeline.stage import Commit, RowWriter

log = logging.getLogger("clipdex.checkpoint")

MAGIC = b"clipdex-state-v1\n"
_MAC_LEN = 32


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"clipdex analyzer checkpoints\0" + secret.encode()).digest()


def _mac(secret: str, context: str, payload: bytes) -> bytes:
    ctx = context.encode()
    msg = MAGIC + len(ctx).to_bytes(4, "big") + ctx + payload
    return hmac.new(_key(secret), msg, hashlib.sha256).digest()


def seal(secret: str, context: str, state: object) -> bytes:
    """``state`` pickled and sealed for ``context``."""
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + _mac(secret, context, payload) + payload


def unseal(secret: str, context: str, blob: bytes) -> object | None:
    """The state sealed for ``context`` in ``blob``; None (logged) when it is not authentic or does not load."""
    head = len(MAGIC) + _MAC_LEN
    if len(blob) < head or not blob.startswith(MAGIC):
        log.warning("ignoring a checkpoint with a bad header (%s)", context)
        return None
    mac, payload = blob[len(MAGIC):head], blob[head:]
    if not hmac.compare_digest(mac, _mac(secret, context, payload)):
        log.warning("ignoring a checkpoint whose MAC does not verify (%s)", context)
        return None
    try:
        return pickle.loads(payload)
    except Exception as e:  # noqa: BLE001 - an authentic state from code that no longer fits it: start over
        log.warning("ignoring a checkpoint that does not load (%s): %s", context, type(e).__name__)
        return None


class Checkpoints:
    """A stage's newest saved state for one video, at ``{prefix}{plan}-{k:05d}.bin`` in the stage's folder
    (``k``: the chunk it ends with). Saving and deleting are best effort: a lost checkpoint costs a longer
    resume, never the video; the blob reconciler removes what a crash leaves behind."""

    def __init__(self, ctx, prefix: str, plan: str) -> None:
        self.ctx, self.prefix, self.plan = ctx, prefix, plan
        self.blobs = ctx.platform.blobs
        self.folder = ctx.artifact_key("x")[:-1]
        self.secret = ctx.settings.resolved_secret_key
        self.kept: list[str] = []

    def key(self, k: int) -> str:
        return self.ctx.artifact_key(f"{self.prefix}{self.plan}-{k:05d}.bin")

    def _context(self, k: int) -> str:
        v = self.ctx.video
        return f"{v.tenant_id}/{v.id}/{self.ctx.stage_name}/{self.ctx.stage_version}/{self.plan}/{k}"

    def _saved(self) -> list[tuple[int, str]]:
        mine = self.folder + f"{self.prefix}{self.plan}-"
        out = []
        for key in self.blobs.list_prefix(self.folder):
            rest = key[len(mine):-len(".bin")] if key.startswith(mine) and key.endswith(".bin") else ""
            if rest.isdigit():
                out.append((int(rest), key))
        return sorted(out, reverse=True)

    def latest(self, valid: Callable[[object], bool]) -> tuple[int, object] | None:
        """``(k, state)`` of the newest authentic state that ``valid`` accepts; None: start from zero."""
        for k, key in self._saved():
            self.kept.append(key)
            try:
                with self.blobs.open(key) as f:
                    blob = f.read()
            except OSError:
                continue
            state = unseal(self.secret, self._context(k), blob)
            if state is not None and valid(state):
                return k, state
            if state is not None:
                log.warning("ignoring a checkpoint of an unexpected shape (%s)", key.rsplit("/", 1)[-1])
        return None

    def save(self, k: int, state: object) -> bool:
        """Store ``state`` as chunk ``k``'s and drop the older ones."""
        key = self.key(k)
        try:
            self.blobs.put_bytes(key, seal(self.secret, self._context(k), state))
        except Exception as e:  # noqa: BLE001 - a lost checkpoint costs a longer resume, not the video
            log.warning("checkpoint %s not saved: %s", key.rsplit("/", 1)[-1], type(e).__name__)
            return False
        self._drop([old for old in self.kept if old != key])
        self.kept = [key]
        return True

    def clear(self) -> None:
        """Every saved state under the prefix, whatever its plan."""
        self._drop([k for k in self.blobs.list_prefix(self.folder) if k[len(self.folder):].startswith(self.prefix)])

    def _drop(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.blobs.delete(key)
            except Exception as e:  # noqa: BLE001 - the reconciler removes what is left
                log.warning("checkpoint not deleted: %s", type(e).__name__)

    def on_commit(self) -> RowWriter:
        """A row writer that clears the states once the stage's result commits (not before: a run that
        loses its lease after finishing still leaves its successor the newest state)."""
        def write(c: Commit) -> None:
            self.clear()

        return write
