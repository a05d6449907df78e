"""The per-tenant LanceDB index: one database folder per tenant, one table per embedding model.

Layout: ``{index_uri}/tenants/{tenant_id}/segments_{model_id}``. A tenant's searches open only its
own folder, so no query can reach another tenant's rows whatever its filter says. The embedding
model's name, version and dimension live in the table's schema metadata; a table built with one
model is never written or queried with vectors of another (``clipdex reindex`` builds new tables).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
import warnings
from collections.abc import Iterable

import pyarrow as pa

from clipdex.search.embed import Embedder, model_id
from clipdex.storage.s3 import lance_storage_options

log = logging.getLogger("clipdex.search")
# lancedb warns at every fork; our forks (ffmpeg, ffprobe) exec at once and never touch its runtime
warnings.filterwarnings("ignore", message="lancedb fork support is experimental", category=RuntimeWarning)
# purge_history means it: a deletion must not survive in older versions (a search that started on one may fail)
warnings.filterwarnings("ignore", message=r"optimize\(cleanup_older_than=0\)", category=UserWarning)

TABLE_PREFIX = "segments_"
MODALITIES = ("transcript", "ocr", "tag", "sound", "face", "shot")
VECTOR_INDEX_MIN_ROWS = 100_000  # below this a flat scan is fast enough and exact
_WRITE_RETRIES = 5


def schema(embedder: Embedder) -> pa.Schema:
    meta = {"embedding_model": embedder.name, "embedding_version": embedder.version,
            "embedding_dim": str(embedder.dim), "layout": "1"}
    return pa.schema([
        pa.field("id", pa.string()), pa.field("video_id", pa.string()), pa.field("modality", pa.string()),
        pa.field("start", pa.float64()), pa.field("end", pa.float64()), pa.field("text", pa.string()),
        pa.field("speaker", pa.string()), pa.field("language", pa.string()),
        pa.field("people", pa.list_(pa.string())), pa.field("tags", pa.list_(pa.string())),
        pa.field("words", pa.string()), pa.field("thumb_key", pa.string()),
        pa.field("uploaded_ts", pa.float64()),
        pa.field("vector", pa.list_(pa.float32(), embedder.dim)),
    ], metadata=meta)


def table_name(embedder: Embedder) -> str:
    return f"{TABLE_PREFIX}{model_id(embedder)}"


class IndexStore:
    """Opens tenant databases under one root (a folder or an s3:// URI)."""

    def __init__(self, settings) -> None:
        self.root = settings.resolved_index_uri.rstrip("/")
        self.options = lance_storage_options(settings) if self.root.startswith("s3://") else None
        self._conns: dict[uuid.UUID, object] = {}
        self._fts_ready: set[tuple[uuid.UUID, str]] = set()
        self._lock = threading.Lock()

    def uri(self, tenant_id: uuid.UUID) -> str:
        return f"{self.root}/tenants/{uuid.UUID(str(tenant_id))}"

    def db(self, tenant_id: uuid.UUID):
        import lancedb

        tid = uuid.UUID(str(tenant_id))
        with self._lock:
            if tid not in self._conns:
                self._conns[tid] = lancedb.connect(self.uri(tid), storage_options=self.options)
            return self._conns[tid]

    def tables(self, tenant_id: uuid.UUID) -> list[str]:
        """The tenant's text tables (one per embedding model)."""
        return [n for n in self.all_tables(tenant_id) if n.startswith(TABLE_PREFIX)]

    def all_tables(self, tenant_id: uuid.UUID) -> list[str]:
        """Text and image tables: what deleting a video or a tenant must reach."""
        names = self.db(tenant_id).list_tables()
        return list(getattr(names, "tables", names))

    def open(self, tenant_id: uuid.UUID, embedder: Embedder, *, create: bool = False):
        """The tenant's table for this model, or None (create=True makes an empty one)."""
        name = table_name(embedder)
        db = self.db(tenant_id)
        if name in self.tables(tenant_id):
            return db.open_table(name)
        if not create:
            return None
        try:
            return db.create_table(name, schema=schema(embedder), exist_ok=True)
        except TypeError:  # older lancedb without exist_ok
            return db.create_table(name, schema=schema(embedder))

    def replace_video(self, tenant_id: uuid.UUID, video_id: uuid.UUID, embedder: Embedder,
                      rows: list[dict]) -> int:
        """Make the video's rows exactly ``rows`` in one commit (idempotent: a re-run changes nothing)."""
        table = self.open(tenant_id, embedder, create=True)
        replace_rows(table, video_id, pa.Table.from_pylist(rows, schema=schema(embedder)) if rows else None)
        self.ensure_fts(tenant_id, table)
        self._maintain(tenant_id, embedder)
        return len(rows)

    def _maintain(self, tenant_id: uuid.UUID, embedder: Embedder) -> None:
        """Fold unindexed rows into the indices: typo-tolerant matching only sees indexed rows.

        Small tables are optimized after every write (about 0.1 s); large ones once enough rows
        have piled up, so a busy tenant does not rewrite its index for every video.
        """
        table = self.open(tenant_id, embedder)  # a fresh handle sees the index just created
        try:
            stats = table.index_stats("text_idx")
            if stats is None or not stats.num_unindexed_rows:
                return
            if stats.num_indexed_rows < 200_000 or stats.num_unindexed_rows > 20_000:
                _retry(table.optimize)
        except Exception:  # maintenance is best-effort (logged); the rows are already searchable
            log.warning("index maintenance failed", exc_info=True)

    def delete_video(self, tenant_id: uuid.UUID, video_id: uuid.UUID, *, text_only: bool = False) -> None:
        """Remove the video from every table of the tenant (all models; ``text_only``: text tables)."""
        db = self.db(tenant_id)
        for name in self.tables(tenant_id) if text_only else self.all_tables(tenant_id):
            replace_rows(db.open_table(name), video_id, None)

    def drop_tenant(self, tenant_id: uuid.UUID) -> None:
        """Every table of the tenant, its folder and the cached connection (tenant deletion)."""
        db = self.db(tenant_id)
        for name in self.all_tables(tenant_id):
            db.drop_table(name)
        with self._lock:
            self._conns.pop(uuid.UUID(str(tenant_id)), None)
            self._fts_ready = {k for k in self._fts_ready if k[0] != uuid.UUID(str(tenant_id))}
        if not self.root.startswith("s3://"):  # S3 has no folders: no object left means nothing left
            import shutil

            shutil.rmtree(self.uri(tenant_id), ignore_errors=True)

    def purge_history(self, tenant_id: uuid.UUID) -> None:
        """Forget deleted rows for good: a Lance delete only marks rows, and every earlier table
        version keeps its data files (and index files) until old versions are cleaned up."""
        from datetime import timedelta

        for name in self.all_tables(tenant_id):
            table = self.db(tenant_id).open_table(name)
            # a delete that dropped whole fragments leaves nothing to compact, and cleanup keeps the latest
            # version, whose manifest and transaction quote the delete's predicate (the video id): an empty
            # update makes a newer version so that one goes too
            _retry(lambda t=table: t.update(where="false", values={"id": ""}))
            _retry(lambda t=table: t.optimize(cleanup_older_than=timedelta(0)))

    def video_ids_where(self, tenant_id: uuid.UUID, where: str) -> set[uuid.UUID]:
        """Videos with a row matching the SQL filter ``where`` in any text table (what an edit must re-index)."""
        out: set[uuid.UUID] = set()
        for name in self.tables(tenant_id):
            rows = self.db(tenant_id).open_table(name).search().where(where).select(["video_id"]).limit(None)
            out |= {uuid.UUID(r["video_id"]) for r in rows.to_list()}
        return out

    def ensure_fts(self, tenant_id: uuid.UUID, table) -> None:
        """Full-text index with positions (phrase queries); rows added later are searched unindexed until optimize."""
        key = (uuid.UUID(str(tenant_id)), table.name)
        if key in self._fts_ready:
            return
        if not any(i.index_type == "FTS" for i in table.list_indices()) and table.count_rows() > 0:
            try:
                table.create_fts_index("text", with_position=True, replace=False)
            except Exception as e:  # another worker created it meanwhile (else re-raised)
                if not any(i.index_type == "FTS" for i in table.list_indices()):
                    raise
                log.debug("fts index raced: %s", e)
        if any(i.index_type == "FTS" for i in table.list_indices()):
            self._fts_ready.add(key)

    def optimize(self, tenant_id: uuid.UUID, embedder: Embedder) -> dict:
        """Fold new rows into the indices; build a vector index once the table is large."""
        table = self.open(tenant_id, embedder)
        if table is None:
            return {"rows": 0}
        rows = table.count_rows()
        has_vec = any(i.index_type.startswith("IVF") for i in table.list_indices())
        if rows >= VECTOR_INDEX_MIN_ROWS and not has_vec:
            # IVF_PQ; 20 k-means iterations and 24 sub-vectors keep the build to minutes on 2 cores
            table.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_PQ",
                               num_partitions=max(16, int(rows ** 0.5) // 2), num_sub_vectors=24,
                               max_iterations=20)
        self.ensure_fts(tenant_id, table)
        table.optimize()
        return {"rows": rows, "vector_index": rows >= VECTOR_INDEX_MIN_ROWS}


def replace_rows(table, video_id: uuid.UUID, data: pa.Table | None) -> None:
    """Make the video's rows in ``table`` exactly ``data`` (None: none) in one commit."""
    vid = str(uuid.UUID(str(video_id)))
    if data is None:
        _retry(lambda: table.delete(f"video_id = '{vid}'"))
        return
    _retry(lambda: table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
           .when_not_matched_by_source_delete(f"video_id = '{vid}'").execute(data))


def _retry(fn) -> None:
    """Concurrent writers to one table can conflict on commit; Lance rejects the loser, we retry."""
    for attempt in range(_WRITE_RETRIES):
        try:
            fn()
            return
        except Exception as e:  # a commit conflict is retried; anything else is re-raised
            if attempt == _WRITE_RETRIES - 1 or "onflict" not in str(e) and "etry" not in str(e):
                raise
            time.sleep(0.05 * 2 ** attempt)


_stores: dict[str, IndexStore] = {}
_stores_lock = threading.Lock()


def get_store(settings) -> IndexStore:
    """One store (and its cached connections) per index root per process."""
    key = json.dumps([settings.resolved_index_uri, settings.s3_endpoint_url])
    with _stores_lock:
        if key not in _stores:
            _stores[key] = IndexStore(settings)
        return _stores[key]


def words_json(words: Iterable[tuple]) -> str:
    """``[[start, word], ...]``; a third element 1 marks a word written without a space before it."""
    return json.dumps([[round(p[0], 2), *p[1:]] for p in words], separators=(",", ":"))
