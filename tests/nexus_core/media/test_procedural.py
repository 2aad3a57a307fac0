"""Procedural scene art: exact size, real texture, distinct per scene and seed, steered by words."""

from __future__ import annotations

import numpy as np
import pytest

from nexus_core.media.illustrations import render_illustration
from nexus_core.media.procedural import (
    SAFE_AREA,
    choose_composition,
    illustration_layout,
    render_scene_image,
    scene_illustrations,
    scene_theme,
    scene_words,
)
from nexus_core.models import Scene

BEES = ("Honeybees perform the waggle dance inside the hive", ("honeybees", "the waggle dance"), "soft morning light")
ACROPOLIS = ("Wide view of the Acropolis above Athens", ("the Acropolis", "marble columns"), "golden hour")
SUBJECTS = [
    BEES,
    ACROPOLIS,
    ("A black hole bending the light of distant stars", ("a black hole",), "starlight in deep darkness"),
    ("The history of coffee, from Ethiopia to Paris", ("coffee beans", "a goat herder"), "warm lamplight"),
    ("Close-up of bicycle gears and the chain", ("bicycle gears", "a chain", "a bicycle"), "bright daylight"),
    ("A baker kneading dough next to an oven", ("bread dough", "a wood-fired oven"), "soft morning light"),
]


def _scene(
    number: int = 1,
    description: str = "Wide shot of rolling hills",
    lighting: str = "soft morning light",
    elements: tuple[str, ...] = ("hills", "meadow"),
) -> Scene:
    return Scene(
        scene_number=number,
        duration_seconds=5,
        description=description,
        visual_elements=list(elements),
        lighting=lighting,
    )


def _luma(img: np.ndarray) -> float:
    return float((img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).mean())


@pytest.mark.parametrize("size", [(1920, 1080), (640, 360), (360, 640), (641, 359), (480, 480), (16, 9)])
def test_image_has_exactly_the_requested_size(size: tuple[int, int]) -> None:
    img = render_scene_image(_scene(), seed=1, size=size)
    assert img.shape == (size[1], size[0], 3)
    assert img.dtype == np.uint8


@pytest.mark.parametrize(
    ("description", "lighting"),
    [
        ("Wide shot of rolling hills", "golden hour"),
        ("Planets and stars in deep space", "starlight"),
        ("A city skyline", "neon glow at dusk"),
        ("Waves on the ocean", "bright midday sun"),
        ("The history of printing", "natural light"),
    ],
)
def test_images_are_textured_not_flat(description: str, lighting: str) -> None:
    scene = _scene(description=description, lighting=lighting, elements=("x",))
    img = render_scene_image(scene, seed=7, size=(640, 360))
    assert img.std() > 8
    assert len(np.unique(img.reshape(-1, 3) // 8, axis=0)) > 150  # many colours, smooth gradients
    backdrop = np.ones(640, bool)  # columns clear of illustrations, whose outlines are hard edges on purpose
    for placement in illustration_layout(scene, seed=7, size=(640, 360)):
        backdrop[max(0, placement.x - 40) : placement.x + placement.width + 40] = False
    rows = img[:, backdrop].astype(np.float32).mean(axis=(1, 2))
    assert np.abs(np.diff(rows)).max() < 40  # no hard horizontal seams from the upscale


def test_same_scene_and_seed_give_the_same_image() -> None:
    a = render_scene_image(_scene(), seed=42, size=(320, 180))
    b = render_scene_image(_scene(), seed=42, size=(320, 180))
    assert np.array_equal(a, b)


def test_scenes_and_seeds_give_distinct_images() -> None:
    images = [render_scene_image(_scene(number=n), seed=s, size=(320, 180)) for n, s in [(1, 1), (2, 2), (3, 3)]]
    images.append(render_scene_image(_scene(description="Close-up of a lighthouse"), seed=1, size=(320, 180)))
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert np.abs(images[i].astype(np.int16) - images[j]).mean() > 6, (i, j)


def test_words_steer_the_palette() -> None:
    night = _scene(description="A dark night under the moon", lighting="moonlit night", elements=("moon",))
    sunny = _scene(description="A bright summer meadow", lighting="bright midday sun", elements=("meadow",))
    assert scene_theme(scene_words(night)) == "night"
    dark = np.mean([_luma(render_scene_image(night, seed=s, size=(320, 180))) for s in range(4)])
    bright = np.mean([_luma(render_scene_image(sunny, seed=s, size=(320, 180))) for s in range(4)])
    assert dark < 60 < bright


def test_space_scenes_have_sharp_stars() -> None:
    space = _scene(description="Deep space with distant galaxies", lighting="starlight", elements=("stars",))
    img = render_scene_image(space, seed=3, size=(1280, 720))
    luma = img.astype(np.float32).mean(axis=2)
    local = luma - np.median(luma)
    assert (local > 120).sum() > 50  # bright single-pixel stars over a dark sky


def _subject(subject: tuple[str, tuple[str, ...], str], number: int = 1) -> Scene:
    description, elements, lighting = subject
    return _scene(number=number, description=description, lighting=lighting, elements=elements)


def test_a_scene_records_the_illustrations_its_image_shows() -> None:
    bees = _subject(BEES)
    chosen = scene_illustrations(bees, seed=3)
    assert chosen[0].name == "honeybee"
    assert [p.illustration for p in reversed(illustration_layout(bees, seed=3, size=(1280, 720)))] == chosen
    assert scene_illustrations(_subject(ACROPOLIS), seed=3)[0].name == "classical building"
    assert scene_illustrations(_scene(description="A thing", elements=("a thing",)), seed=3) == []


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (640, 360)])
@pytest.mark.parametrize("seed", range(6))
def test_illustrations_stay_where_camera_moves_and_captions_leave_them(size: tuple[int, int], seed: int) -> None:
    width, height = size
    left, top, right, bottom = SAFE_AREA[0] * width, SAFE_AREA[1] * height, SAFE_AREA[2] * width, SAFE_AREA[3] * height
    for number, subject in enumerate(SUBJECTS, start=1):
        placements = illustration_layout(_subject(subject, number), seed=seed, size=size)
        assert placements, subject
        hero = placements[-1]
        assert hero.depth == 0.0 and 0.3 * min(size) <= max(hero.width, hero.height) <= 0.75 * min(size)
        for p in placements:
            x0, y0, x1, y1 = p.box
            assert left <= x0 and x1 <= right and top <= y0 and y1 <= bottom, (subject, p)
            assert y1 <= 0.78 * height  # captions own the bottom 22%
            if p is not hero:  # smaller (by area: a chain is tall and thin) and farther away
                assert p.width * p.height < 0.6 * hero.width * hero.height and p.depth > 0


