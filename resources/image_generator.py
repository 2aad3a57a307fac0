"""Image generators: one background image per scene. The procedural generator is the embedded default."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import dagster as dg
import numpy as np

from nexus_core.media.illustrations import OPENMOJI_CREDIT
from nexus_core.media.procedural import render_scene_image, scene_illustrations
from nexus_core.models import Scene, VideoRequest


class ImageGenerator(dg.ConfigurableResource, ABC):
    """Paints a scene; a diffusion model or an image API subclasses this too."""

    @abstractmethod
    def generate(self, scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
        """An (height, width, 3) uint8 RGB image of exactly size=(width, height), the same for the same seed."""

    def generate_batch(self, scenes: Sequence[Scene], seeds: Sequence[int], size: tuple[int, int]) -> list[np.ndarray]:
        """One image per scene, each seeded by its own seed; generators that draw several at once override it."""
        if len(scenes) != len(seeds):
            raise ValueError(f"{len(scenes)} scenes but {len(seeds)} seeds")
        return [self.generate(scene, seed=seed, size=size) for scene, seed in zip(scenes, seeds, strict=True)]

    def max_batch(self) -> int:
        """Scenes per `generate_batch` call; 1 means one at a time (the scenes then run in a thread pool)."""
        return 1

    def wants_gpu(self) -> bool:
        """Whether this generator should run on a GPU worker when the deployment has one (resources.gpu_worker)."""
        return False

    def for_request(self, request: VideoRequest) -> ImageGenerator:
        """This generator as it should draw a request's images (a diffusion model: fewer steps for a preview)."""
        return self

    def provider_name(self) -> str:
        """Label for asset metadata."""
        return type(self).__name__

    def credits(self) -> list[str]:
        """Attribution lines for the artwork the generator uses (published with the video)."""
        return []

    def illustrations(self, scene: Scene, *, seed: int) -> list[str]:
        """Names of the illustrations the image of this scene shows (for metadata), if the generator says."""
        return []


class ProceduralImageGenerator(ImageGenerator):
    """A procedural backdrop chosen from the scene's words with OpenMoji illustrations of its subject
    composed over it: fast, on the CPU, offline."""

    def generate(self, scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
        return render_scene_image(scene, seed=seed, size=size)

    def credits(self) -> list[str]:
        return [OPENMOJI_CREDIT]

    def illustrations(self, scene: Scene, *, seed: int) -> list[str]:
        return [i.name for i in scene_illustrations(scene, seed)]

    def provider_name(self) -> str:
        return "procedural"
