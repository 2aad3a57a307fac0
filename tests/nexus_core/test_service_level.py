"""The service rule: previews are capped at 720p STANDARD with fewer diffusion steps and cost less; without a
GPU pool ULTRA is served, recorded and charged as HD."""

from __future__ import annotations

import pytest

from nexus_core.models import Quality, Resolution, VideoRequest
from nexus_core.pricing import PREVIEW_FACTOR, token_cost
from nexus_core.service_level import NO_GPU_REASON, PREVIEW_REASON, diffusion_steps, served_request


def _request(**fields: object) -> VideoRequest:
    return VideoRequest.model_validate({"prompt": "A tour of the solar system", "duration_seconds": 20, **fields})


def test_a_preview_is_served_at_720p_standard_at_most() -> None:
    served = served_request(_request(quality="ULTRA", resolution="2160p", preview=True))
    assert (served.request.quality, served.request.resolution) == (Quality.STANDARD, Resolution.P720)
    assert served.request.preview and not served.downgraded
    assert {(a.field, a.requested, a.served) for a in served.adjustments} == {
        ("quality", "ULTRA", "STANDARD"), ("resolution", "2160p", "720p")}
    assert {a.reason for a in served.adjustments} == {PREVIEW_REASON}


def test_a_small_preview_keeps_its_resolution() -> None:
    served = served_request(_request(quality="STANDARD", resolution="480p", preview=True))
    assert served.adjustments == () and served.request.resolution is Resolution.P480


def test_without_a_gpu_pool_ultra_is_served_as_hd_and_said_so() -> None:
    asked = _request(quality="ULTRA", resolution="1080p")
    served = served_request(asked, gpu_pool=False)
    assert served.request.quality is Quality.HD and served.request.resolution is Resolution.P1080
    assert served.downgraded
    assert [(a.field, a.requested, a.served, a.reason) for a in served.adjustments] == [
        ("quality", "ULTRA", "HD", NO_GPU_REASON)]
    assert served_request(asked, gpu_pool=True).adjustments == ()
    assert served_request(_request(quality="HD"), gpu_pool=False).adjustments == ()


@pytest.mark.parametrize("quality", ["STANDARD", "HD", "ULTRA"])
def test_a_downgraded_request_costs_what_hd_costs(quality: str) -> None:
    asked = _request(quality=quality, resolution="1080p")
    as_hd = _request(quality="HD" if quality == "ULTRA" else quality, resolution="1080p")
    assert token_cost(asked, gpu_pool=False) == token_cost(as_hd)
    assert token_cost(_request(quality="ULTRA"), gpu_pool=False) < token_cost(_request(quality="ULTRA"))


def test_a_preview_costs_less_than_the_cheapest_full_video() -> None:
    preview = _request(quality="ULTRA", resolution="2160p", preview=True)
    cheapest_full = _request(quality="STANDARD", resolution="720p")
    assert token_cost(preview) == pytest.approx(token_cost(cheapest_full) * PREVIEW_FACTOR, abs=1)
    assert token_cost(preview) < token_cost(cheapest_full) < token_cost(_request(quality="ULTRA", resolution="2160p"))
    assert token_cost(preview) == 10  # 20 s x 1.0 (STANDARD) x 1.0 (720p) x 0.5


def test_a_preview_draws_with_fewer_diffusion_steps() -> None:
    assert diffusion_steps(25, _request(preview=True)) == 10
    assert diffusion_steps(1, _request(preview=True)) == 1
    assert diffusion_steps(25, _request()) == 25


def test_a_stored_request_without_the_preview_field_reads_as_a_full_video() -> None:
    stored = {"prompt": "x", "duration_seconds": 5, "quality": "HD", "resolution": "720p"}
    assert VideoRequest.model_validate(stored).preview is False
