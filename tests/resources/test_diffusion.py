"""DiffusionImageGenerator on a tiny random-weight Stable Diffusion pipeline built here from configs, saved,
and loaded back through the generator's own loading code with the network blocked."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from nexus_assets import scene_assets
from nexus_assets.image_batches import draw_scene_images
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_core import storage_keys as keys
from nexus_core.catalog import Catalog
from nexus_core.media.image_io import read_rgb
from nexus_core.models import CameraAngle, Scenario, Scene, VideoRequest
from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.diffusion import (
    GIB,
    DiffusionImageGenerator,
    DiffusionModelError,
    clear_pipeline_cache,
    memory_plan,
)
from resources.gpu_worker import SubprocessGpuWorker
from resources.image_generator import ImageGenerator
from resources.storage import LocalObjectStore
from tests.standins.tiny_diffusion import TINY_STEPS, build_tiny_pipeline

REPO = Path(__file__).resolve().parents[2]
SCENES = [
    Scene(scene_number=1, duration_seconds=4, description="The Sun rising over a red desert",
          visual_elements=["dunes", "the Sun"], lighting="golden hour", camera_angle=CameraAngle.WIDE),
    Scene(scene_number=2, duration_seconds=4, description="A lighthouse on a cliff at night",
          visual_elements=["waves", "beam of light"], lighting="moonlit", camera_angle=CameraAngle.LOW_ANGLE),
    Scene(scene_number=3, duration_seconds=4, description="Neptune seen from its moon Triton",
          visual_elements=["blue planet", "stars"], lighting="dim starlight", camera_angle=CameraAngle.AERIAL),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The saved tiny model's folder; skips the module's model tests where torch is not installed."""
    pytest.importorskip("torch", reason="torch is not installed (scripts/test-extras.sh installs it)")
    yield build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))
    clear_pipeline_cache()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def generator(tiny_model: Path, no_network: None) -> DiffusionImageGenerator:
    return DiffusionImageGenerator(model=str(tiny_model), steps=TINY_STEPS, device="cpu")


@pytest.mark.parametrize("size", [(640, 360), (360, 640)], ids=["16:9", "9:16"])
def test_generates_an_image_of_the_output_size(generator: DiffusionImageGenerator, size: tuple[int, int]) -> None:
    image = generator.generate(SCENES[0], seed=7, size=size)
    assert image.shape == (size[1], size[0], 3) and image.dtype == np.uint8
    assert image.std() > 1.0  # a picture, not a flat fill


def test_the_pipeline_is_loaded_once_per_process(generator: DiffusionImageGenerator, tiny_model: Path) -> None:
    loaded = generator.pipeline()
    assert DiffusionImageGenerator(model=str(tiny_model), steps=1, device="cpu").pipeline() is loaded
    assert (loaded.device, loaded.memory, loaded.native, loaded.multiple) == ("cpu", "none", 32, 8)
    assert next(loaded.pipe.unet.parameters()).dtype.is_floating_point  # fp32 on the CPU
    assert str(next(loaded.pipe.unet.parameters()).dtype) == "torch.float32"


def test_same_seed_same_image_other_seed_other_image(generator: DiffusionImageGenerator) -> None:
    first = generator.generate(SCENES[1], seed=42, size=(320, 180))
    again = generator.generate(SCENES[1], seed=42, size=(320, 180))
    other = generator.generate(SCENES[1], seed=43, size=(320, 180))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_a_batch_matches_one_scene_at_a_time(tiny_model: Path, no_network: None) -> None:
    batched = DiffusionImageGenerator(model=str(tiny_model), steps=TINY_STEPS, device="cpu", batch_size=2)
    images = batched.generate_batch(SCENES, [11, 12, 13], (320, 180))
    assert [i.shape for i in images] == [(180, 320, 3)] * 3
    for scene, seed, image in zip(SCENES, [11, 12, 13], images, strict=True):
        alone = batched.generate(scene, seed=seed, size=(320, 180))
        assert np.abs(alone.astype(int) - image.astype(int)).max() <= 2
    with pytest.raises(ValueError, match="3 scenes but 2 seeds"):
        batched.generate_batch(SCENES, [1, 2], (320, 180))


