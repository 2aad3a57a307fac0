"""Scene images from a Stable Diffusion model (diffusers + torch), the pipeline loaded once per process.

torch and diffusers are imported inside the functions that need them: this module imports without the
`diffusion` extra, and only a generator that is actually used pays for them.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from nexus_core.image_prompts import NEGATIVE_PROMPT, build_image_prompt
from nexus_core.media.fit import cover_resize, generation_size, to_uint8
from nexus_core.models import Scene, VideoRequest
from nexus_core.service_level import diffusion_steps
from resources.image_generator import ImageGenerator

log = logging.getLogger(__name__)

MemoryMode = Literal["auto", "none", "attention_slicing", "cpu_offload"]
GIB = 1 << 30
PIPELINE_MULTIPLE = 8  # diffusers' text-to-image pipelines refuse other widths and heights


class DiffusionModelError(RuntimeError):
    """No model is configured, or it cannot be loaded without a download; the message names the setting."""


@dataclass
class LoadedPipeline:
    """A diffusers pipeline on its device, with what sizes it draws at and a lock (one generation at a time)."""

    pipe: Any
    device: str
    native: int
    multiple: int
    memory: str
    lock: threading.Lock = field(default_factory=threading.Lock)


_pipelines: dict[tuple[Any, ...], LoadedPipeline] = {}
_load_lock = threading.Lock()


def pick_device(requested: str | None) -> str:
    """The requested torch device, else CUDA when available, else Apple's MPS, else the CPU."""
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def memory_plan(mode: MemoryMode, device: str, *, device_bytes: int | None, weight_bytes: int) -> str:
    """How to fit the model: 'none', 'attention_slicing' or 'cpu_offload' (offload only makes sense on CUDA).

    'auto' on CUDA offloads idle components to the CPU when the GPU cannot hold the weights with room for
    activations (1.5 x weights + 2 GiB), slices attention when that room is tight (2 x weights + 4 GiB),
    and otherwise keeps everything on the GPU; elsewhere it does nothing.
    """
    on_cuda = device.startswith("cuda")
    if mode == "cpu_offload":
        return "cpu_offload" if on_cuda else "none"
    if mode != "auto":
        return mode
    if not on_cuda or device_bytes is None:
        return "none"
    if device_bytes < 1.5 * weight_bytes + 2 * GIB:
        return "cpu_offload"
    if device_bytes < 2 * weight_bytes + 4 * GIB:
        return "attention_slicing"
    return "none"


def _weight_bytes(pipe: Any) -> int:
    modules = [c for c in pipe.components.values() if hasattr(c, "parameters")]
    return sum(p.numel() * p.element_size() for m in modules for p in m.parameters())


def _device_bytes(device: str) -> int | None:
    import torch

    if not device.startswith("cuda"):
        return None
    return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)


def _place(pipe: Any, device: str, mode: MemoryMode) -> str:
    """Move the pipeline to its device under the memory plan; returns the plan applied."""
    plan = memory_plan(mode, device, device_bytes=_device_bytes(device), weight_bytes=_weight_bytes(pipe))
    if plan == "cpu_offload":
        try:
            pipe.enable_model_cpu_offload(device=device)
        except (ImportError, RuntimeError) as exc:  # accelerate missing or too old
            log.warning("CPU offload unavailable (%s); slicing attention instead", exc)
            plan = "attention_slicing"
    if plan != "cpu_offload":
        pipe.to(device)
    if plan == "attention_slicing":
        pipe.enable_attention_slicing()
        if hasattr(pipe, "enable_vae_slicing"):
            pipe.enable_vae_slicing()
    return plan


def _sizes(pipe: Any) -> tuple[int, int]:
    """(native side, size multiple) in pixels from the UNet and VAE configs (512 and 64 for SD 1.5)."""
    scale = int(getattr(pipe, "vae_scale_factor", 8))
    unet = pipe.unet.config
    sample = unet.sample_size if isinstance(unet.sample_size, int) else max(unet.sample_size)
    return int(sample) * scale, math.lcm(PIPELINE_MULTIPLE, scale * 2 ** (len(unet.down_block_types) - 1))


