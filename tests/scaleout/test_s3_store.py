"""The BlobStore contract, run against the local folder and against S3 (moto over HTTP)."""

from __future__ import annotations

import hashlib
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from clipdex.settings import MiB, Settings
from clipdex.storage import keys, open_store
from clipdex.storage.s3 import S3BlobStore, parse_url

PART = 5 * MiB  # the smallest part S3 allows; the store's setting cannot go below it


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(data_dir=tmp_path / "data", env="test", s3_multipart_chunk_bytes=PART, **overrides)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_store(f"file://{tmp_path / 'blobs'}")
    ov = request.getfixturevalue("s3_overrides")
    return open_store(ov["storage_url"], _settings(tmp_path, **ov))


def _k(name: str) -> str:
    return keys.artifact(uuid.UUID(int=1), uuid.UUID(int=2), "stage", "v1", name)


def test_put_read_size_exists_delete(store, tmp_path):
    key = _k("a.json")
    assert not store.exists(key)
    assert store.put_bytes(key, b'{"a": 1}') == 8
    assert store.exists(key) and store.size(key) == 8
    with store.open(key) as f:
        assert f.read() == b'{"a": 1}'
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3000))
    assert store.put_file(_k("b.bin"), src) == 3000 and src.exists()
    with store.local_path(_k("b.bin")) as p:
        assert p.read_bytes() == src.read_bytes()
    if isinstance(store, S3BlobStore):
        assert not p.exists()  # the temp copy is gone; the local store hands out the file itself
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting what is gone is not an error
    for missing in (store.open, store.size):
        with pytest.raises(KeyError):
            missing(_k("missing"))
    with pytest.raises(KeyError), store.local_path(_k("missing")):
        pass


def test_adopt_file_moves_the_temp_file(store, tmp_path):
    src = tmp_path / "upload.part"
    src.write_bytes(b"x" * 1234)
    assert store.adopt_file(_k("original.mp4"), src) == 1234
    assert not src.exists()
    assert store.size(_k("original.mp4")) == 1234


def test_streaming_writer_larger_than_a_part(store):
    key = _k("big.bin")
    h = hashlib.sha256()
    with store.open_writer(key) as w:
        for i in range(23):  # 11.5 MiB in 512 KiB writes: three parts on S3, the last one short
            block = bytes([i]) * (512 * 1024)
            w.write(block)
            h.update(block)
        assert not store.exists(key)  # nothing visible before a clean exit
    assert store.size(key) == 23 * 512 * 1024
    with store.open(key) as f:
        got = hashlib.sha256()
        while chunk := f.read(1 << 20):
            got.update(chunk)
    assert got.hexdigest() == h.hexdigest()


def test_failed_writer_leaves_nothing(store, moto_s3):
    key = _k("broken.bin")
    with pytest.raises(RuntimeError), store.open_writer(key) as w:
        w.write(b"y" * (PART + 100))  # one part already sent on S3
        raise RuntimeError("encoder crashed")
    assert not store.exists(key)
    assert list(store.list_prefix(keys.tenant_prefix(uuid.UUID(int=1)))) == []
    if isinstance(store, S3BlobStore):
        assert moto_s3.multipart_uploads(store.prefix) == []  # aborted, no parts kept (and billed)


def test_list_and_delete_prefix_are_folder_scoped(store):
    t1, t2 = uuid.UUID(int=1), uuid.UUID(int=2)
    v = keys.video_prefix(t1, uuid.UUID(int=7))
    for name in ("a", "b/c", "b/d/e"):
        store.put_bytes(v + name, b"1")
    store.put_bytes(keys.tenant_prefix(t2) + "other", b"2")
    store.put_bytes(keys.tenant_prefix(t1) + "videos-not-a-folder", b"3")  # shares the string prefix
    assert sorted(store.list_prefix(v)) == sorted(v + n for n in ("a", "b/c", "b/d/e"))
    assert sorted(store.list_prefix(v.rstrip("/"))) == sorted(store.list_prefix(v))
    assert list(store.list_prefix(keys.tenant_prefix(t1) + "vid")) == []
    assert store.delete_prefix(v) == 3
    assert list(store.list_prefix(v)) == []
    assert store.exists(keys.tenant_prefix(t2) + "other")
    assert store.exists(keys.tenant_prefix(t1) + "videos-not-a-folder")
    assert store.delete_prefix(v) == 0


def test_move(store):
    store.put_bytes(_k("from"), b"payload")
    store.move(_k("from"), _k("to"))
    assert not store.exists(_k("from"))
    with store.open(_k("to")) as f:
        assert f.read() == b"payload"
    with pytest.raises((KeyError, FileNotFoundError)):
        store.move(_k("from"), _k("again"))


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b", "../x"])
def test_unsafe_keys_refused(store, bad):
    with pytest.raises(ValueError):
        store.put_bytes(bad, b"x")


@pytest.mark.slow
def test_s3_delete_prefix_over_a_thousand_keys(tmp_path, s3_overrides):
    """DeleteObjects takes 1000 keys a call and ListObjectsV2 returns 1000 a page."""
    store = open_store(s3_overrides["storage_url"], _settings(tmp_path, **s3_overrides))
    v = keys.video_prefix(uuid.UUID(int=3), uuid.UUID(int=4))
    names = [f"{v}frames/{i:05d}.jpg" for i in range(1205)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: store.put_bytes(k, b"j"), names))
    assert sorted(store.list_prefix(v)) == names
    assert store.delete_prefix(v) == 1205
    assert list(store.list_prefix(v)) == []


def test_s3_put_file_uses_multipart_and_keeps_prefix(tmp_path, s3_overrides, moto_s3):
    store = open_store(s3_overrides["storage_url"], _settings(tmp_path, **s3_overrides))
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(PART * 2 + 17))
    key = _k("video.mp4")
    assert store.put_file(key, src) == src.stat().st_size
    full = store.prefix + key
    assert full in moto_s3.keys(store.prefix)
    etag = moto_s3.client().head_object(Bucket=moto_s3.bucket, Key=full)["ETag"]
    assert etag.strip('"').endswith("-3")  # a multipart ETag: three parts
    with store.local_path(key) as p:
        assert p.parent == _settings(tmp_path).staging_dir and p.read_bytes() == src.read_bytes()
    assert not p.exists()


def test_parse_url():
    assert parse_url("s3://bucket-1/a/b/") == ("bucket-1", "a/b/")
    assert parse_url("s3://bucket-1") == ("bucket-1", "")
    for bad in ("s3://B/x", "s3://ab", "s3://bucket/a/../b", "file:///x"):
        with pytest.raises(ValueError):
            parse_url(bad)
