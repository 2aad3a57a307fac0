"""Image generators: one background image per scene. The procedural generator is the embedded default."""

from __future__ import annotations

from abc import ABC, abstractmethod

import dagster as dg
import numpy as np

from nexus_core.media.procedural import render_scene_image
from nexus_core.models import Scene


class ImageGenerator(dg.ConfigurableResource, ABC):
    """Paints a scene; a diffusion model or an image API subclasses this too."""

    @abstractmethod
    def generate(self, scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
        """An (height, width, 3) uint8 RGB image of exactly size=(width, height), the same for the same seed."""

    def provider_name(self) -> str:
        """Label for asset metadata."""
        return type(self).__name__


class ProceduralImageGenerator(ImageGenerator):
    """Gradients, landscapes, skylines and starfields drawn from the scene's words: fast, on the CPU."""

    def generate(self, scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
        return render_scene_image(scene, seed=seed, size=size)

    def provider_name(self) -> str:
        return "procedural"
