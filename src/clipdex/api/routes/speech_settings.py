"""The tenant's speech settings: the language its videos are in by default (else identified per video)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from clipdex.api.deps import Authed, PlatformDep
from clipdex.auth.service import ensure
from clipdex.models import Tenant
from clipdex.speech.routing import AUTO, whisper_language
from clipdex.tenancy import access, audit

router = APIRouter(prefix="/speech", tags=["speech"])


class SpeechSettings(BaseModel):
    default_language: str = Field(AUTO, description="'auto': identify each video's language (English goes to the "
                                  "English model, others to the multilingual one); or a language code such as "
                                  "'es' that uploads without a declared language are in")

    @field_validator("default_language")
    @classmethod
    def _known(cls, v: str) -> str:
        v = v.strip().lower()
        if v != AUTO and whisper_language(v) != v:
            raise ValueError("must be 'auto' or a language code the speech model knows (such as en, es, pt, ko)")
        return v


def _read(platform, principal) -> SpeechSettings:
    with access.session_for(platform, principal, readonly=True) as s:
        t = s.get(Tenant, access.tenant_of(principal))
        return SpeechSettings(default_language=(t.settings or {}).get("asr_language") or AUTO)


@router.get("/settings", response_model=SpeechSettings, summary="The tenant's default speech language")
def get_speech_settings(principal: Authed, platform: PlatformDep) -> SpeechSettings:
    ensure(principal, "tenant:read")
    return _read(platform, principal)


@router.put("/settings", response_model=SpeechSettings, summary="Set the tenant's default speech language (owners)")
def put_speech_settings(body: SpeechSettings, principal: Authed, platform: PlatformDep) -> SpeechSettings:
    ensure(principal, "tenant:update")
    with access.session_for(platform, principal) as s:
        t = s.get(Tenant, access.tenant_of(principal))
        rest = {k: v for k, v in (t.settings or {}).items() if k != "asr_language"}
        t.settings = {**rest, **({"asr_language": body.default_language} if body.default_language != AUTO else {})}
        audit.record(s, "tenant.speech_settings", actor=principal.actor, tenant_id=t.id, target=f"tenant:{t.id}",
                     default_language=body.default_language)
    return _read(platform, principal)
