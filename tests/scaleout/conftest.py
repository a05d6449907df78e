"""The scale-out fixtures, shared by every test module here (pytest finds fixtures in conftest)."""

from tests.scaleout.celery_support import broker_url, celery_platform  # noqa: F401  (fixtures)
from tests.scaleout.s3_server import moto_s3, s3_overrides  # noqa: F401  (fixtures)
