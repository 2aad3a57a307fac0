"""The API's settings (NEXUS_API_*), in one class; where the catalog lives comes from NexusSettings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nexus_core.download_links import CdnSettings
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.settings import NexusSettings

API_PREFIX = "/api/v1"


class Settings(BaseSettings):
    """Read once per process by create_app(); tests build one with explicit values."""

    model_config = SettingsConfigDict(env_prefix="NEXUS_API_", extra="ignore")

    core: NexusSettings = Field(default_factory=NexusSettings, description="NEXUS_HOME, NEXUS_DATABASE_URL, ...")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    # Auth: an RS256 public key (PEM) or a JWKS file; locally, a dev key pair under NEXUS_HOME/api.
    jwt_public_key_file: Path | None = None
    jwks_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_s: int = Field(default=0, ge=0, le=300)
    dev_keys: bool = Field(default=True, description="Create and trust a dev key pair when no key is configured.")

    # Rate limits: token buckets per user and overall; Redis-backed when redis_url is set.
    redis_url: str | None = None
    rate_limit_user_per_s: float = Field(default=20.0, gt=0)
    rate_limit_user_burst: int = Field(default=20, ge=1)
    rate_limit_global_per_s: float = Field(default=1000.0, gt=0)
    rate_limit_global_burst: int = Field(default=1000, ge=1)
    rate_limit_prefix: str = Field(default="nexus:rl:", description="Prefix of the Redis keys of the buckets.")

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    download_ttl_s: int = Field(default=900, ge=10, le=7 * 24 * 3600)
    url_signing_key_file: Path | None = None
    cdn: CdnSettings = Field(default_factory=CdnSettings, description="NEXUS_CDN_*: links to published files.")
    gpu_pool: bool = Field(default=True, description="False where the deployment has no GPU pool: ULTRA is "
                                                     "served, recorded and charged as HD (NEXUS_API_GPU_POOL).")

    # The outbox relay and the hand-off to the pipeline.
    dispatcher: Literal["subprocess", "kafka", "none"] = Field(
        default="subprocess", description="How requests reach the pipeline; 'kafka' with KAFKA_BOOTSTRAP_SERVERS."
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    relay_enabled: bool = True
    relay_interval_s: float = Field(default=1.0, gt=0)
    relay_batch: int = Field(default=50, ge=1, le=1000)
    relay_lease_s: float = Field(default=60.0, gt=0)
    relay_retry_base_s: float = Field(default=0.5, gt=0, description="First retry delay; doubles up to 60 s.")
    cancel_grace_s: float = Field(default=5.0, ge=0)

    # Webhooks (api.webhooks): the delivery worker runs in every API process beside the relay.
    public_url: str | None = Field(
        default=None, description="The API's address as clients reach it (links in webhook events); "
                                  "default http://{host}:{port}.")
    webhooks_enabled: bool = Field(default=True, description="Run the webhook delivery worker in this process.")
    webhook_allow_private: bool | None = Field(
        default=None, description="Allow endpoints on loopback, private and link-local addresses; "
                                  "default: only when NEXUS_ENVIRONMENT is local.")
    webhook_interval_s: float = Field(default=1.0, gt=0, description="How often the worker looks for work.")
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60, description="Per attempt: connect and answer.")
    webhook_retry_base_s: float = Field(default=5.0, gt=0, description="First retry delay; doubles per attempt.")
    webhook_retry_max_s: float = Field(default=3600.0, gt=0, description="Longest delay between two attempts.")
    webhook_retry_for_s: float = Field(
        default=25 * 3600.0, gt=0, description="Attempts go on this long after the event (at least 24 h in "
                                              "production), then the delivery is marked failed.")
    webhook_concurrency: int = Field(default=8, ge=1, le=64, description="Deliveries sent at once per process.")
    webhook_rotation_grace_s: int = Field(
        default=24 * 3600, ge=0, description="After a rotation the previous secret signs too, this long.")
    webhook_max_endpoints: int = Field(default=10, ge=1, le=100, description="Endpoints per user.")
    webhook_observe_window_s: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How far back the worker looks for pipeline-made final statuses.")

    sse_poll_s: float = Field(default=0.5, gt=0)
    sse_max_s: float = Field(default=3600.0, gt=0)

    threads: int = Field(default=8, ge=1, le=256, description="Threads for blocking work (routes, DB) per worker.")
    db_pool_size: int = Field(default=20, ge=1, description="Per pool (reads, writes) and worker.")
    db_max_overflow: int = Field(default=20, ge=0)

    @property
    def database_url(self) -> str:
        """The catalog's URL: the API's tables live in the same database."""
        return self.core.catalog_url

    @property
    def state_dir(self) -> Path:
        """Where the API keeps local state: dev keys, the URL signing key, pipeline run logs."""
        return self.core.resolved_home / "api"

    @model_validator(mode="after")
    def _kafka_when_configured(self) -> Settings:
        """With a Kafka cluster configured, requests go through it unless a dispatcher was chosen explicitly."""
        if self.kafka.enabled and "dispatcher" not in self.model_fields_set:
            self.dispatcher = "kafka"
        return self
