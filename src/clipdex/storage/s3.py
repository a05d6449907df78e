"""BlobStore on S3-compatible object storage (AWS S3, MinIO, Ceph RGW, moto in tests).

Configured by ``CLIPDEX_STORAGE_URL=s3://bucket/prefix`` plus the ``CLIPDEX_S3_*`` settings. Every
blob key is stored as ``{prefix}{key}``; the rest of clipdex never sees the prefix.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from clipdex.storage.presign import PresignedUpload, check_presign_key, clamp_ttl, expiry

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix/")``."""
    if not url.startswith("s3://"):
        raise ValueError("not an s3:// URL")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not _BUCKET.match(bucket):
        raise ValueError("invalid S3 bucket name in storage URL")
    prefix = prefix.strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise ValueError("invalid prefix in storage URL")
    return bucket, f"{prefix}/" if prefix else ""


def make_client(settings, *, endpoint_url: str | None = None, connect_timeout: float = 10,
                read_timeout: float = 60, attempts: int = 3):
    """A boto3 S3 client from the ``s3_*`` settings (thread-safe; one per store); ``attempts`` counts the first try."""
    endpoint = endpoint_url or settings.s3_endpoint_url
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "auto"},
        connect_timeout=connect_timeout, read_timeout=read_timeout,
        retries={"total_max_attempts": attempts, "mode": "standard"}, max_pool_connections=32,
        # Newer botocore adds CRC checksums to every request by default; several S3-compatible
        # servers reject or mishandle them, and S3 itself verifies Content-MD5/ETags anyway.
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id, aws_secret_access_key=settings.s3_secret_access_key,
        config=config)


def lance_storage_options(settings) -> dict[str, str]:
    """LanceDB/object_store options for an ``s3://`` index URI from the same ``s3_*`` settings."""
    opts = {"region": settings.s3_region}
    if settings.s3_access_key_id:
        opts |= {"aws_access_key_id": settings.s3_access_key_id,
                 "aws_secret_access_key": settings.s3_secret_access_key or ""}
    if settings.s3_endpoint_url:
        opts["endpoint"] = settings.s3_endpoint_url
        if settings.s3_endpoint_url.startswith("http://"):
            opts["allow_http"] = "true"
    return opts


def _missing(err: ClientError) -> bool:
    return str(err.response.get("Error", {}).get("Code")) in _NOT_FOUND


class _MultipartWriter(io.RawIOBase):
    """Buffers one part at a time; the object exists only after ``commit`` (CompleteMultipartUpload)."""

    def __init__(self, client, bucket: str, key: str, part_bytes: int) -> None:
        super().__init__()
        self._client, self._bucket, self._key, self._part_bytes = client, bucket, key, part_bytes
        self._buf = bytearray()
        self._parts: list[dict] = []
        self._upload_id: str | None = None
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        n = len(memoryview(data).cast("B"))
        self._buf += data
        self._written += n
        while len(self._buf) >= self._part_bytes:
            self._send_part(bytes(self._buf[:self._part_bytes]))
            del self._buf[:self._part_bytes]
        return n

    def tell(self) -> int:
        return self._written

    def close(self) -> None:
        # Closing (or a wrapper closing us) must not publish or lose anything: the context
        # manager decides between commit and abort.
        io.RawIOBase.close(self)

    def _send_part(self, body: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)["UploadId"]
        number = len(self._parts) + 1
        r = self._client.upload_part(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                     PartNumber=number, Body=body)
        self._parts.append({"PartNumber": number, "ETag": r["ETag"]})

    def commit(self) -> None:
        if self._upload_id is None:  # small blob: one PUT is atomic too
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buf))
        else:
            if self._buf:
                self._send_part(bytes(self._buf))
            self._client.complete_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                                   MultipartUpload={"Parts": self._parts})
        self._buf = bytearray()

    def abort(self) -> None:
        self._buf = bytearray()
        if self._upload_id is not None:
            # best effort: a bucket lifecycle rule (AbortIncompleteMultipartUpload) is the backstop
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)


