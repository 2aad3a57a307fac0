"""/healthz (the process answers), /readyz (database and queue reachable), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.deps import StateDep
from api.models import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, object]:
    """The process is up."""
    return {"status": "ok", "checks": {}}


@router.get("/readyz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def readyz(state: StateDep) -> JSONResponse:
    """200 when the database and the queue (the pipeline hand-off) are reachable and the last hand-off
    worked, 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        state.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        ok, reason = state.dispatcher.ready()
    except Exception as exc:
        ok, reason = False, f"{type(exc).__name__}: {exc}"
    if ok and state.relay.queue_down is not None:  # it answers a probe, but the last hand-off failed
        ok, reason = False, f"the last hand-off failed: {state.relay.queue_down}"
    checks["queue"] = "ok" if ok else f"unreachable: {reason}"
    if state.settings.redis_url:
        checks["rate_limits"] = "ok" if state.limiter.ping() else "redis unreachable (limiting in memory)"
    ready = checks["database"] == "ok" and checks["queue"] == "ok"
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus exposition format."}})
def metrics(state: StateDep) -> Response:
    """Request counts and latency, videos by status, tokens reserved, outbox backlog."""
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)
