"""Settings of the production providers, read from the environment once, when resources are built."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProviderSettings(BaseSettings):
    """Keys, endpoints and models of the outside systems; unset means 'use the embedded default'."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # Script writer: OpenAI or any OpenAI-compatible server (vLLM, Ollama).
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", alias="NEXUS_OPENAI_MODEL")
    openai_timeout_s: float = Field(default=60.0, alias="NEXUS_OPENAI_TIMEOUT_S")

    # Voice and music: ElevenLabs.
    elevenlabs_api_key: SecretStr | None = Field(default=None, alias="ELEVENLABS_API_KEY")
    elevenlabs_base_url: str | None = Field(default=None, alias="ELEVENLABS_BASE_URL")
    elevenlabs_voice_id: str = Field(default="21m00Tcm4TlvDq8ikWAM", alias="NEXUS_ELEVENLABS_VOICE_ID")
    elevenlabs_model: str = Field(default="eleven_multilingual_v2", alias="NEXUS_ELEVENLABS_MODEL")
    elevenlabs_concurrency: int = Field(default=2, ge=1, le=64, alias="NEXUS_ELEVENLABS_CONCURRENCY")
    elevenlabs_music: bool = Field(default=False, alias="NEXUS_ELEVENLABS_MUSIC")
    # Paid answers (scripts, speech, music) are kept here so a retry never pays twice; unset: NEXUS_HOME/cache.
    provider_cache_dir: Path | None = Field(default=None, alias="NEXUS_PROVIDER_CACHE_DIR")

    # Images: diffusers. A model id or a local folder; downloads only when explicitly allowed.
    diffusion_model: str | None = Field(default=None, alias="NEXUS_DIFFUSION_MODEL")
    diffusion_allow_download: bool = Field(default=False, alias="NEXUS_DIFFUSION_ALLOW_DOWNLOAD")
    diffusion_steps: int = Field(default=25, ge=1, le=200, alias="NEXUS_DIFFUSION_STEPS")
    diffusion_device: str | None = Field(default=None, alias="NEXUS_DIFFUSION_DEVICE")
    diffusion_guidance_scale: float = Field(default=7.5, ge=0.0, le=30.0, alias="NEXUS_DIFFUSION_GUIDANCE_SCALE")
    diffusion_batch_size: int = Field(default=4, ge=1, le=64, alias="NEXUS_DIFFUSION_BATCH_SIZE")
    # The side the model draws at when its config says otherwise (sdxl-turbo: 512); unset: from the model.
    diffusion_native_size: int | None = Field(default=None, ge=64, alias="NEXUS_DIFFUSION_NATIVE_SIZE")
    diffusion_memory: Literal["auto", "none", "attention_slicing", "cpu_offload"] = Field(
        default="auto", alias="NEXUS_DIFFUSION_MEMORY"
    )

    # Object store: S3 or any S3-compatible server (MinIO, SeaweedFS).
    s3_bucket: str | None = Field(default=None, alias="NEXUS_S3_BUCKET")
    s3_endpoint_url: str | None = Field(default=None, alias="NEXUS_S3_ENDPOINT_URL")
    s3_region: str | None = Field(default=None, alias="AWS_REGION")
    s3_prefix: str = Field(default="", alias="NEXUS_S3_PREFIX")
    s3_sse: str | None = Field(default=None, pattern="^(AES256|aws:kms)$", alias="NEXUS_S3_SSE")
    s3_sse_kms_key_id: str | None = Field(default=None, alias="NEXUS_S3_SSE_KMS_KEY_ID")
    s3_url_expiry_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600, alias="NEXUS_S3_URL_EXPIRY_S")
    s3_multipart_threshold_mb: int = Field(default=64, ge=5, alias="NEXUS_S3_MULTIPART_THRESHOLD_MB")

    # Encoding: 'auto' uses NVENC when an NVIDIA encoder works here, else libx264/libx265.
    gpu_encoding: str = Field(default="auto", pattern="^(auto|on|off)$", alias="NEXUS_GPU_ENCODING")