def load_pipeline(model: str, device: str, *, allow_download: bool, memory: MemoryMode) -> LoadedPipeline:
    """This process's pipeline for (model, device, memory), loaded on first use: fp16 on CUDA, fp32 elsewhere."""
    key = (os.getpid(), model, device, memory)
    with _load_lock:
        loaded = _pipelines.get(key)
        if loaded is not None:
            return loaded
        import torch
        from diffusers import AutoPipelineForText2Image

        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(model, dtype=dtype, local_files_only=not allow_download)
        except (OSError, ValueError) as exc:
            hint = "" if allow_download else " (downloads are off: fetch it or set NEXUS_DIFFUSION_ALLOW_DOWNLOAD=true)"
            raise DiffusionModelError(
                f"cannot load the diffusion model NEXUS_DIFFUSION_MODEL={model!r}: it is neither a folder with a "
                f"diffusers model_index.json nor a hub id in the local Hugging Face cache{hint}. "
                f"diffusers said: {str(exc).splitlines()[0]}"
            ) from exc
        pipe.set_progress_bar_config(disable=True)
        plan = _place(pipe, device, memory)
        native, multiple = _sizes(pipe)
        loaded = _pipelines[key] = LoadedPipeline(pipe, device, native, multiple, plan)
        log.info("diffusion model %s on %s (%s, memory: %s, native %d px)", model, device, dtype, plan, native)
        return loaded


def clear_pipeline_cache() -> None:
    """Drop this process's loaded pipelines (tests; freeing GPU memory)."""
    with _load_lock:
        _pipelines.clear()


class DiffusionImageGenerator(ImageGenerator):
    """Stable Diffusion class models (SD 1.5, SDXL, SD-Turbo) through diffusers, on the GPU or, slowly, the CPU."""

    model: str | None = Field(default=None, description="A hub id in the local cache or a diffusers folder.")
    allow_download: bool = False
    steps: int = Field(default=25, ge=1, le=200)
    guidance_scale: float = Field(default=7.5, ge=0.0, le=30.0, description="0 for SD-Turbo class models.")
    device: str | None = Field(default=None, description="cuda, cuda:1, mps, cpu; None picks the best here.")
    batch_size: int = Field(default=4, ge=1, le=64, description="Scenes per pipeline call.")
    native_size: int | None = Field(default=None, ge=64, description="Override the side the model draws at.")
    memory: MemoryMode = "auto"
    negative_prompt: str = NEGATIVE_PROMPT

    def pipeline(self) -> LoadedPipeline:
        """The loaded pipeline (loading it on first use)."""
        if not self.model:
            raise DiffusionModelError(
                "no diffusion model configured: set NEXUS_DIFFUSION_MODEL to a local diffusers folder or a hub id "
                "such as stabilityai/sd-turbo that is in the local Hugging Face cache"
            )
        device = pick_device(self.device)
        return load_pipeline(self.model, device, allow_download=self.allow_download, memory=self.memory)

    def generate(self, scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
        return self.generate_batch([scene], [seed], size)[0]

    def generate_batch(self, scenes: Sequence[Scene], seeds: Sequence[int], size: tuple[int, int]) -> list[np.ndarray]:
        """One (height, width, 3) uint8 RGB image per scene, each seeded by its own seed, batch_size at a time."""
        if len(scenes) != len(seeds):
            raise ValueError(f"{len(scenes)} scenes but {len(seeds)} seeds")
        loaded = self.pipeline()
        width, height = generation_size(size, self.native_size or loaded.native, loaded.multiple)
        images: list[np.ndarray] = []
        for start in range(0, len(scenes), self.batch_size):
            chunk = slice(start, start + self.batch_size)
            drawn = self._draw(loaded, list(scenes[chunk]), list(seeds[chunk]), width, height)
            images += [cover_resize(to_uint8(image), size) for image in drawn]
        return images

    def max_batch(self) -> int:
        return self.batch_size

    def wants_gpu(self) -> bool:
        return True

    def for_request(self, request: VideoRequest) -> DiffusionImageGenerator:
        """Fewer steps for a preview (nexus_core.service_level.diffusion_steps); provider_name says how many."""
        steps = diffusion_steps(self.steps, request)
        return self if steps == self.steps else self.model_copy(update={"steps": steps})

    def _draw(self, loaded: LoadedPipeline, scenes: list[Scene], seeds: list[int], width: int, height: int) -> Any:
        import torch

        # CPU generators: the same seed gives the same starting noise on every device.
        generators = [torch.Generator("cpu").manual_seed(int(seed)) for seed in seeds]
        with loaded.lock:
            result = loaded.pipe(
                prompt=[build_image_prompt(scene) for scene in scenes],
                negative_prompt=[self.negative_prompt] * len(scenes),
                width=width, height=height, num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                generator=generators, output_type="np",
            )
        return result.images

    def provider_name(self) -> str:
        return f"diffusers:{self.model}@{self.steps}"
