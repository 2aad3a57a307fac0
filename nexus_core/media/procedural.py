"""Procedural scene art: a backdrop whose palette and kind follow the scene's words, shapes drawn from a seed,
and in front of it the OpenMoji illustrations the words name, staged with shadows and depth."""

from __future__ import annotations

import colorsys
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from nexus_core.media.illustrations import Illustration, choose_illustrations, glyph_shape, render_illustration
from nexus_core.models import Scene
from nexus_core.prompts import THEME_WORDS, strongest_theme

WORK_LONG_SIDE = 960  # smooth layers are drawn at most this large, then upscaled
GRAIN_TILE = 256
# (left, top, right, bottom) as fractions of the frame: what every camera move keeps in view (the compositor
# zooms up to ~1.19x around an anchor ~2.5% off centre, or pans and tilts ~4% each way: 10.5% to 89.5% stays
# visible), above the bottom 22% where captions live. Illustrations and their shadows stay inside it.
SAFE_AREA = (0.11, 0.11, 0.89, 0.78)
MIN_ILLUSTRATION_PX = 24  # smaller images (thumbnails, tests) keep a pure procedural backdrop
SHADOW_OFFSET = (0.025, 0.04)  # drop shadow, as fractions of the sprite's size: light from the upper left
SHADOW_BLUR = 0.03
LIGHT_TINT = 0.12  # how much the scene's light colours the illustrations: white paper under a warm lamp
_MORE_OUTDOOR = (
    "hill hills meadow meadows field fields farm farms countryside landscape outdoor outdoors valley sky "
    "hike hiking trail prairie savanna canyon cliff cliffs desert dunes snow glacier lake river"
)
OUTDOOR_WORDS = THEME_WORDS["nature"] | frozenset(_MORE_OUTDOOR.split())  # these words get a landscape
_WORD = re.compile(r"\w+")

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Palette:
    """Colours of one image, top of the sky to the nearest layer, as RGB floats in [0, 1]."""

    sky_top: RGB
    sky_bottom: RGB
    glow: RGB
    far: RGB
    near: RGB
    accent: RGB
    dark: bool


# (sky top, sky bottom, glow, far layer, near layer, accent) as HSV; hues jitter per seed.
_THEME_HSV: dict[str, tuple[tuple[float, float, float], ...]] = {
    "space": (
        (0.68, 0.60, 0.04),
        (0.72, 0.55, 0.16),
        (0.08, 0.25, 1.00),
        (0.75, 0.50, 0.45),
        (0.60, 0.60, 0.20),
        (0.85, 0.55, 0.90),
    ),
    "night": (
        (0.65, 0.70, 0.07),
        (0.70, 0.45, 0.30),
        (0.60, 0.10, 0.95),
        (0.68, 0.40, 0.20),
        (0.70, 0.45, 0.06),
        (0.12, 0.60, 1.00),
    ),
    "warm": (
        (0.72, 0.45, 0.45),
        (0.07, 0.75, 1.00),
        (0.11, 0.55, 1.00),
        (0.95, 0.45, 0.55),
        (0.97, 0.60, 0.18),
        (0.12, 0.70, 1.00),
    ),
    "water": (
        (0.58, 0.55, 0.75),
        (0.53, 0.20, 0.98),
        (0.13, 0.20, 1.00),
        (0.55, 0.35, 0.70),
        (0.57, 0.70, 0.35),
        (0.50, 0.40, 1.00),
    ),
    "nature": (
        (0.57, 0.45, 0.85),
        (0.15, 0.20, 0.98),
        (0.14, 0.35, 1.00),
        (0.38, 0.25, 0.70),
        (0.33, 0.65, 0.30),
        (0.12, 0.60, 1.00),
    ),
    "cold": (
        (0.60, 0.30, 0.80),
        (0.58, 0.08, 0.98),
        (0.55, 0.05, 1.00),
        (0.60, 0.12, 0.88),
        (0.62, 0.30, 0.55),
        (0.55, 0.25, 1.00),
    ),
    "city": (
        (0.75, 0.60, 0.22),
        (0.92, 0.45, 0.75),
        (0.08, 0.50, 1.00),
        (0.75, 0.35, 0.35),
        (0.72, 0.45, 0.10),
        (0.13, 0.55, 1.00),
    ),
}
_COMPOSITIONS = {"space": "space", "city": "city", "water": "sea"}


def scene_words(scene: Scene) -> set[str]:
    """Lower-case words of the scene's description, visual elements and lighting."""
    text = " ".join([scene.description, *scene.visual_elements, scene.lighting])
    return {w.lower() for w in _WORD.findall(text)}


def scene_theme(words: set[str]) -> str | None:
    """The strongest theme named by the words (space, night, warm, ...), or None."""
    return strongest_theme(words)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(1.0, max(0.0, s)), min(1.0, max(0.0, v)))
    return (r, g, b)


