"""Metered usage: one meter event per tenant, metric and closed slice; a killed reporter never double-bills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from clipdex.billing.reconcile import reconcile
from clipdex.billing.reporter import report_usage
from clipdex.db.types import utcnow
from clipdex.models import BillingAccount, UsageRecord, UsageReport
from clipdex.tenancy.system import SystemReason
from tests.billing.conftest import API_KEY, WEBHOOK_SECRET, deliver, subscribe
from tests.conftest import new_tenant

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the subprocess shares the SQLite file

DAY = timedelta(days=1)
# processing minutes per day, oldest first: fractions carry over into the next slice
USAGE = [10.4, 20.3, 5.5]


def _seed(platform, client, server, name: str) -> tuple:
    t = new_tenant(platform, client, name, tier="free")
    _, events = subscribe(client, server, t, "pro")
    deliver(client, events)
    start = (utcnow() - len(USAGE) * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        account = s.scalar(select(BillingAccount).where(BillingAccount.tenant_id == t.id))
        account.metered_from = start  # subscribed three days ago
        for day, minutes in enumerate(USAGE):
            for half in (0, 1):
                s.add(UsageRecord(tenant_id=t.id, month=start.strftime("%Y-%m"), metric="processing_minutes",
                                  quantity=minutes / 2, source_key=f"{name}:{day}:{half}",
                                  created_at=start + day * DAY + timedelta(hours=3 + 8 * half)))
        customer = account.stripe_customer_id
    return t, customer


def _reported(server, customer: str) -> list[dict]:
    return [e for e in server.fake.meter_events if e["payload"]["stripe_customer_id"] == customer]


def test_each_closed_slice_is_reported_once_with_whole_units(bplatform, bclient, stripe_server):
    t, customer = _seed(bplatform, bclient, stripe_server, "Metered")
    other, other_customer = _seed(bplatform, bclient, stripe_server, "Neighbour")
    first = report_usage(bplatform)
    events = _reported(stripe_server, customer)
    # floor of the running total: 10, 30 (=floor 30.7) - 10, 36 (=floor 36.2) - 30
    assert [int(e["payload"]["value"]) for e in sorted(events, key=lambda e: e["timestamp"])] == [10, 20, 6]
    assert all(e["event_name"] == "clipdex_processing_minutes" for e in events)
    assert len(_reported(stripe_server, other_customer)) == 3
    assert first.sent == 6 and not first.failed
    again = report_usage(bplatform)
    assert again.sent == 0 and again.planned == 0
    assert len(stripe_server.fake.meter_events) == 6
    lines = {(line.tenant_id, line.metric): line for line in reconcile(bplatform).usage}
    line = lines[(str(t.id), "processing_minutes")]
    assert line.reported_units == 36 and line.stripe_units == 36 and line.matches


def test_a_reporter_killed_after_stripe_counted_never_bills_twice(bplatform, bclient, stripe_server, tmp_path):
    fake = stripe_server.fake
    t, customer = _seed(bplatform, bclient, stripe_server, "Killed")
    settings = bplatform.settings
    env = {**os.environ, "CLIPDEX_DATA_DIR": str(settings.data_dir),
           "CLIPDEX_DATABASE_URL": settings.resolved_database_url,
           "CLIPDEX_SECRET_KEY": "t" * 40, "CLIPDEX_STRIPE_API_KEY": API_KEY,
           "CLIPDEX_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "CLIPDEX_STRIPE_API_BASE": stripe_server.url}
    fake.hang_meter_events.set()  # Stripe records the first event, then the answer never arrives
    proc = subprocess.Popen([sys.executable, "-m", "clipdex.cli", "billing", "report-usage"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert fake.meter_event_received.wait(60), proc.stdout.read() if proc.poll() is not None else "no event"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(_reported(stripe_server, customer)) == 1  # counted at Stripe, not marked sent here
    with bplatform.db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        statuses = sorted(s.scalars(select(UsageReport.status).where(UsageReport.tenant_id == t.id,
                                                                     UsageReport.metric == "processing_minutes")))
    assert statuses == ["pending", "pending", "pending"]

    fake.hang_meter_events.clear()
    fake.release_hang.set()
    retry = subprocess.run([sys.executable, "-m", "clipdex.cli", "billing", "report-usage"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    events = _reported(stripe_server, customer)
    assert sorted(int(e["payload"]["value"]) for e in events) == [6, 10, 20]  # once each: 36 units, not 46
    keys = [k for m, path, k in fake.requests if path == "/v1/billing/meter_events"]
    assert len(keys) == 4 and len(set(keys)) == 3  # the killed call's key was resent and replayed
    with bplatform.db.system(reason=SystemReason.OPERATOR, readonly=True) as s:
        assert set(s.scalars(select(UsageReport.status).where(UsageReport.tenant_id == t.id,
                                                              UsageReport.metric == "processing_minutes"))) == {"sent"}
    assert report_usage(bplatform).sent == 0
    assert len(_reported(stripe_server, customer)) == 3
