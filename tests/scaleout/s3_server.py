"""An S3-compatible server for tests: moto in server mode, over real HTTP on 127.0.0.1.

Reuse it from any test module::

    from tests.scaleout.s3_server import moto_s3, s3_overrides  # noqa: F401  (pytest fixtures)

    def test_something(tmp_path, s3_overrides):
        settings = migrated_sqlite_settings(tmp_path, **s3_overrides)   # storage_url=s3://..., keys, endpoint
        platform = Platform.from_settings(settings)

``moto_s3`` (session scope) starts one server on a free port and creates the bucket ``clipdex-test``;
``s3_overrides`` gives each test its own prefix in that bucket (``s3://clipdex-test/t-<hex>``), so
tests never see each other's objects. ``MotoS3.keys(prefix)`` lists what a test left behind.
``s3_overrides`` also sets ``index_uri`` to ``s3://clipdex-test/t-<hex>-index`` so LanceDB goes to
the same server. Nothing is mocked in-process: clients speak HTTP to the server like to MinIO.

What moto does *not* do (checked with moto 5.2.5): it ignores presigned-URL expiry and signatures
and POST-policy conditions (``content-length-range``, exact ``key``). Tests of those limits check
the signed parameters and clipdex's own server-side checks instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config

BUCKET = "clipdex-test"
ACCESS_KEY = "clipdex-test-key"
SECRET_KEY = "clipdex-test-secret"
REGION = "us-east-1"


@dataclass
class MotoS3:
    endpoint_url: str
    bucket: str = BUCKET
    region: str = REGION
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def client(self):
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=Config(signature_version="s3v4"))

    def overrides(self, prefix: str | None = None) -> dict:
        """Settings overrides that put blobs (and the LanceDB index) on this server under ``prefix``."""
        prefix = prefix or f"t-{uuid.uuid4().hex[:12]}"
        return {"storage_url": f"s3://{self.bucket}/{prefix}", "index_uri": f"s3://{self.bucket}/{prefix}-index",
                "s3_endpoint_url": self.endpoint_url, "s3_region": self.region,
                "s3_access_key_id": self.access_key, "s3_secret_access_key": self.secret_key}

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix`` (full keys, including the store prefix)."""
        out = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", ())]
        return out

    def multipart_uploads(self, prefix: str = "") -> list[dict]:
        """Multipart uploads started and neither completed nor aborted."""
        return self.client().list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get("Uploads", [])


def start_server():
    """Start moto on a free port; returns (server, endpoint URL). Call ``server.stop()`` when done."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="session")
def moto_s3():
    server, endpoint = start_server()
    s3 = MotoS3(endpoint)
    s3.client().create_bucket(Bucket=s3.bucket)
    yield s3
    server.stop()


@pytest.fixture
def s3_overrides(moto_s3) -> dict:
    """Per-test settings overrides: blobs under a fresh prefix of the moto bucket."""
    return moto_s3.overrides()
