"""Search latency at 10k / 100k / 1M transcript windows, next to the raw LanceDB queries on the same table.

One tenant's table is filled with synthetic windows: sentences generated from topic vocabularies,
embedded with the real MiniLM model (a pool of distinct sentences; each row is a pool sentence plus
filler words, and its vector the pool vector plus noise, so 1M rows do not need 1M model calls).
Then, for the same queries:

* ``clipdex``: ``retrieve()``, the whole search path (query embedding, full-text with typo
  tolerance, vector, reciprocal-rank fusion, rerank);
* ``raw``: the two LanceDB queries it is built on (``MatchQuery`` full-text and a cosine vector
  search, vector precomputed), fused by nothing;
* ``raw+embed``: raw plus embedding the query, the fair baseline for a text query.

Index build throughput: windows per second through the real indexer path (embedding + one
merge_insert per video of 200 windows), and bulk append alone.

    .venv/bin/python -m bench.search [--sizes 10000,100000,1000000] [--queries 60]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench.common import console, percentile, print_table, warn_if_busy, write_json

TOPICS = {
    "finance": "budget revenue pricing forecast quarter margin invoice expenses profit audit".split(),
    "product": "launch roadmap feature release customers feedback prototype design beta pricing".split(),
    "people": "hiring onboarding training mentor team manager culture interview promotion".split(),
    "tech": "database latency outage deploy kubernetes storage network backup security cache".split(),
    "media": "camera lighting interview editing subtitles footage color audio microphone studio".split(),
}
FILLER = "so we think that the next step is to look at how this works for everyone here today".split()
POOL = 4000


def sentences(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        topic = rng.choice(list(TOPICS.values()))
        words = rng.sample(topic, 4) + rng.sample(FILLER, 6)
        rng.shuffle(words)
        out.append(" ".join(words).capitalize() + ".")
    return out


def make_settings(root: Path):
    from clipdex.settings import Settings

    return Settings(data_dir=root, index_uri=str(root / "index"), env="test", secret_key="b" * 40)


def fill(table, pool_texts, pool_vecs, n: int, rng: np.random.Generator, batch: int = 50_000) -> float:
    """Append ``n`` synthetic windows; returns seconds spent writing."""
    import pyarrow as pa

    schema = table.schema
    spent = 0.0
    for off in range(0, n, batch):
        m = min(batch, n - off)
        idx = rng.integers(0, len(pool_texts), m)
        vid = [str(uuid.UUID(int=int(i) // 200 + 1)) for i in range(off, off + m)]
        vec = pool_vecs[idx] + rng.normal(0, 0.02, (m, pool_vecs.shape[1])).astype(np.float32)
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        cols = {
            "id": [f"{v}:transcript:{i}" for v, i in zip(vid, range(off, off + m))], "video_id": vid,
            "modality": ["transcript"] * m, "start": (np.arange(off, off + m) % 200 * 15.0).tolist(),
            "end": (np.arange(off, off + m) % 200 * 15.0 + 15.0).tolist(),
            "text": [pool_texts[i] for i in idx], "speaker": ["S1"] * m, "language": ["en"] * m,
            "people": [[] for _ in range(m)], "tags": [[] for _ in range(m)], "words": [None] * m,
            "thumb_key": [None] * m, "uploaded_ts": [1.7e9] * m,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vec.reshape(-1), pa.float32()), vec.shape[1]),
        }
        t0 = time.perf_counter()
        table.add(pa.table(cols, schema=schema))
        spent += time.perf_counter() - t0
    return spent


def time_queries(fn, queries: list, repeat: int = 1) -> list[float]:
    fn(queries[0])  # warm caches
    out = []
    for q in queries * repeat:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return sorted(out)


def build_throughput(platform, tenant, embedder, texts: list[str]) -> dict:
    """The indexer's write path: embed a video's windows, then one merge_insert per video."""
    from clipdex.search.store import get_store

    store = get_store(platform.settings)
    t0 = time.perf_counter()
    for v in range(0, len(texts), 200):
        chunk = texts[v:v + 200]
        vid = uuid.uuid4()
        vecs = embedder.encode(chunk)
        rows = [{"id": f"{vid}:transcript:{i}", "video_id": str(vid), "modality": "transcript", "start": i * 15.0,
                 "end": i * 15.0 + 15, "text": t, "speaker": None, "language": "en", "people": [], "tags": [],
                 "words": None, "thumb_key": None, "uploaded_ts": 1.7e9, "vector": vecs[i]}
                for i, t in enumerate(chunk)]
        store.replace_video(tenant, vid, embedder, rows)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    embedder.encode(texts)
    embed_only = time.perf_counter() - t1
    return {"windows": len(texts), "indexer_windows_per_s": round(len(texts) / wall, 1),
            "embedding_only_windows_per_s": round(len(texts) / embed_only, 1)}


def run(sizes: list[int], n_queries: int = 60) -> dict:
    from lancedb.query import MatchQuery

    from clipdex.search.embed import get_embedder
    from clipdex.search.retrieve import retrieve
    from clipdex.search.store import get_store

    load = warn_if_busy()
    root = Path(tempfile.mkdtemp(prefix="clipdex-bench-search-"))
    try:
        settings = make_settings(root)
        platform = SimpleNamespace(settings=settings)
        embedder = get_embedder(settings)
        rng = random.Random(7)
        pool = sentences(rng, POOL)
        t0 = time.perf_counter()
        pool_vecs = embedder.encode(pool)
        pool_embed_s = time.perf_counter() - t0
        queries = [" ".join(random.Random(i).sample(rng.choice(list(TOPICS.values())), 2)) for i in range(n_queries)]
        qvecs = {q: v for q, v in zip(queries, embedder.encode(queries))}
        build = build_throughput(platform, uuid.uuid4(), embedder, sentences(rng, 2000))
        store = get_store(settings)
        results = []
        for n in sizes:
            tenant = uuid.uuid4()
            table = store.open(tenant, embedder, create=True)
            write_s = fill(table, pool, pool_vecs, n, np.random.default_rng(n))
            t1 = time.perf_counter()
            store.optimize(tenant, embedder)  # FTS index, and IVF_PQ from 100k rows
            index_s = time.perf_counter() - t1
            table = store.open(tenant, embedder)  # a fresh handle: the one used to write does not see the indices

            def ours(q, tenant=tenant):
                return retrieve(platform, tenant, q, k=20)

            def raw(q, table=table):
                table.search(MatchQuery(q, "text"), query_type="fts").limit(100).to_list()
                table.search(qvecs[q], vector_column_name="vector").distance_type("cosine").limit(100).to_list()

            def raw_embed(q, table=table):
                v = embedder.encode([q])[0]
                table.search(MatchQuery(q, "text"), query_type="fts").limit(100).to_list()
                table.search(v, vector_column_name="vector").distance_type("cosine").limit(100).to_list()

            row = {"windows": n, "append_windows_per_s": round(n / write_s, 0), "index_build_s": round(index_s, 1)}
            for name, fn in (("clipdex", ours), ("raw", raw), ("raw_embed", raw_embed)):
                lat = time_queries(fn, queries)
                row[f"{name}_p50_ms"] = round(percentile(lat, 50), 1)
                row[f"{name}_p95_ms"] = round(percentile(lat, 95), 1)
            row["ratio_p50_vs_raw_embed"] = round(row["clipdex_p50_ms"] / row["raw_embed_p50_ms"], 2)
            row["ratio_p50_vs_raw"] = round(row["clipdex_p50_ms"] / row["raw_p50_ms"], 2)
            results.append(row)
            console.print(f"[dim]{n} windows done: {row}[/dim]")
            store.drop_tenant(tenant)
        return {"sizes": results, "build": build, "pool_sentences": POOL, "pool_embed_s": round(pool_embed_s, 1),
                "queries": n_queries, "embedding_model": embedder.name, "load_average_at_start": load}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def print_result(data: dict) -> None:
    rows = [[r["windows"], r["clipdex_p50_ms"], r["clipdex_p95_ms"], r["raw_p50_ms"], r["raw_p95_ms"],
             r["raw_embed_p50_ms"], r["ratio_p50_vs_raw_embed"], r["index_build_s"], r["append_windows_per_s"]]
            for r in data["sizes"]]
    print_table("search latency (ms) on one tenant's table",
                ["windows", "clipdex p50", "clipdex p95", "raw p50", "raw p95", "raw+embed p50",
                 "ratio vs raw+embed", "index build s", "append win/s"], rows)
    b = data["build"]
    console.print(f"indexer path: {b['indexer_windows_per_s']} windows/s "
                  f"(embedding alone {b['embedding_only_windows_per_s']} windows/s)")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--queries", type=int, default=60)
    args = p.parse_args(argv)
    data = run([int(x) for x in args.sizes.split(",")], args.queries)
    print_result(data)
    console.print(f"wrote {write_json('search', data)}")


if __name__ == "__main__":
    main()
