"""Rows for two tenants in every tenant table, written straight through the ORM (no API)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from clipdex.db.types import utcnow
from clipdex.models import (ApiKey, Artifact, AuditEvent, Base, CompliancePolicy, CompliancePolicyVersion,
                            ComplianceResult, Face, Invitation, Job, JobStage, Membership, OutboxEntry, Person,
                            RefreshToken, SpeakerProfile, Tenant, TranscriptCorrection, UploadSession, UsageRecord,
                            User, Video)
from clipdex.tenancy.system import SystemReason


@dataclass
class Seeded:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    rows: dict[str, uuid.UUID] = field(default_factory=dict)  # table name -> id of this tenant's row


def seed_tenant(platform, name: str) -> Seeded:
    """A tenant with one row in every table that has a tenant_id column."""
    tag = secrets.token_hex(4)
    later = utcnow() + timedelta(days=1)
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        t = Tenant(name=f"{name} {tag}", slug=f"{name.lower()}-{tag}", tier="free")
        u = User(email=f"owner-{tag}@{name.lower()}.example.com", password_hash="not-a-hash")
        s.add_all([t, u])
        s.flush()
        v = Video(tenant_id=t.id, title=f"{name} video {tag}")
        s.add(v)
        s.flush()
        j = Job(tenant_id=t.id, video_id=v.id)
        person = Person(tenant_id=t.id, name=f"{name} person {tag}", embedding=bytes(512))
        policy = CompliancePolicy(tenant_id=t.id, name=f"{name.lower()}-{tag}", rules={})
        s.add_all([j, person, policy])
        s.flush()
        st = JobStage(tenant_id=t.id, job_id=j.id, name="probe", version="1")
        s.add(st)
        s.flush()
        rows = [
            v, j, person, st, policy,
            CompliancePolicyVersion(tenant_id=t.id, policy_id=policy.id, version=1, rules={}),
            ComplianceResult(tenant_id=t.id, video_id=v.id, policy_name="kids", verdict="pass"),
            OutboxEntry(tenant_id=t.id, job_id=j.id, stage_id=st.id, stage="probe", queue="cpu"),
            Face(tenant_id=t.id, person_id=person.id, video_id=v.id, embedding=bytes(512)),
            Membership(tenant_id=t.id, user_id=u.id, role="owner"),
            Artifact(tenant_id=t.id, video_id=v.id, stage="probe", version="1", name="probe.json",
                     blob_key=f"tenants/{t.id}/videos/{v.id}/probe/1/probe.json", content_type="application/json"),
            ApiKey(tenant_id=t.id, name=f"{name} key", prefix=tag, key_hash=secrets.token_hex(32), scopes=["read"]),
            Invitation(tenant_id=t.id, email=f"invitee-{tag}@example.com", role="member",
                       token_hash=secrets.token_hex(32), expires_at=later),
            UploadSession(tenant_id=t.id, length=10, filename=f"{name}.mp4", expires_at=later),
            UsageRecord(tenant_id=t.id, month="2026-11", metric="api_calls", quantity=1.0, source_key=f"seed:{tag}"),
            AuditEvent(tenant_id=t.id, actor="seed", action="seed.created"),
            TranscriptCorrection(tenant_id=t.id, video_id=v.id, segment_index=0, start_s=0.0, end_s=1.0,
                                 text=f"{name} corrected {tag}", original_text="seed"),
            SpeakerProfile(tenant_id=t.id, name=f"{name} voice {tag}", embedding=bytes(1024), source_video_id=v.id,
                           source_label="S1"),
            RefreshToken(tenant_id=t.id, user_id=u.id, family_id=uuid.uuid4(), token_hash=secrets.token_hex(32),
                         expires_at=later),
        ]
        s.add_all(rows)
        s.flush()
        rows += _training_rows(s, t.id, v.id, name, tag)
        rows += _billing_rows(s, t.id, tag)
        return Seeded(t.id, u.id, {type(r).__table__.name: r.id for r in rows})


def _training_rows(s, tenant_id: uuid.UUID, video_id: uuid.UUID, name: str, tag: str) -> list:
    """Custom models (issue 13): a dataset with an item, a model version with its job, a glossary term."""
    from clipdex.models import DatasetItem, GlossaryTerm, TrainedModel, TrainingDataset, TrainingJob

    ds = TrainingDataset(tenant_id=tenant_id, name=f"{name} dataset {tag}")
    s.add(ds)
    s.flush()
    model = TrainedModel(tenant_id=tenant_id, dataset_id=ds.id, base_model="smollm2-135m", method="lora")
    s.add(model)
    s.flush()
    more = [DatasetItem(tenant_id=tenant_id, dataset_id=ds.id, video_id=video_id, question=f"{name} q {tag}?",
                        answer=f"{name} a {tag}"),
            TrainingJob(tenant_id=tenant_id, model_id=model.id),
            GlossaryTerm(tenant_id=tenant_id, term=f"{name} {tag}")]
    s.add_all(more)
    s.flush()
    return [ds, model, *more]


def _billing_rows(s, tenant_id: uuid.UUID, tag: str) -> list:
    """Billing (issue 15): the tenant's Stripe account and one reported usage slice."""
    from clipdex.models import BillingAccount, UsageReport

    now = utcnow()
    more = [BillingAccount(tenant_id=tenant_id, stripe_customer_id=f"cus_seed_{tag}", state="active", plan="pro"),
            UsageReport(tenant_id=tenant_id, metric="processing_minutes", slice_start=now - timedelta(days=1),
                        slice_end=now, quantity=3.0, idempotency_key=f"seed-{tag}",
                        stripe_customer_id=f"cus_seed_{tag}")]
    s.add_all(more)
    s.flush()
    return more


def tenant_rows(platform, tenant_id: uuid.UUID) -> dict[str, list[str]]:
    """Every row of one tenant, per table, as comparable text (read in the system scope)."""
    out = {}
    with platform.db.system(reason=SystemReason.OPERATOR) as s:
        for table in Base.metadata.sorted_tables:
            if "tenant_id" in table.c:
                rows = s.execute(select(table).where(table.c.tenant_id == tenant_id))
                out[table.name] = sorted(repr(sorted(dict(r._mapping).items())) for r in rows)
    return out
