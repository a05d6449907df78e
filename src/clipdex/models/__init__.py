"""ORM models, one module per aggregate. Importing this package registers them all."""

from clipdex.models.audit import AuditEvent
from clipdex.models.base import Base, TenantOwned, tenant_tables
from clipdex.models.billing import BillingAccount, StripeEvent, UsageReport
from clipdex.models.compliance import CompliancePolicy, CompliancePolicyVersion, ComplianceResult
from clipdex.models.credential import ApiKey, LoginFailure, RefreshToken
from clipdex.models.job import Job, JobStage, OutboxEntry
from clipdex.models.people import Face, Person
from clipdex.models.speech import SpeakerProfile, TranscriptCorrection
from clipdex.models.tenant import Invitation, Membership, Tenant
from clipdex.models.training import DatasetItem, GlossaryTerm, TrainedModel, TrainingDataset, TrainingJob
from clipdex.models.usage import UsageRecord
from clipdex.models.user import User
from clipdex.models.video import Artifact, UploadSession, Video

__all__ = [
    "ApiKey", "Artifact", "AuditEvent", "Base", "BillingAccount", "StripeEvent", "UsageReport", "Face", "Person",
    "Invitation", "Job", "JobStage", "LoginFailure",
    "Membership", "OutboxEntry", "RefreshToken", "SpeakerProfile", "Tenant", "TenantOwned", "TranscriptCorrection",
    "UploadSession", "UsageRecord", "User",
    "Video", "tenant_tables",
    "CompliancePolicy", "CompliancePolicyVersion", "ComplianceResult",
    "DatasetItem", "GlossaryTerm", "TrainedModel", "TrainingDataset", "TrainingJob",
]
