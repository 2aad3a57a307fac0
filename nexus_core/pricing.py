"""Token cost of a request and the rules of each plan, in one table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from nexus_core.models import Quality, Resolution, VideoRequest
from nexus_core.service_level import served_request


class Plan(StrEnum):
    FREE = "FREE"
    PREMIUM = "PREMIUM"
    VIP = "VIP"


@dataclass(frozen=True)
class PlanLimits:
    """What a plan may ask for, and the tokens a new account on it starts with."""

    max_duration_s: int
    qualities: frozenset[Quality]
    max_resolution: Resolution
    welcome_tokens: int


_ALL_QUALITIES = frozenset(Quality)
_RESOLUTION_ORDER: tuple[Resolution, ...] = tuple(Resolution)

PLAN_LIMITS: dict[Plan, PlanLimits] = {
    Plan.FREE: PlanLimits(
        max_duration_s=120, qualities=frozenset({Quality.STANDARD, Quality.HD}), max_resolution=Resolution.P1080,
        welcome_tokens=100,
    ),
    Plan.PREMIUM: PlanLimits(
        max_duration_s=600, qualities=_ALL_QUALITIES, max_resolution=Resolution.P2160, welcome_tokens=1000,
    ),
    Plan.VIP: PlanLimits(
        max_duration_s=600, qualities=_ALL_QUALITIES, max_resolution=Resolution.P2160, welcome_tokens=5000,
    ),
}

# Tokens per second of video at STANDARD 720p; quality and resolution multiply it.
TOKENS_PER_SECOND = 1.0
QUALITY_FACTOR: dict[Quality, float] = {Quality.STANDARD: 1.0, Quality.HD: 1.5, Quality.ULTRA: 3.0}
RESOLUTION_FACTOR: dict[Resolution, float] = {
    Resolution.P360: 0.5,
    Resolution.P480: 0.75,
    Resolution.P720: 1.0,
    Resolution.P1080: 1.5,
    Resolution.P2160: 4.0,
}


# A preview is priced at its served quality and resolution (STANDARD, 720p at most), then halved again for
# its fewer diffusion steps.
PREVIEW_FACTOR = 0.5


def token_cost(request: VideoRequest, *, gpu_pool: bool = True) -> int:
    """Whole tokens for what is served (nexus_core.service_level): duration x quality x resolution (x the
    preview factor), rounded up, at least 1. Without a GPU pool, ULTRA is served and charged as HD."""
    served = served_request(request, gpu_pool=gpu_pool).request
    raw = (
        served.duration_seconds
        * TOKENS_PER_SECOND
        * QUALITY_FACTOR[Quality(served.quality)]
        * RESOLUTION_FACTOR[Resolution(served.resolution)]
        * (PREVIEW_FACTOR if served.preview else 1.0)
    )
    return max(1, math.ceil(round(raw, 6)))


@dataclass(frozen=True)
class PlanViolation:
    """One thing a plan does not allow: the request field and the reason a person reads."""

    field: str
    message: str


def plan_violations(plan: Plan, request: VideoRequest) -> list[PlanViolation]:
    """Everything in the request that the plan does not allow (empty when it is allowed)."""
    limits = PLAN_LIMITS[plan]
    out: list[PlanViolation] = []
    quality = Quality(request.quality)
    if quality not in limits.qualities:
        allowed = ", ".join(q.value for q in Quality if q in limits.qualities)
        out.append(PlanViolation("quality", f"the {plan.value} plan does not include {quality.value} quality "
                                            f"(allowed: {allowed})"))
    resolution = Resolution(request.resolution)
    if _RESOLUTION_ORDER.index(resolution) > _RESOLUTION_ORDER.index(limits.max_resolution):
        out.append(PlanViolation("resolution", f"the {plan.value} plan allows up to {limits.max_resolution.value}, "
                                               f"not {resolution.value}"))
    if request.duration_seconds > limits.max_duration_s:
        out.append(PlanViolation("duration_seconds", f"the {plan.value} plan allows videos up to "
                                                     f"{limits.max_duration_s} s, not {request.duration_seconds} s"))
    return out
