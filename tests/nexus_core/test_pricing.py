"""Token prices and plan rules (nexus_core/pricing.py)."""

from __future__ import annotations

import pytest

from nexus_core.models import Quality, Resolution, VideoRequest
from nexus_core.pricing import PLAN_LIMITS, Plan, plan_violations, token_cost


def _request(**fields: object) -> VideoRequest:
    return VideoRequest(prompt="Tides", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "cost"),
    [
        ({"duration_seconds": 30, "quality": "STANDARD", "resolution": "720p"}, 30),
        ({"duration_seconds": 30, "quality": "HD", "resolution": "720p"}, 45),
        ({"duration_seconds": 5, "quality": "STANDARD", "resolution": "360p"}, 3),  # 2.5 rounds up
        ({"duration_seconds": 600, "quality": "ULTRA", "resolution": "2160p"}, 7200),
        ({"duration_seconds": 7, "quality": "HD", "resolution": "480p"}, 8),  # 7.875
    ],
)
def test_cost_is_duration_times_quality_times_resolution(fields: dict[str, object], cost: int) -> None:
    assert token_cost(_request(**fields)) == cost


def test_cost_grows_with_every_factor() -> None:
    base = token_cost(_request(duration_seconds=30))
    assert token_cost(_request(duration_seconds=60)) > base
    assert token_cost(_request(duration_seconds=30, quality=Quality.ULTRA)) > base
    assert token_cost(_request(duration_seconds=30, resolution=Resolution.P1080)) > base


def test_plan_rules() -> None:
    ultra_4k = _request(quality="ULTRA", resolution="2160p", duration_seconds=300)
    assert [v.field for v in plan_violations(Plan.FREE, ultra_4k)] == ["quality", "resolution", "duration_seconds"]
    assert plan_violations(Plan.PREMIUM, ultra_4k) == []
    assert plan_violations(Plan.VIP, ultra_4k) == []
    assert plan_violations(Plan.FREE, _request(quality="HD", resolution="1080p", duration_seconds=120)) == []
    assert set(PLAN_LIMITS) == set(Plan)
