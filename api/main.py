"""The FastAPI app: create_app(settings) builds it (uvicorn: `api.main:create_app --factory`, or `nexus api`)."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from api import ledger, outbox, videos
from api.core.bodylimit import BodyLimitMiddleware
from api.core.config import API_PREFIX, Settings
from api.core.db import Database
from api.core.metrics import Metrics, ObservabilityMiddleware
from api.core.ratelimit import RateLimiter, make_rate_limiter
from api.core.security import TokenVerifier, UrlSigner, ensure_dev_keys, ensure_secret
from api.deps import AppState
from api.dispatch import Dispatcher, NullDispatcher, SubprocessDispatcher
from api.docs import install_docs
from api.downloads import build_download_links
from api.errors import install_error_handlers
from api.relay import Relay
from api.routes import dev_signin, estimate, files, health, tokens, webhook_events
from api.routes import videos as video_routes
from api.routes import webhooks as webhook_routes
from api.web import mount_web
from api.webhooks.worker import build_worker
from nexus_core.logs import configure_logging

log = logging.getLogger(__name__)

DESCRIPTION = """
Turn a prompt into a narrated, subtitled MP4. Authenticate with an RS256 bearer token
(`nexus dev-token --user alice --plan PREMIUM` mints one locally), `POST /api/v1/videos/generate`,
then follow `GET /api/v1/videos/{id}/events` (Server-Sent Events) or poll `GET /api/v1/videos/{id}`.

Every request is priced in tokens (duration x quality x resolution): the cost is reserved when the
request is accepted, charged when the video is COMPLETED and given back when it FAILED or is CANCELLED.
Errors always have the shape `{"error": {"code", "message", "field"?}}`.
"""


def build_verifier(settings: Settings) -> TokenVerifier:
    """The configured JWKS or public key; locally, the dev key pair under NEXUS_HOME/api (made on first start)."""
    options: dict[str, Any] = {"issuer": settings.jwt_issuer, "audience": settings.jwt_audience,
                               "leeway_s": settings.jwt_leeway_s}
    if settings.jwks_file is not None:
        return TokenVerifier.from_jwks(settings.jwks_file.read_text(), **options)
    if settings.jwt_public_key_file is not None:
        return TokenVerifier.from_pem(settings.jwt_public_key_file.read_bytes(), **options)
    if settings.dev_keys and settings.core.environment == "local":
        _, public_path = ensure_dev_keys(settings.state_dir)
        log.info("trusting the dev key pair in %s", settings.state_dir)
        return TokenVerifier.from_pem(public_path.read_bytes(), **options)
    raise RuntimeError("no JWT key configured: set NEXUS_API_JWKS_FILE or NEXUS_API_JWT_PUBLIC_KEY_FILE")


def pipeline_env(settings: Settings) -> dict[str, str]:
    """The environment of `nexus run-video`: the same catalog, object store and Dagster instance."""
    core = settings.core
    env = dict(os.environ)
    env.update({"NEXUS_HOME": str(core.resolved_home), "DAGSTER_HOME": str(core.dagster_home),
                "NEXUS_ENVIRONMENT": core.environment})
    if core.database_url:
        env["NEXUS_DATABASE_URL"] = core.database_url
    if core.store_root:
        env["NEXUS_STORE_ROOT"] = str(core.object_store_root)
    return env


def build_dispatcher(settings: Settings) -> Dispatcher:
    if settings.dispatcher == "none":
        return NullDispatcher()
    if settings.dispatcher == "kafka":
        from api.kafka_dispatch import KafkaDispatcher

        return KafkaDispatcher(settings.kafka)
    return SubprocessDispatcher(run_dir=settings.state_dir / "runs", env=pipeline_env(settings),
                                cancel_grace_s=settings.cancel_grace_s)


def _read_metrics_state(db: Database) -> dict[str, Any]:
    with db.read() as session:
        return {"videos_by_status": videos.count_by_status(session), "tokens_reserved": ledger.total_reserved(session),
                "outbox_pending": outbox.pending_count(session)}


def create_app(
    settings: Settings | None = None,
    *,
    dispatcher: Dispatcher | None = None,
    rate_limiter: RateLimiter | None = None,
) -> FastAPI:
    """The app for these settings (read from NEXUS_API_* and NEXUS_* when not given); migrates the database."""
    settings = settings or Settings()
    configure_logging(service="api")  # once per process (idempotent); NEXUS_LOG_FORMAT
    db = Database(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    dispatcher = dispatcher or build_dispatcher(settings)
    relay = Relay(db, dispatcher, batch=settings.relay_batch, lease_s=settings.relay_lease_s,
                  interval_s=settings.relay_interval_s, retry_base_s=settings.relay_retry_base_s,
                  idempotency_ttl_s=settings.idempotency_ttl_s)
    signing_key = settings.url_signing_key_file or settings.state_dir / "url-signing.key"
    metrics = Metrics(lambda: _read_metrics_state(db))
    state = AppState(
        settings=settings, db=db, verifier=build_verifier(settings),
        limiter=rate_limiter or make_rate_limiter(settings.redis_url, prefix=settings.rate_limit_prefix),
        links=build_download_links(settings, UrlSigner(ensure_secret(signing_key))),  # CDN, S3 presigned or /files
        dispatcher=dispatcher, relay=relay, metrics=metrics,
    )
    webhooks = build_worker(settings, db, state.links)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Fewer threads than anyio's 40: the work is short and holds the GIL, so more threads only contend.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if settings.relay_enabled:
            relay.start()
        if settings.webhooks_enabled:
            webhooks.start()
        try:
            yield
        finally:
            relay.stop()
            webhooks.stop()
            dispatcher.close()
            state.limiter.close()
            db.close()

    app = FastAPI(
        title="Nexus Video API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None, redoc_url=None,  # api.docs serves them offline
        webhooks=webhook_events.router,  # the messages sent to webhook endpoints (OpenAPI `webhooks`)
    )
    app.state.nexus = state
    app.state.webhooks = webhooks  # api.routes.webhooks reaches the worker here
    install_error_handlers(app)
    install_docs(app, openapi_url=f"{API_PREFIX}/openapi.json")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics, prefix=API_PREFIX)
    app.include_router(estimate.router, prefix=API_PREFIX)  # before /videos/{video_id}
    app.include_router(video_routes.router, prefix=API_PREFIX)
    app.include_router(tokens.router, prefix=API_PREFIX)
    app.include_router(webhook_routes.router, prefix=API_PREFIX)
    app.include_router(files.router, prefix=API_PREFIX)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(health.router, include_in_schema=False)  # /healthz, /readyz, /metrics for probes
    app.include_router(dev_signin.router, prefix=API_PREFIX)  # 404 unless local with the dev key pair
    mount_web(app)  # the page for people at /
    return app