def test_the_prompt_and_negative_prompt_reach_the_pipeline(
    generator: DiffusionImageGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = generator.pipeline().pipe
    seen: dict[str, object] = {}
    real_call = type(pipe).__call__

    def spy(self: object, **kwargs: object) -> object:
        seen.update(kwargs)
        return real_call(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    generator.generate(SCENES[2], seed=1, size=(360, 640))
    assert seen["prompt"] == ["Neptune seen from its moon Triton, blue planet, stars, dim starlight, "
                              "aerial view from high above, cinematic film still, highly detailed, sharp focus"]
    assert seen["negative_prompt"] == [generator.negative_prompt]
    assert (seen["width"], seen["height"], seen["num_inference_steps"]) == (24, 40, TINY_STEPS)


def test_works_as_the_pipelines_image_generator_resource(generator: DiffusionImageGenerator) -> None:
    @dg.asset
    def picture(image_generator: ImageGenerator) -> dg.MaterializeResult:
        image = image_generator.generate(SCENES[0], seed=3, size=(480, 480))
        return dg.MaterializeResult(metadata={"shape": list(image.shape), "by": image_generator.provider_name()})

    result = dg.materialize([picture], resources={"image_generator": generator})
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["shape"].value == [480, 480, 3]
    assert metadata["by"].value == f"diffusers:{generator.model}@{TINY_STEPS}"


def test_a_missing_model_names_the_setting(tmp_path: Path, no_network: None) -> None:
    pytest.importorskip("torch", reason="torch is not installed (scripts/test-extras.sh installs it)")
    with pytest.raises(DiffusionModelError, match="NEXUS_DIFFUSION_MODEL"):
        DiffusionImageGenerator().generate(SCENES[0], seed=1, size=(64, 64))
    missing = DiffusionImageGenerator(model=str(tmp_path / "no-model-here"), device="cpu")
    with pytest.raises(DiffusionModelError, match=r"NEXUS_DIFFUSION_MODEL=.*no-model-here.*ALLOW_DOWNLOAD"):
        missing.generate(SCENES[0], seed=1, size=(64, 64))
    uncached = DiffusionImageGenerator(model="nexus-tests/not-in-the-cache", device="cpu")
    with pytest.raises(DiffusionModelError, match="not-in-the-cache"):
        uncached.generate(SCENES[0], seed=1, size=(64, 64))


@pytest.mark.parametrize(
    ("mode", "device", "gpu_gib", "weights_gib", "plan"),
    [
        ("auto", "cpu", None, 2.0, "none"),
        ("auto", "cuda", 80, 2.0, "none"),  # SD 1.5 on an H100
        ("auto", "cuda", 24, 7.0, "none"),  # SDXL on a 24 GiB card
        ("auto", "cuda", 16, 7.0, "attention_slicing"),
        ("auto", "cuda", 8, 7.0, "cpu_offload"),
        ("auto", "cuda:1", 4, 2.0, "cpu_offload"),
        ("cpu_offload", "cpu", None, 2.0, "none"),
        ("attention_slicing", "cpu", None, 2.0, "attention_slicing"),
        ("none", "cuda", 4, 7.0, "none"),
    ],
)
def test_memory_plan(mode: str, device: str, gpu_gib: float | None, weights_gib: float, plan: str) -> None:
    device_bytes = None if gpu_gib is None else int(gpu_gib * GIB)
    assert memory_plan(mode, device, device_bytes=device_bytes, weight_bytes=int(weights_gib * GIB)) == plan  # type: ignore[arg-type]


def test_the_module_imports_without_torch_or_diffusers() -> None:
    code = ("import sys; sys.modules.update(torch=None, diffusers=None, transformers=None); "
            "import resources.diffusion as d; print(d.DiffusionImageGenerator(model='x').provider_name())")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "diffusers:x@25"


# The scene_images phase on the diffusion generator: a batch per pipeline call, and the Pipes worker.

REQUEST = VideoRequest(prompt="Three sights of the solar system", duration_seconds=12, resolution="360p",
                       frame_rate=24, music_style="none")
SCENARIO = Scenario(title="Three sights", scenes=SCENES)


def _pipeline_batches(generator: DiffusionImageGenerator, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many prompts each call of the real diffusers pipeline gets (it still draws them)."""
    pipe = generator.pipeline().pipe
    calls: list[int] = []
    real_call = type(pipe).__call__

    def counting(self: object, **kwargs: object) -> object:
        calls.append(len(kwargs["prompt"]))  # type: ignore[arg-type]
        return real_call(self, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", counting)
    return calls


def test_scene_images_are_drawn_a_batch_per_pipeline_call_and_reused_after(
    tiny_model: Path, no_network: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = DiffusionImageGenerator(model=str(tiny_model), steps=TINY_STEPS, device="cpu", batch_size=2)
    store = LocalObjectStore(root=str(tmp_path / "store"))
    calls, ticks = _pipeline_batches(generator, monkeypatch), []
    draw = {"store": store, "generator": generator, "video_id": "vbatch", "request": REQUEST, "scenario": SCENARIO,
            "work": tmp_path, "workers": 4, "tick": lambda: ticks.append(1)}
    items = draw_scene_images(**draw)  # type: ignore[arg-type]
    assert calls == [2, 1]  # three scenes, batch_size 2: two pipeline calls
    assert len(ticks) == 3 and [i.scene_number for i in items] == [1, 2, 3]
    for item in items:
        with store.local_copy(item.key, tmp_path / "copies") as path:
            assert read_rgb(path).shape == (360, 640, 3)
    assert [i["key"] for i in store.get_json(keys.manifest("vbatch", "assets/images"))["items"]] == [
        keys.scene_image("vbatch", n) for n in (1, 2, 3)]
    again = draw_scene_images(**draw)  # type: ignore[arg-type]
    assert calls == [2, 1] and all(i.reused for i in again)  # nothing drawn twice


def test_scene_images_run_in_a_separate_worker_over_pipes(
    tiny_model: Path, nexus_settings: NexusSettings, tmp_path: Path
) -> None:
    """The GPU pod's entry point for real: `python -m nexus_assets.image_worker` launched by Dagster Pipes
    (PipesSubprocessClient, as PipesK8sClient launches it in the pod) against the local object store."""
    video_id = f"w{uuid.uuid4().hex[:12]}"
    Catalog(nexus_settings.catalog_url).create_video(video_id=video_id, request=REQUEST)
    dg.DagsterInstance.get().add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    local = resources_for("local", nexus_settings)
    local["store"].put_json(keys.scenario(video_id), SCENARIO.model_dump(mode="json"))
    worker_env = {"NEXUS_ENVIRONMENT": "prod", "NEXUS_DIFFUSION_MODEL": str(tiny_model),
                  "NEXUS_DIFFUSION_DEVICE": "cpu", "NEXUS_DIFFUSION_STEPS": str(TINY_STEPS),
                  "NEXUS_DIFFUSION_BATCH_SIZE": "2", "OPENAI_API_KEY": "", "ELEVENLABS_API_KEY": "",
                  "NEXUS_S3_BUCKET": ""}
    result = dg.materialize(
        [scene_assets.scene_images], partition_key=video_id, instance=dg.DagsterInstance.get(),
        resources={**local, "image_generator": DiffusionImageGenerator(model=str(tiny_model), device="cpu"),
                   "gpu_worker": SubprocessGpuWorker(extra_env=worker_env)},
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    assert metadata["worker"] == "SubprocessGpuWorker"
    assert metadata["images"] == 3 and metadata["generator"] == f"diffusers:{tiny_model}@{TINY_STEPS}"
    manifest = local["store"].get_json(keys.manifest(video_id, "assets/images"))
    assert [i["key"] for i in manifest["items"]] == metadata["keys"]
    for item in manifest["items"]:
        with local["store"].local_copy(item["key"], tmp_path) as path:
            assert read_rgb(path).shape == (360, 640, 3)
