"""What a request is served as: a preview (720p at most, STANDARD, fewer diffusion steps), and ULTRA served as
HD where the deployment has no GPU pool. One rule, used to price, to record and to run the video."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from nexus_core.models import Quality, Resolution, VideoRequest

PREVIEW_MAX_RESOLUTION = Resolution.P720
PREVIEW_QUALITY = Quality.STANDARD
# A preview draws its images in 40 % of the configured diffusion steps (25 -> 10): enough to judge the
# composition, not the detail.
PREVIEW_STEPS_FACTOR = 0.4
NO_GPU_QUALITY = {Quality.ULTRA: Quality.HD}  # what a GPU-less deployment serves instead
NO_GPU_REASON = "this deployment has no GPU pool: ULTRA is served (and charged) as HD"
PREVIEW_REASON = "preview: at most 720p, STANDARD quality, fewer diffusion steps"


class Adjustment(BaseModel):
    """One request field served differently from what was asked, and why (kept in the video's record)."""

    model_config = ConfigDict(frozen=True)

    field: str = Field(description="The request field: quality or resolution.")
    requested: str
    served: str
    reason: str


@dataclass(frozen=True)
class Served:
    """The request as it will be made (and priced), with what changed from the one asked."""

    request: VideoRequest
    adjustments: tuple[Adjustment, ...]

    @property
    def downgraded(self) -> bool:
        """True when the deployment served less than asked (not a preview the client chose)."""
        return any(a.reason == NO_GPU_REASON for a in self.adjustments)


def served_request(request: VideoRequest, *, gpu_pool: bool = True) -> Served:
    """The request a deployment serves: previews are capped at 720p STANDARD; without a GPU pool, ULTRA is HD."""
    quality, resolution = Quality(request.quality), Resolution(request.resolution)
    changes: list[Adjustment] = []
    if request.preview:
        if quality is not PREVIEW_QUALITY:
            changes.append(Adjustment(field="quality", requested=quality.value, served=PREVIEW_QUALITY.value,
                                      reason=PREVIEW_REASON))
            quality = PREVIEW_QUALITY
        if resolution.short_side > PREVIEW_MAX_RESOLUTION.short_side:
            changes.append(Adjustment(field="resolution", requested=resolution.value,
                                      served=PREVIEW_MAX_RESOLUTION.value, reason=PREVIEW_REASON))
            resolution = PREVIEW_MAX_RESOLUTION
    if not gpu_pool and quality in NO_GPU_QUALITY:
        served = NO_GPU_QUALITY[quality]
        changes.append(Adjustment(field="quality", requested=quality.value, served=served.value, reason=NO_GPU_REASON))
        quality = served
    if not changes:
        return Served(request, ())
    return Served(request.model_copy(update={"quality": quality, "resolution": resolution}), tuple(changes))


def diffusion_steps(configured: int, request: VideoRequest) -> int:
    """The diffusion steps to draw this request's images with: fewer for a preview, at least 1."""
    if not request.preview:
        return configured
    return max(1, math.ceil(configured * PREVIEW_STEPS_FACTOR))
