"""A preview's images are drawn with fewer diffusion steps, and their reuse hash (provider_name) says so."""

from __future__ import annotations

from nexus_core.models import VideoRequest
from resources.diffusion import DiffusionImageGenerator
from resources.image_generator import ProceduralImageGenerator


def test_a_diffusion_generator_draws_a_preview_with_fewer_steps() -> None:
    generator = DiffusionImageGenerator(model="/models/sd-turbo", steps=25)
    preview = generator.for_request(VideoRequest(prompt="Tides", preview=True))
    assert preview.steps == 10 and preview.provider_name() == "diffusers:/models/sd-turbo@10"
    assert generator.for_request(VideoRequest(prompt="Tides")) is generator
    assert generator.steps == 25  # the configured resource is untouched


def test_other_generators_draw_a_preview_as_usual() -> None:
    generator = ProceduralImageGenerator()
    assert generator.for_request(VideoRequest(prompt="Tides", preview=True)) is generator
