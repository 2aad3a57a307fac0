"""Procedural scene art: palette and composition read from a scene's words, shapes drawn from a seed."""

from __future__ import annotations

import colorsys
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from nexus_core.models import Scene
from nexus_core.prompts import strongest_theme

WORK_LONG_SIDE = 960  # smooth layers are drawn at most this large, then upscaled
GRAIN_TILE = 256
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
    colors = [_hsv(h + shift, s * rng.uniform(0.9, 1.1), v * rng.uniform(0.92, 1.0)) for h, s, v in spec]
    return Palette(*colors, dark=theme in ("space", "night"))


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
        mask = (c.yy >= top[None, :]).astype(np.float32)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.7)
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


def _blobs(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    colors = (pal.accent, pal.glow, pal.far, pal.sky_bottom)
    for _ in range(int(rng.integers(8, 14))):
        cx, cy = rng.uniform(0, c.aspect), rng.uniform(0, 1)
        r = rng.uniform(0.06, 0.3)
        d = np.sqrt((c.xx - cx) ** 2 + (c.yy - cy) ** 2)
        if rng.random() < 0.5:  # soft bokeh disc
            alpha = (1 - _smoothstep(r * 0.8, r, d)) * rng.uniform(0.2, 0.45)
        else:  # diffuse glow
            alpha = np.exp(-(d**2) / (2 * r * r)) * rng.uniform(0.4, 0.8)
        _mix(c.img, colors[int(rng.integers(len(colors)))], alpha)
    for _ in range(int(rng.integers(2, 4))):  # flowing ribbons
        x = c.xx / c.aspect
        curve = rng.uniform(0.3, 0.8) + 0.12 * np.sin(2 * np.pi * (rng.uniform(0.5, 1.5) * x + rng.uniform(0, 1)))
        width = rng.uniform(0.02, 0.06)
        _mix(c.img, pal.glow, np.exp(-(((c.yy - curve) / width) ** 2)) * 0.35)


def _landscape(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    horizon = rng.uniform(0.5, 0.68)
    _glow(c, pal, rng, rng.uniform(0.2, 0.8) * c.aspect, horizon - rng.uniform(0.08, 0.3), rng.uniform(0.04, 0.08))
    _clouds(c, pal, rng, 0.05, horizon)
    _hills(c, pal, rng, horizon, layers=int(rng.integers(3, 6)))


def _seascape(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    horizon = rng.uniform(0.5, 0.62)
    sun_x = rng.uniform(0.25, 0.75) * c.aspect
    _glow(c, pal, rng, sun_x, horizon - rng.uniform(0.05, 0.25), rng.uniform(0.04, 0.07))
    _clouds(c, pal, rng, 0.05, horizon)
    if rng.random() < 0.5:  # a distant headland, then the sea in front of it
        _hills(c, pal, rng, horizon - 0.04, layers=1)
    _sea(c, pal, rng, horizon, sun_x)


def _space(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    _nebula(c, pal, rng)
    _planet(c, pal, rng)


def _city(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    horizon = rng.uniform(0.45, 0.6)
    _glow(c, pal, rng, rng.uniform(0.2, 0.8) * c.aspect, horizon - 0.1, rng.uniform(0.05, 0.09))
    _clouds(c, pal, rng, 0.05, horizon)
    _skyline(c, pal, rng, horizon)


def _abstract(c: _Canvas, pal: Palette, rng: np.random.Generator) -> None:
    _blobs(c, pal, rng)


_DRAW: dict[str, Callable[[_Canvas, Palette, np.random.Generator], None]] = {
    "landscape": _landscape,
    "sea": _seascape,
    "space": _space,
    "city": _city,
    "abstract": _abstract,
}


def choose_composition(theme: str | None, rng: np.random.Generator) -> str:
    """Space, city and water themes draw their own scene; others a landscape or an abstract one."""
    if theme in _COMPOSITIONS:
        return _COMPOSITIONS[theme]
    return "landscape" if rng.random() < 0.7 else "abstract"


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


def render_scene_image(scene: Scene, *, seed: int, size: tuple[int, int]) -> np.ndarray:
    """An RGB uint8 image of exactly size=(width, height) for a scene, the same for the same seed."""
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {size}")
    words = scene_words(scene)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(" ".join(sorted(words)).encode())])
    theme = scene_theme(words)
    pal = make_palette(theme, rng)
    scale = min(1.0, WORK_LONG_SIDE / max(width, height))
    c = _new_canvas(max(8, round(width * scale)), max(8, round(height * scale)), pal, rng)
    _DRAW[choose_composition(theme, rng)](c, pal, rng)
    _vignette(c, 0.35 if pal.dark else 0.22)
    img = cv2.resize(c.img, (width, height), interpolation=cv2.INTER_LINEAR) if scale < 1.0 else c.img
    if pal.dark:
        _stars(img, c.sky, rng, density=1 / 1800)
    img += _grain(rng, width, height, 1.2 / 255)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