def make_palette(theme: str | None, rng: np.random.Generator) -> Palette:
    """A theme's palette with a seeded hue shift; with no theme, a harmonious seeded palette."""
    spec: tuple[tuple[float, float, float], ...]
    if theme is None:
        base = rng.uniform(0, 1)
        spec = (
            (base + 0.55, 0.45, 0.70),
            (base + 0.05, 0.30, 0.98),
            (base + 0.10, 0.35, 1.0),
            (base + 0.50, 0.30, 0.65),
            (base + 0.45, 0.55, 0.30),
            (base, 0.60, 1.0),
        )
    else:
        spec = _THEME_HSV[theme]
    spread = 0.12 if theme == "space" else 0.04
    shift = rng.uniform(-spread, spread)
    sky_top, sky_bottom, glow, far, near, accent = (
        _hsv(h + shift, s * rng.uniform(0.9, 1.1), v * rng.uniform(0.92, 1.0)) for h, s, v in spec
    )
    return Palette(sky_top, sky_bottom, glow, far, near, accent, dark=theme in ("space", "night"))


def _noise(rng: np.random.Generator, w: int, h: int, cells_x: int, cells_y: int) -> np.ndarray:
    """Smooth value noise in [0, 1] of shape (h, w): a small random grid upscaled with cubic interpolation."""
    grid = rng.random((max(2, cells_y), max(2, cells_x))).astype(np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _smoothstep(edge0: float | np.ndarray, edge1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _mix(img: np.ndarray, color: RGB | np.ndarray, alpha: np.ndarray) -> None:
    """Blend a colour over the image in place with a per-pixel alpha of shape (h, w)."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += np.asarray(color, dtype=np.float32) * a


@dataclass
class _Canvas:
    img: np.ndarray  # (h, w, 3) float32
    sky: np.ndarray  # (h, w) float32: 1 where open sky (stars may show)
    xx: np.ndarray  # (1, w) in [0, aspect]
    yy: np.ndarray  # (h, 1) in [0, 1]
    aspect: float

    @property
    def w(self) -> int:
        return self.img.shape[1]

    @property
    def h(self) -> int:
        return self.img.shape[0]


def _new_canvas(w: int, h: int, pal: Palette, rng: np.random.Generator) -> _Canvas:
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, w / h, w, dtype=np.float32)[None, :]
    t = (yy ** rng.uniform(0.7, 1.4))[..., None]
    top = np.asarray(pal.sky_top, dtype=np.float32)
    bottom = np.asarray(pal.sky_bottom, dtype=np.float32)
    img = np.empty((h, w, 3), dtype=np.float32)
    img[:] = top * (1 - t) + bottom * t
    return _Canvas(img, np.ones((h, w), np.float32), xx, yy, w / h)


def _glow(c: _Canvas, pal: Palette, rng: np.random.Generator, cx: float, cy: float, radius: float) -> None:
    d2 = (c.xx - cx) ** 2 + (c.yy - cy) ** 2
    halo = np.exp(-d2 / (2 * (radius * 4) ** 2)) * (0.35 if pal.dark else 0.55)
    disc = 1.0 - _smoothstep(radius * 0.85, radius * 1.05, np.sqrt(d2))
    _mix(c.img, pal.glow, np.clip(halo + disc * rng.uniform(0.75, 0.95), 0.0, 1.0))


def _clouds(c: _Canvas, pal: Palette, rng: np.random.Generator, top: float, bottom: float) -> None:
    n = _noise(rng, c.w, c.h, 4, 9) * 0.65 + _noise(rng, c.w, c.h, 9, 22) * 0.35
    band = _smoothstep(top, top + 0.1, c.yy) * (1 - _smoothstep(bottom - 0.1, bottom, c.yy))
    alpha = _smoothstep(0.5, 0.85, n) * band * (0.25 if pal.dark else 0.45)
    tint = np.asarray(pal.glow, np.float32) * 0.6 + np.asarray(pal.sky_bottom, np.float32) * 0.4
    _mix(c.img, tint, alpha)


def _ridge(c: _Canvas, rng: np.random.Generator, base: float, roughness: float) -> np.ndarray:
    x = c.xx[0] / c.aspect
    ridge = np.full_like(x, base)
    for octave in range(4):
        freq = rng.uniform(1.0, 2.5) * 2**octave
        ridge += roughness / 2**octave * np.sin(2 * np.pi * freq * x + rng.uniform(0, 2 * np.pi))
    return ridge


def _hills(c: _Canvas, pal: Palette, rng: np.random.Generator, horizon: float, layers: int) -> None:
    far, near = np.asarray(pal.far, np.float32), np.asarray(pal.near, np.float32)
    for k in range(layers):
        t = k / max(1, layers - 1)
        base = horizon + t * (1.0 - horizon) * 0.55
        ridge = _ridge(c, rng, base, roughness=rng.uniform(0.02, 0.07) * (1.2 - 0.5 * t))
        soft = 1.5 / c.h
        mask = _smoothstep(ridge - soft, ridge + soft, c.yy)
        color = far * (1 - t) + near * t
        shade = 1.0 - 0.25 * _smoothstep(ridge, ridge + 0.35, c.yy)[..., None]
        layer = color * shade
        a = mask[..., None]
        c.img *= 1.0 - a
        c.img += layer * a
        c.sky *= 1.0 - mask
        haze = (1 - _smoothstep(ridge, ridge + 0.12, c.yy)) * mask * 0.25 * (1 - t)
        _mix(c.img, pal.sky_bottom, haze)


def _sea(c: _Canvas, pal: Palette, rng: np.random.Generator, horizon: float, sun_x: float) -> None:
    water = _smoothstep(horizon - 0.5 / c.h, horizon + 0.5 / c.h, c.yy) * np.ones_like(c.xx)
    depth = _smoothstep(horizon, 1.0, c.yy)[..., None]
    top = np.asarray(pal.sky_bottom, np.float32) * 0.8
    deep = np.asarray(pal.near, np.float32)
    sea = top * (1 - depth) + deep * depth
    streaks = _noise(rng, c.w, c.h, 5, 60)
    column = np.exp(-((c.xx - sun_x) ** 2) / (2 * (0.08 + 0.25 * (c.yy - horizon).clip(0)) ** 2))
    sparkle = (_smoothstep(0.55, 0.9, streaks) * column)[..., None] * np.asarray(pal.glow, np.float32) * 0.8
    ripples = (streaks[..., None] - 0.5) * 0.08
    a = water[..., None]
    c.img *= 1.0 - a
    c.img += (sea + sparkle + ripples) * a
    c.sky *= 1.0 - water


def _skyline(c: _Canvas, pal: Palette, rng: np.random.Generator, horizon: float) -> None:
    for k, color in enumerate((pal.far, pal.near)):
        heights = np.full(c.w, 0.05 if k == 0 else -1.0, np.float32)  # gaps: ground far away, none near
        x = 0
        while x < c.w:
            width = max(2, int(rng.uniform(0.03, 0.09) * c.w))
            heights[x : x + width] = rng.uniform(0.1, 0.45) * (1.0 - 0.35 * (1 - k))
            x += width + int(rng.uniform(0, 0.015) * c.w)
        top = horizon + 0.25 - heights + k * 0.05
        mask = cv2.GaussianBlur((c.yy >= top[None, :]).astype(np.float32), (0, 0), 0.7)
        _mix(c.img, color, mask)
        c.sky *= 1.0 - mask
        if k == 1:
            lit = (rng.random((c.h // 4 + 1, c.w // 3 + 1)) < 0.18).astype(np.float32)
            windows = cv2.resize(lit, (c.w, c.h), interpolation=cv2.INTER_NEAREST)
            rows = (np.arange(c.h) % 4 < 2)[:, None] & (np.arange(c.w) % 3 < 2)[None, :]
            street_haze = 1.0 - _smoothstep(0.8, 1.0, c.yy)
            inside = _smoothstep(top + 0.02, top + 0.04, c.yy) * mask * street_haze
            _mix(c.img, pal.accent, windows * rows * inside * 0.85)


def _planet(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    cx, cy = rng.uniform(0.2, 0.8) * c.aspect, rng.uniform(0.35, 0.75)
    r = rng.uniform(0.12, 0.3)
    dx, dy = (c.xx - cx) / r, (c.yy - cy) / r
    d = np.sqrt(dx**2 + dy**2)
    inside = 1.0 - _smoothstep(0.98, 1.0, d)
    nz = np.sqrt(np.clip(1.0 - d**2, 0.0, 1.0))
    light = np.clip(-0.6 * dx - 0.5 * dy + 0.6 * nz, 0.0, 1.0)
    bands = 0.85 + 0.15 * np.sin(dy * rng.uniform(8, 16) + rng.uniform(0, 6))
    body = np.asarray(pal.far, np.float32) * 0.4 + np.asarray(pal.accent, np.float32) * 0.6
    _mix(c.img, body * (0.12 + 0.88 * light * bands)[..., None], inside)
    c.sky *= 1.0 - inside
    if rng.random() < 0.6:  # a tilted ring, drawn in front of the planet's lower half
        tilt = rng.uniform(-0.35, 0.35)
        rx, ry = dx * np.cos(tilt) + dy * np.sin(tilt), (-dx * np.sin(tilt) + dy * np.cos(tilt)) * 4.0
        rd = np.sqrt(rx**2 + ry**2)
        ring = _smoothstep(1.35, 1.45, rd) * (1 - _smoothstep(1.9, 2.1, rd))
        ring *= np.where(ry > 0, 1.0, 1.0 - inside)
        _mix(c.img, pal.glow, ring * 0.7)


def _nebula(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    for color in (pal.accent, pal.far):
        n = _noise(rng, c.w, c.h, 5, 3) * 0.6 + _noise(rng, c.w, c.h, 13, 8) * 0.4
        _mix(c.img, color, _smoothstep(0.45, 0.9, n) * 0.45)


def _rows_cols(c: _Canvas, cx: float, cy: float, reach: float) -> tuple[slice, slice]:
    """The canvas rows and columns within reach of a point (canvas units): where a soft shape draws."""
    y0, y1 = max(0, int((cy - reach) * c.h)), min(c.h, int((cy + reach) * c.h) + 2)
    x0, x1 = max(0, int((cx - reach) * c.h)), min(c.w, int((cx + reach) * c.h) + 2)
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def _blobs(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    colors = (pal.accent, pal.glow, pal.far, pal.sky_bottom)
    for _ in range(int(rng.integers(8, 14))):
        cx, cy = rng.uniform(0, c.aspect), rng.uniform(0, 1)
        r = rng.uniform(0.06, 0.3)
        rows, cols = _rows_cols(c, cx, cy, r * 3.5)  # a gaussian's tail past 3.5 sigma is below 1/400
        d = np.sqrt((c.xx[:, cols] - cx) ** 2 + (c.yy[rows] - cy) ** 2)
        if rng.random() < 0.5:  # soft bokeh disc
            alpha = (1 - _smoothstep(r * 0.8, r, d)) * rng.uniform(0.2, 0.45)
        else:  # diffuse glow
            alpha = np.exp(-(d**2) / (2 * r * r)) * rng.uniform(0.4, 0.8)
        _mix(c.img[rows, cols], colors[int(rng.integers(len(colors)))], alpha)
    for _ in range(int(rng.integers(2, 4))):  # flowing ribbons
        x = c.xx / c.aspect
        middle, swing = rng.uniform(0.3, 0.8), 0.12
        curve = middle + swing * np.sin(2 * np.pi * (rng.uniform(0.5, 1.5) * x + rng.uniform(0, 1)))
        width = rng.uniform(0.02, 0.06)
        rows = _rows_cols(c, 0.0, middle, swing + 3 * width)[0]
        _mix(c.img[rows], pal.glow, np.exp(-(((c.yy[rows] - curve) / width) ** 2)) * 0.35)


@dataclass(frozen=True)
class _Stage:
    """Where the hero illustration stands, in canvas units (x in [0, aspect], y in [0, 1]): lights follow it."""

    focus: tuple[float, float]  # the hero's centre
    floor: float  # the hero's baseline
    radius: float  # half the hero's size; 0 with no illustration


def _landscape(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    horizon = min(rng.uniform(0.5, 0.68), stage.floor - 0.05)
    _glow(c, pal, rng, rng.uniform(0.2, 0.8) * c.aspect, horizon - rng.uniform(0.08, 0.3), rng.uniform(0.04, 0.08))
    _clouds(c, pal, rng, 0.05, horizon)
    _hills(c, pal, rng, horizon, layers=int(rng.integers(3, 6)))


def _seascape(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    horizon = min(rng.uniform(0.5, 0.62), stage.floor - 0.05)
    sun_x = rng.uniform(0.25, 0.75) * c.aspect
    _glow(c, pal, rng, sun_x, horizon - rng.uniform(0.05, 0.25), rng.uniform(0.04, 0.07))
    _clouds(c, pal, rng, 0.05, horizon)
    if rng.random() < 0.5:  # a distant headland, then the sea in front of it
        _hills(c, pal, rng, horizon - 0.04, layers=1)
    _sea(c, pal, rng, horizon, sun_x)


def _space(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    _nebula(c, pal, rng)
    if not stage.radius:  # a drawn planet would compete with the illustrations
        _planet(c, pal, rng)


def _city(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    horizon = min(rng.uniform(0.45, 0.6), stage.floor - 0.1)
    _glow(c, pal, rng, rng.uniform(0.2, 0.8) * c.aspect, horizon - 0.1, rng.uniform(0.05, 0.09))
    _clouds(c, pal, rng, 0.05, horizon)
    _skyline(c, pal, rng, horizon)


def _abstract(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    _blobs(c, pal, rng)


def _disc(c: _Canvas, cx: float, cy: float, r: float, color: RGB, opacity: float, rim: float = 0.0) -> None:
    """A soft-edged disc (a brighter rim when rim > 0), drawn inside its own bounding box only."""
    x0, x1 = max(0, int((cx - r) * c.h) - 1), min(c.w, int((cx + r) * c.h) + 2)
    y0, y1 = max(0, int((cy - r) * c.h) - 1), min(c.h, int((cy + r) * c.h) + 2)
    if x0 >= x1 or y0 >= y1:
        return
    d = np.sqrt((c.xx[:, x0:x1] - cx) ** 2 + (c.yy[y0:y1] - cy) ** 2)
    edge = max(1.5 / c.h, r * 0.06)
    alpha = (1.0 - _smoothstep(r - edge, r, d)) * (1.0 - rim + rim * _smoothstep(r * 0.6, r, d)) * opacity
    _mix(c.img[y0:y1, x0:x1], color, alpha)


def _studio(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    """A seamless paper backdrop: wall, a soft sweep into the floor, a spotlight on the subject."""
    fx, fy = stage.focus
    horizon = float(np.clip(stage.floor - stage.radius * rng.uniform(0.6, 1.1), 0.3, 0.8))
    sweep = _smoothstep(horizon - 0.03, horizon + 0.09, c.yy)
    depth = _smoothstep(horizon, 1.0, c.yy)[..., None]
    floor = np.asarray(pal.far, np.float32) * (1 - depth) + np.asarray(pal.near, np.float32) * depth
    a = (sweep * np.ones_like(c.xx))[..., None]
    c.img *= 1.0 - a
    c.img += floor * a
    c.img *= (1.0 + (_noise(rng, c.w, c.h, 6, 4) - 0.5) * 0.05)[..., None]  # paper, not plastic
    d2 = (c.xx - fx) ** 2 + (c.yy - (fy - 0.05)) ** 2
    _mix(c.img, pal.glow, np.exp(-d2 / (2 * rng.uniform(0.28, 0.4) ** 2)) * (0.45 if pal.dark else 0.6))
    pool = ((c.xx - fx) / 0.45) ** 2 + ((c.yy - stage.floor) / 0.07) ** 2
    _mix(c.img, pal.glow, np.exp(-pool) * 0.3)
    backplate = rng.random()
    r = stage.radius * rng.uniform(1.2, 1.45)
    if backplate < 0.4:  # a disc behind the subject, as explainer frames frame theirs
        _disc(c, fx, fy, r, pal.glow, 0.35 if pal.dark else 0.45)
    elif backplate < 0.7:
        _disc(c, fx, fy, r, pal.accent, 0.5, rim=1.0)


def _bokeh(c: _Canvas, pal: Palette, rng: np.random.Generator, stage: _Stage) -> None:
    """Out-of-focus lights: many soft discs with brighter rims, fewer and fainter around the subject."""
    fx, fy = stage.focus
    d2 = (c.xx - fx) ** 2 + (c.yy - fy) ** 2
    _mix(c.img, pal.glow, np.exp(-d2 / (2 * 0.35**2)) * 0.25)
    colors = (pal.accent, pal.glow, pal.far, pal.sky_bottom)
    for _ in range(int(rng.integers(35, 60))):
        cx, cy = rng.uniform(-0.05, c.aspect + 0.05), rng.uniform(-0.05, 1.05)
        r = rng.uniform(0.015, 0.1)
        near_subject = (cx - fx) ** 2 + (cy - fy) ** 2 < (stage.radius * 1.3) ** 2
        opacity = rng.uniform(0.12, 0.4) * (0.4 if near_subject else 1.0) * (1.2 - 4 * r)
        _disc(c, cx, cy, r, colors[int(rng.integers(len(colors)))], opacity, rim=rng.uniform(0.2, 0.5))


_DRAW: dict[str, Callable[[_Canvas, Palette, np.random.Generator, _Stage], None]] = {
    "landscape": _landscape,
    "sea": _seascape,
    "space": _space,
    "city": _city,
    "abstract": _abstract,
    "studio": _studio,
    "bokeh": _bokeh,
}
_FLOORED = {"landscape", "city", "studio"}  # backdrops with ground under the subject: it casts a contact shadow


def choose_composition(theme: str | None, words: set[str], rng: np.random.Generator) -> str:
    """Space, city and water themes draw their own scene; outdoor words a landscape; the rest a studio or lights."""
    if theme in _COMPOSITIONS:
        return _COMPOSITIONS[theme]
    if words & OUTDOOR_WORDS:
        return "landscape"
    roll = rng.random()
    return "studio" if roll < 0.5 else "bokeh" if roll < 0.8 else "abstract"


def _vignette(c: _Canvas, strength: float) -> None:
    d2 = ((c.xx / c.aspect - 0.5) ** 2 + (c.yy - 0.5) ** 2) * 2.0
    c.img *= (1.0 - strength * d2)[..., None]


def _stars(img: np.ndarray, sky: np.ndarray, rng: np.random.Generator, density: float) -> None:
    """Sharp stars drawn at full resolution, only where the (small) sky mask is open."""
    h, w = img.shape[:2]
    count = int(w * h * density)
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    open_sky = sky[ys * sky.shape[0] // h, xs * sky.shape[1] // w]
    bright = (rng.random(count) ** 3 * 0.9 + 0.1) * open_sky
    img[ys, xs] = np.maximum(img[ys, xs], bright[:, None])
    for i in np.flatnonzero(bright > 0.75)[:60]:
        cv2.circle(img, (int(xs[i]), int(ys[i])), max(1, w // 1200), (0.9, 0.92, 1.0), -1, cv2.LINE_AA)


def _grain(rng: np.random.Generator, w: int, h: int, amount: float) -> np.ndarray:
    tile = rng.normal(0.0, amount, (GRAIN_TILE, GRAIN_TILE)).astype(np.float32)
    reps = (h // GRAIN_TILE + 1, w // GRAIN_TILE + 1)
    return np.tile(tile, reps)[:h, :w, None]


@dataclass(frozen=True)
class Placement:
    """Where an illustration is drawn: its sprite's top-left corner and size in image pixels, and its depth."""

    illustration: Illustration
    x: int
    y: int
    width: int
    height: int
    depth: float  # 0 for the hero, up to 1 for the farthest supporting illustration

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in image pixels."""
        return self.x, self.y, self.x + self.width, self.y + self.height


def _scene_rng(scene: Scene, seed: int, stream: int) -> np.random.Generator:
    words = scene_words(scene)
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(" ".join(sorted(words)).encode()), stream])


def scene_illustrations(scene: Scene, seed: int) -> list[Illustration]:
    """The illustrations a scene's image shows, hero first: from its visual elements, then its description,
    then what the narrator says over it ("Mozart was a prolific Austrian composer": a violin)."""
    count = 1 + int(_scene_rng(scene, seed, 1).choice(3, p=[0.15, 0.35, 0.5]))
    description = re.sub(re.escape(scene.lighting), " ", scene.description, flags=re.IGNORECASE)
    return choose_illustrations([*scene.visual_elements, description], count=count, seed=seed, said=scene.dialogue)


def _shadow_margin(px: int) -> int:
    """How far a sprite's drop shadow reaches past its box: offset plus two blur radii."""
    return int(px * (SHADOW_OFFSET[1] + 2 * SHADOW_BLUR)) + 1


def _long_side(illustration: Illustration, visual: float, limit: tuple[float, float]) -> int:
    """The sprite's long side for a visual size (the side of a square of the same area), so that its width
    and height stay within limit=(width, height)."""
    h, w = glyph_shape(illustration.emoji)
    long = max(h, w)
    return int(min(visual * math.sqrt(long / min(h, w)), limit[0] * long / w, limit[1] * long / h))


def _place(
    illustration: Illustration, px: int, cx: float, baseline: float, depth: float, size: tuple[int, int]
) -> Placement:
    """A sprite of long side px centred on cx, standing on baseline, moved inside the safe area."""
    width, height = size
    h, w = render_illustration(illustration, px).shape[:2]
    margin = _shadow_margin(px)
    left, right = SAFE_AREA[0] * width + margin, SAFE_AREA[2] * width - margin - w
    top, bottom = SAFE_AREA[1] * height + margin, SAFE_AREA[3] * height - margin - h
    x = min(max(cx - w / 2, left), right) if left <= right else (width - w) / 2
    y = min(max(baseline - h, top), bottom) if top <= bottom else top
    return Placement(illustration, round(x), round(y), w, h, depth)


def illustration_layout(scene: Scene, *, seed: int, size: tuple[int, int]) -> list[Placement]:
    """Where the scene's illustrations go, back to front (the hero last), all inside SAFE_AREA.

    The hero stands left, centre or right (centre in portrait frames) and fills ~40-50% of the short side;
    supporting ones stand behind it, smaller and higher up as if farther away, beside it or above it.
    """
    illustrations = scene_illustrations(scene, seed)
    width, height = size
    safe_w, safe_h = (SAFE_AREA[2] - SAFE_AREA[0]) * width, (SAFE_AREA[3] - SAFE_AREA[1]) * height
    portrait = height > width * 1.1
    rng = _scene_rng(scene, seed, 2)
    visual = min(width, height) * (rng.uniform(0.52, 0.62) if portrait else rng.uniform(0.4, 0.5))
    limit = (safe_w * (0.8 if portrait else 0.55), safe_h * 0.7)
    if not illustrations or visual < MIN_ILLUSTRATION_PX:
        return []
    hero_px = _long_side(illustrations[0], visual, limit)
    side = 0 if portrait else int(rng.choice([-1, 0, 1]))
    hero_cx = width * (0.5 + side * rng.uniform(0.12, 0.17))
    hero_base = SAFE_AREA[3] * height - _shadow_margin(hero_px) - rng.uniform(0.0, 0.08) * safe_h
    if portrait:  # room above it for the supporting ones
        hero_base -= rng.uniform(0.04, 0.14) * safe_h
    hero = _place(illustrations[0], hero_px, hero_cx, hero_base, 0.0, size)
    sides = [-side, -side] if side else [int(rng.choice([-1, 1]))] * 2
    if not side:
        sides[1] = -sides[0]
    hero_visual = math.sqrt(hero.width * hero.height)  # less than asked when the limit cut a wide hero
    placements: list[Placement] = []
    for k, illustration in enumerate(illustrations[1:]):
        share = rng.uniform(0.55, 0.65) if k == 0 else rng.uniform(0.42, 0.52)
        px = _long_side(illustration, hero_visual * share, limit)
        if portrait:  # above the hero, one to each side, tucked behind its top
            cx = hero.x + hero.width / 2 + sides[k] * hero.width * rng.uniform(0.5, 0.62)
            base = hero.y + hero.height * rng.uniform(0.0, 0.12)
        elif k == 0 or side == 0:  # beside it, overlapping its edge
            cx = hero.x + hero.width / 2 + sides[k] * (hero.width / 2 + px * 0.3)
            base = hero.y + hero.height - hero_px * rng.uniform(0.1, 0.22)
        else:  # farther out and farther back, past the first one
            first = placements[0]
            cx = first.x + first.width / 2 + sides[k] * (max(first.width, first.height) * 0.45 + px * 0.4)
            base = first.y + first.height - hero_px * rng.uniform(0.12, 0.25)
        placements.append(_place(illustration, px, cx, base, 0.5 + 0.5 * k, size))
    return [*reversed(placements), hero]


def _hue_of(sprite: np.ndarray) -> tuple[float, float]:
    """(hue, share of saturated colour) of an RGBA sprite's dominant colour: the yellow of a bee, not the
    green between its yellow body and blue wings."""
    small = cv2.resize(sprite, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    hsv = cv2.cvtColor(np.ascontiguousarray(small[..., :3]), cv2.COLOR_RGB2HSV)
    weight = small[..., 3] * hsv[..., 1] * (hsv[..., 2] > 0.25)
    bins = (hsv[..., 0] / 30.0).astype(int) % 12  # twelve 30-degree hue bins
    votes = np.bincount(bins.ravel(), weights=weight.ravel(), minlength=12)
    top = int(np.argmax(votes))
    angle = np.deg2rad(hsv[..., 0])[bins == top]
    w = weight[bins == top]
    hue = np.arctan2((w * np.sin(angle)).sum(), (w * np.cos(angle)).sum()) / (2 * np.pi) % 1.0
    return float(hue), float(weight.sum() / max(1e-6, small[..., 3].sum()))


def _backdrop_palette(pal: Palette, hero: np.ndarray | None, rng: np.random.Generator) -> Palette:
    """A studio or bokeh palette in harmony with the hero's colour: opposite it or either side of opposite."""
    hue, saturation = _hue_of(hero) if hero is not None else (0.0, 0.0)
    if saturation < 0.12:  # a grey or white subject: the theme's (or the seed's) hue
        hue = colorsys.rgb_to_hsv(*pal.accent)[0]
        wall_hue = hue + rng.uniform(-0.05, 0.05)
    else:
        wall_hue = hue + float(rng.choice([0.5, 0.4, 0.6]))
    s = rng.uniform(0.35, 0.55)
    v = rng.uniform(0.16, 0.24) if pal.dark else rng.uniform(0.62, 0.8)
    if not pal.dark and 0.1 < wall_hue % 1.0 < 0.24:  # mid yellows go olive: make them sand or terracotta
        if rng.random() < 0.5:
            wall_hue, s, v = rng.uniform(0.07, 0.1), s * 0.7, rng.uniform(0.86, 0.94)
        else:
            wall_hue, s, v = rng.uniform(0.01, 0.04), s * 1.1, rng.uniform(0.68, 0.8)
    return Palette(
        sky_top=_hsv(wall_hue, s * 1.1, v * 0.72),
        sky_bottom=_hsv(wall_hue, s, v),
        glow=_hsv(wall_hue - 0.03, s * 0.55, min(1.0, v * 1.35 + 0.1)),
        far=_hsv(wall_hue, s * 1.05, v * 0.82),
        near=_hsv(wall_hue + 0.01, s * 1.2, v * 0.55),
        accent=_hsv(wall_hue + 0.5 if rng.random() < 0.5 else hue, 0.55, min(1.0, v * 1.2 + 0.1)),
        dark=pal.dark,
    )


def _sprite_layers(
    placement: Placement, short: int, haze: np.ndarray, light: RGB
) -> tuple[np.ndarray, np.ndarray, int]:
    """Premultiplied RGB and alpha of a sprite lit by the scene's light (farther ones greyer, hazier and
    softer), and the padding around it."""
    px = max(placement.width, placement.height)
    sprite = render_illustration(placement.illustration, px).astype(np.float32) / 255.0
    tint = np.asarray(light, np.float32) / max(1e-3, max(light))
    rgb, alpha = sprite[..., :3] * (1.0 - LIGHT_TINT + LIGHT_TINT * tint), sprite[..., 3]
    if placement.depth > 0:
        luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        rgb = rgb + (luma[..., None] - rgb) * (0.25 * placement.depth)
        rgb = rgb + (haze - rgb) * (0.15 * placement.depth)
    pad = _shadow_margin(px)
    layers = np.zeros((placement.height + 2 * pad, placement.width + 2 * pad, 4), np.float32)
    layers[pad:-pad, pad:-pad, :3] = rgb * alpha[..., None]
    layers[pad:-pad, pad:-pad, 3] = alpha
    if placement.depth > 0:  # out of the focal plane
        layers = np.asarray(cv2.GaussianBlur(layers, (0, 0), placement.depth * short / 700), np.float32)
    return layers[..., :3], layers[..., 3], pad


def _shadow(alpha: np.ndarray, px: int, contact: bool) -> np.ndarray:
    """A soft drop shadow (light from the upper left) and, on a floor, a contact shadow under the base.

    Both are blurry, so they are made at a quarter of the size and scaled up: a few ms for a 1080p hero.
    """
    h, w = alpha.shape
    small = cv2.resize(alpha, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    dx, dy = int(px * SHADOW_OFFSET[0] / 4), int(px * SHADOW_OFFSET[1] / 4)
    shadow = np.zeros_like(small)
    shadow[dy:, dx:] = small[: sh - dy, : sw - dx]
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.5, px * SHADOW_BLUR / 4)) * 0.38
    if contact:
        rows = np.flatnonzero(small.max(axis=1) > 0.5)
        cols = np.flatnonzero(small.max(axis=0) > 0.5)
        if rows.size and cols.size:
            pool = np.zeros_like(small)
            centre = (int((cols[0] + cols[-1]) / 2), int(rows[-1]))
            axes = (max(1, int((cols[-1] - cols[0]) * 0.42)), max(1, int(px * 0.045 / 4)))
            cv2.ellipse(pool, centre, axes, 0, 0, 360, 1.0, -1, cv2.LINE_AA)
            shadow = np.maximum(shadow, cv2.GaussianBlur(pool, (0, 0), max(0.5, px * 0.03 / 4)) * 0.45)
    return cv2.resize(shadow, (w, h), interpolation=cv2.INTER_LINEAR)


def _composite(img: np.ndarray, placement: Placement, *, contact: bool, shade: RGB, light: RGB) -> None:
    """Blend an illustration and its shadow onto the float image in place, inside its padded box only."""
    height, width = img.shape[:2]
    box_x0, box_y0, box_x1, box_y1 = placement.box
    haze = img[box_y0:box_y1:4, box_x0:box_x1:4].reshape(-1, 3).mean(axis=0)
    rgb, alpha, pad = _sprite_layers(placement, min(width, height), haze, light)
    shadow = _shadow(alpha, max(placement.width, placement.height), contact) * (1.0 - 0.4 * placement.depth)
    x0, y0 = box_x0 - pad, box_y0 - pad
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width, x0 + rgb.shape[1] - sx0), min(height, y0 + rgb.shape[0] - sy0)
    window = (slice(sy0, sy0 + y1 - y0), slice(sx0, sx0 + x1 - x0))
    clear = 1.0 - alpha[window]
    shadow = shadow[window] * clear  # the shadow shows only where the sprite does not cover it
    region = img[y0:y1, x0:x1]
    region *= (clear - shadow)[..., None]
    region += rgb[window] + shadow[..., None] * np.asarray(shade, np.float32)


def _dim_behind(c: _Canvas, stage: _Stage) -> None:
    """Depth of field: the backdrop a touch softer everywhere, and darker right behind the hero."""
    c.img[:] = cv2.GaussianBlur(c.img, (0, 0), max(0.6, c.h / 500))
    d2 = (c.xx - stage.focus[0]) ** 2 + (c.yy - stage.focus[1]) ** 2
    c.img *= (1.0 - 0.16 * np.exp(-d2 / (2 * (stage.radius * 1.4) ** 2)))[..., None]


def render_scene_image(scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
    """An RGB uint8 image of exactly size=(width, height) for a scene, the same for the same seed.

    A procedural backdrop chosen from the scene's words, and in front of it the scene's illustrations (see
    illustration_layout), with shadows and depth.
    """
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {size}")
    words = scene_words(scene)
    rng = _scene_rng(scene, seed, 0)
    theme = scene_theme(words)
    placements = illustration_layout(scene, seed=seed, size=size)
    subject_words = {w.lower() for w in _WORD.findall(" ".join([scene.description, *scene.visual_elements]))}
    composition = choose_composition(theme, subject_words, rng)
    if not placements and composition == "studio":  # an empty studio looks unfinished
        composition = "bokeh"
    pal = make_palette(theme, rng)
    hero = placements[-1] if placements else None
    if composition in ("studio", "bokeh"):
        sprite = render_illustration(hero.illustration, max(hero.width, hero.height)) if hero else None
        pal = _backdrop_palette(pal, sprite, rng)
    scale = min(1.0, WORK_LONG_SIDE / max(width, height))
    c = _new_canvas(max(8, round(width * scale)), max(8, round(height * scale)), pal, rng)
    if hero:
        x0, y0, x1, y1 = (v / height for v in hero.box)  # canvas units: the image height is 1
        stage = _Stage(((x0 + x1) / 2, (y0 + y1) / 2), y1, max(x1 - x0, y1 - y0) / 2)
    else:
        stage = _Stage((rng.uniform(0.3, 0.7) * c.aspect, 0.45), 0.72, 0.0)
    _DRAW[composition](c, pal, rng, stage)
    if hero and composition != "studio":
        _dim_behind(c, stage)
    _vignette(c, 0.35 if pal.dark else 0.22)
    img = cv2.resize(c.img, (width, height), interpolation=cv2.INTER_LINEAR) if scale < 1.0 else c.img
    if pal.dark:
        _stars(img, c.sky, rng, density=1 / 1800)
    shade = (0.25 * pal.near[0], 0.25 * pal.near[1], 0.25 * pal.near[2])  # shadows: the floor's colour, dark
    for placement in placements:
        contact = composition in _FLOORED and placement.depth < 1.0
        _composite(img, placement, contact=contact, shade=shade, light=pal.glow)
    img *= 255.0
    img += _grain(rng, width, height, 1.2) + 0.5  # film grain over everything: one printed picture
    return np.clip(img, 0, 255, out=img).astype(np.uint8)
