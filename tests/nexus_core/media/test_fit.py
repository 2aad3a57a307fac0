"""Generation sizes in the frame's aspect near the model's native area, and scale-then-crop to the frame."""

from __future__ import annotations

import numpy as np
import pytest

from nexus_core.media.fit import cover_resize, generation_size, to_uint8


@pytest.mark.parametrize(
    ("target", "native", "multiple", "expected"),
    [
        ((1280, 720), 512, 64, (704, 384)),  # SD 1.5, 16:9
        ((720, 1280), 512, 64, (384, 704)),  # SD 1.5, 9:16
        ((1080, 1080), 512, 64, (512, 512)),
        ((1920, 1080), 1024, 64, (1344, 768)),  # SDXL's own 16:9 bucket
        ((640, 360), 32, 8, (40, 24)),  # the tests' tiny model
    ],
)
def test_generation_size(target: tuple[int, int], native: int, multiple: int, expected: tuple[int, int]) -> None:
    size = generation_size(target, native, multiple)
    assert size == expected
    assert size[0] % multiple == 0 and size[1] % multiple == 0


def test_generation_size_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        generation_size((0, 720), 512, 64)


@pytest.mark.parametrize("size", [(640, 360), (360, 640), (100, 100), (64, 36)])
def test_cover_resize_gives_exactly_the_frame(size: tuple[int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 255, (384, 704, 3), dtype=np.uint8)
    out = cover_resize(image, size)
    assert out.shape == (size[1], size[0], 3) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_cover_resize_crops_the_centre_and_keeps_the_aspect() -> None:
    image = np.zeros((100, 300, 3), dtype=np.uint8)
    image[:, 100:200] = 255  # a white middle third
    out = cover_resize(image, (100, 100))
    assert out.min() == 255  # only the middle survives a square crop
    same = cover_resize(image, (300, 100))
    assert np.array_equal(same, image)


def test_to_uint8_rounds_and_clips() -> None:
    assert to_uint8(np.array([-0.5, 0.0, 0.5, 1.0, 1.5])).tolist() == [0, 0, 128, 255, 255]
