"""Probes, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import re

from tests.api.support import API, SHORT, ApiServer


def test_healthz_and_readyz(pg_api: ApiServer) -> None:
    with pg_api.client() as client:
        for path in ("/healthz", f"{API}/healthz"):
            assert client.get(path).json() == {"status": "ok", "checks": {}}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok", "rate_limits": "ok"}}


def test_metrics_count_requests_by_route_and_read_the_ledger(pg_api: ApiServer) -> None:
    with pg_api.user_client() as client:
        video_id = client.post(f"{API}/videos/generate", json=SHORT).json()["id"]
        client.get(f"{API}/videos/{video_id}")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'nexus_api_requests_total\{method="GET",route="/api/v1/videos/\{video_id\}",status="200"\} '
                     r"[1-9]", text)
    assert 'nexus_api_requests_total{method="POST",route="/api/v1/videos/generate",status="202"}' in text
    assert 'nexus_api_request_duration_seconds_bucket{le="0.05",method="GET",route="/api/v1/videos/{video_id}"}' \
        in text
    assert re.search(r'nexus_videos\{status="QUEUED"\} [1-9]', text)
    reserved = re.search(r"^nexus_tokens_reserved (\S+)$", text, re.MULTILINE)
    assert reserved and float(reserved.group(1)) >= 3
    assert "nexus_outbox_pending" in text


def test_openapi_documents_routes_auth_errors_and_examples(pg_api: ApiServer) -> None:
    with pg_api.client() as client:
        assert "swagger" in client.get("/docs").text.lower()
        schema = client.get(f"{API}/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/videos/generate", "/api/v1/videos", "/api/v1/videos/{video_id}",
                 "/api/v1/videos/{video_id}/cancel", "/api/v1/videos/{video_id}/events", "/api/v1/tokens",
                 "/api/v1/healthz", "/api/v1/readyz", "/api/v1/metrics", "/api/v1/admin/tokens/grant"):
        assert path in paths, path
    generate = paths["/api/v1/videos/generate"]["post"]
    examples = generate["requestBody"]["content"]["application/json"]["examples"]
    assert {"short", "vertical"} <= set(examples)
    assert {"202", "401", "402", "403", "409", "422", "429"} <= set(generate["responses"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["bearerFormat"] == "JWT"
    assert "Idempotency-Key" in {p["name"] for p in generate["parameters"]}
