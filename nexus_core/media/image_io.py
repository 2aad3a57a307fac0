"""Reading and writing RGB stills: the one place that knows OpenCV stores BGR."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PNG_COMPRESSION = 1  # scene stills: fast to write, read back once per clip
JPEG_QUALITY = 90  # thumbnails and the poster


def read_rgb(path: Path | str) -> np.ndarray:
    """An image file as (height, width, 3) uint8 RGB; ValueError when it cannot be read."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB image as PNG or JPEG (by the path's suffix); returns the path."""
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix.lower() in (".jpg", ".jpeg") else [
        cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
        raise ValueError(f"cannot write image {path}")
    return path