class S3BlobStore:
    """The BlobStore protocol on one bucket and prefix; also presigns tenant keys."""

    def __init__(self, bucket: str, prefix: str, client, *, part_bytes: int = 16 * 1024**2,
                 staging_dir: Path | None = None, presign_client=None, default_ttl_s: int = 300) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix, client
        self.part_bytes = part_bytes
        self.staging_dir = Path(staging_dir or tempfile.gettempdir())
        self.presign_client = presign_client or client
        self.default_ttl_s = default_ttl_s
        self._transfer = TransferConfig(multipart_threshold=part_bytes, multipart_chunksize=part_bytes,
                                        max_concurrency=4, use_threads=True)

    @classmethod
    def from_settings(cls, url: str, settings, **client_kw) -> "S3BlobStore":
        bucket, prefix = parse_url(url)
        public = getattr(settings, "s3_public_endpoint_url", None)
        return cls(bucket, prefix, make_client(settings, **client_kw), part_bytes=settings.s3_multipart_chunk_bytes,
                   staging_dir=settings.staging_dir, default_ttl_s=settings.signed_url_ttl_s,
                   presign_client=make_client(settings, endpoint_url=public, **client_kw) if public else None)

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix})"

    def _key(self, key: str) -> str:
        if (not key or key.startswith("/") or "\x00" in key
                or any(part in ("", ".", "..") for part in key.rstrip("/").split("/"))):
            raise ValueError("invalid blob key")
        return self.prefix + key

    def _dir(self, prefix: str) -> str:
        """Prefixes name folders, as in the local store: ``a/b`` never matches ``a/bc``."""
        return self._key(prefix.rstrip("/")) + "/"

    # --- writing -----------------------------------------------------------------------------

    def put_file(self, key: str, path: Path) -> int:
        self.client.upload_file(str(path), self.bucket, self._key(key), Config=self._transfer)
        return Path(path).stat().st_size

    def put_bytes(self, key: str, data: bytes) -> int:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        return len(data)

    def adopt_file(self, key: str, path: Path) -> int:
        size = self.put_file(key, path)
        Path(path).unlink(missing_ok=True)
        return size

    @contextlib.contextmanager
    def open_writer(self, key: str) -> Iterator[BinaryIO]:
        writer = _MultipartWriter(self.client, self.bucket, self._key(key), self.part_bytes)
        try:
            yield writer  # type: ignore[misc]
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    # --- reading -----------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        """A streaming body (read in chunks; close it)."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as e:
            if _missing(e):
                raise KeyError(key) from None
            raise

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        # "clipdex-" prefix: the janitor sweeps stale scratch files of that name from staging
        tmp = self.staging_dir / f"clipdex-s3-{uuid.uuid4().hex}{Path(key).suffix[:9]}"
        try:
            with self.open(key) as body, open(tmp, "wb") as f:
                shutil.copyfileobj(body, f, 1 << 20)
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as e:
            if _missing(e):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise KeyError(key)
        return int(head["ContentLength"])

    def modified_at(self, key: str) -> float | None:
        """Epoch seconds of the object's last write (None when it does not exist)."""
        head = self._head(key)
        return head["LastModified"].timestamp() if head and head.get("LastModified") else None

    def list_prefix(self, prefix: str) -> Iterator[str]:
        cut = len(self.prefix)
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._dir(prefix)):
            for obj in page.get("Contents", ()):
                yield obj["Key"][cut:]

    # --- deleting and moving -----------------------------------------------------------------

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> int:
        keys = [self.prefix + k for k in self.list_prefix(prefix)]
        if not keys and self.exists(prefix.rstrip("/")):  # a single blob, as the local store allows
            keys = [self._key(prefix.rstrip("/"))]
        for i in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": k} for k in keys[i:i + _DELETE_BATCH]]
            r = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if r.get("Errors"):
                raise OSError(f"S3 refused to delete {len(r['Errors'])} objects: {r['Errors'][0].get('Code')}")
        return len(keys)

    def copy(self, src: str, dst: str) -> None:
        if not self.exists(src):
            raise KeyError(src)
        # managed copy: server-side, in parts above the threshold (CopyObject stops at 5 GB)
        self.client.copy({"Bucket": self.bucket, "Key": self._key(src)}, self.bucket, self._key(dst),
                         Config=self._transfer)

    def move(self, src: str, dst: str) -> None:
        self.copy(src, dst)
        self.delete(src)

    # --- presigning (tenant keys only) -------------------------------------------------------

    def presign_download(self, key: str, *, filename: str | None = None, content_type: str | None = None,
                         ttl_s: int | None = None) -> tuple[str, int]:
        """A presigned GET for a tenant blob: (url, expires_at as Unix seconds), at most 15 minutes."""
        check_presign_key(key)
        ttl = clamp_ttl(ttl_s or self.default_ttl_s)
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        url = self.presign_client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)
        return url, expiry(ttl)

    def presign_upload(self, key: str, *, max_bytes: int, ttl_s: int | None = None) -> PresignedUpload:
        """A presigned POST for exactly ``key`` whose policy limits the body to 1..max_bytes."""
        check_presign_key(key)
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        ttl = clamp_ttl(ttl_s or self.default_ttl_s)
        post = self.presign_client.generate_presigned_post(
            self.bucket, self._key(key), Conditions=[["content-length-range", 1, int(max_bytes)]], ExpiresIn=ttl)
        return PresignedUpload(url=post["url"], fields=post["fields"], method="POST", expires_at=expiry(ttl),
                               max_bytes=int(max_bytes))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name."""
    from urllib.parse import quote

    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
