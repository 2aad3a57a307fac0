"""Fitting a generated image to the output frame: the generation size for an aspect, then scale and crop."""

from __future__ import annotations

import math

import cv2
import numpy as np


def generation_size(target: tuple[int, int], native: int, multiple: int) -> tuple[int, int]:
    """(width, height) of about native x native pixels in the target's aspect, each a multiple of `multiple`.

    A model draws best near the area it was trained at (512 x 512 for SD 1.5, 1024 x 1024 for SDXL); keeping
    that area in the frame's aspect leaves only a sliver to crop (16:9 at 512 -> 704 x 384).
    """
    width, height = target
    if width <= 0 or height <= 0 or native <= 0 or multiple <= 0:
        raise ValueError(f"sizes must be positive: target={target}, native={native}, multiple={multiple}")
    root = math.sqrt(width / height)
    return (max(multiple, round(native * root / multiple) * multiple),
            max(multiple, round(native / root / multiple) * multiple))


def cover_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale so the image covers size=(width, height), then crop the centre: exactly (height, width, channels)."""
    width, height = size
    src_h, src_w = image.shape[:2]
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    scaled = image
    if (new_w, new_h) != (src_w, src_h):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
        scaled = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    return np.ascontiguousarray(scaled[top : top + height, left : left + width])


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] as uint8 (rounded, clipped)."""
    return (np.clip(image, 0.0, 1.0) * 255.0).round().astype(np.uint8)