def test_hero_pixels_are_in_the_image_and_the_caption_band_is_clear() -> None:
    bees = _subject(BEES)
    size = (1280, 720)
    img = render_scene_image(bees, seed=2, size=size).astype(np.int16)
    hero = illustration_layout(bees, seed=2, size=size)[-1]
    x0, y0, x1, y1 = hero.box
    sprite = render_illustration(hero.illustration, max(hero.width, hero.height))
    opaque = sprite[..., 3] == 255
    drawn = img[y0:y1, x0:x1][opaque]
    assert np.abs(drawn - sprite[..., :3][opaque]).mean() < 25  # the sprite's own colours, lightly lit
    outline = sprite[..., :3].max(axis=2) < 30
    assert (img[y0:y1, x0:x1][opaque & outline].max(axis=1) < 50).mean() > 0.9  # black OpenMoji strokes
    caption_band = img[int(0.78 * size[1]) :]
    assert (caption_band.max(axis=2) < 50).mean() < 0.001  # no outline strokes where captions go


def _histogram(img: np.ndarray) -> np.ndarray:
    hist = np.histogramdd(img.reshape(-1, 3) // 32, bins=(8, 8, 8), range=((0, 8), (0, 8), (0, 8)))[0]
    return hist.ravel() / hist.sum()


def test_different_subjects_look_different() -> None:
    for seed in range(3):
        bees = render_scene_image(_subject(BEES), seed=seed, size=(480, 270))
        acropolis = render_scene_image(_subject(ACROPOLIS), seed=seed, size=(480, 270))
        assert np.abs(bees.astype(np.int16) - acropolis).mean() > 25
        overlap = np.minimum(_histogram(bees), _histogram(acropolis)).sum()  # 1: same colours, 0: none shared
        assert overlap < 0.5


def test_landscapes_only_for_outdoor_words() -> None:
    rngs = [np.random.default_rng(s) for s in range(40)]
    indoor = {choose_composition(None, {"bread", "oven", "baker"}, rng) for rng in rngs}
    assert "landscape" not in indoor and {"studio", "bokeh"} <= indoor
    assert choose_composition(None, {"sheep", "meadow"}, np.random.default_rng(0)) == "landscape"
    assert choose_composition("space", {"black", "hole"}, np.random.default_rng(0)) == "space"
