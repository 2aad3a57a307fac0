"""yuv420p frames in numpy: BT.709 conversion, and moving a still's planes by a zoom-and-shift map.

A scene's still is converted once; every frame is then made by warping its three planes straight into
the buffer that goes to the encoder. Zoom-and-shift maps (all the camera moves) take a cv2.resize path,
about 3x cheaper than cv2.warpAffine, that lands within RESIZE_TOLERANCE_PX of the exact position.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

MAX_CROP = 48  # leading output pixels zoom_plane may compute and drop to land on a sub-pixel offset
PAD = MAX_CROP + 2  # replicated border kept around a still's planes, so every crop stays inside them
_CROPS = np.arange(1, MAX_CROP + 1, dtype=np.float64)
RESIZE_TOLERANCE_PX = 1 / 32  # position error allowed on that path; cv2.warpAffine rounds to 1/32 px

# Full-range RGB -> limited-range BT.709 Y'CbCr, as a 3x4 matrix for cv2.transform (rows Y, Cb, Cr).
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_BT709 = np.array(
    [
        [219 / 255 * _KR, 219 / 255 * _KG, 219 / 255 * _KB, 16.0],
        [-224 / 255 * _KR / (2 - 2 * _KB), -224 / 255 * _KG / (2 - 2 * _KB), 224 / 255 * 0.5, 128.0],
        [224 / 255 * 0.5, -224 / 255 * _KG / (2 - 2 * _KR), -224 / 255 * _KB / (2 - 2 * _KR), 128.0],
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class I420Planes:
    """The Y, U and V planes of one frame (views into one buffer, or separate arrays)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @classmethod
    def of(cls, buffer: np.ndarray) -> I420Planes:
        """Plane views into a contiguous (h * 3 / 2, w) uint8 yuv420p buffer."""
        h, w = buffer.shape[0] * 2 // 3, buffer.shape[1]
        chroma = buffer[h:].reshape(2, h // 2, w // 2)
        return cls(buffer[:h], chroma[0], chroma[1])


def new_i420(width: int, height: int) -> np.ndarray:
    """An uninitialised contiguous yuv420p buffer of shape (h * 3 / 2, w)."""
    return np.empty((height * 3 // 2, width), dtype=np.uint8)


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 image as one contiguous BT.709 limited-range yuv420p buffer (chroma averaged 2x2)."""
    h, w = rgb.shape[:2]
    ycc = cv2.transform(np.ascontiguousarray(rgb), _BT709)
    out = new_i420(w, h)
    planes = I420Planes.of(out)
    planes.y[...] = ycc[..., 0]
    cv2.resize(ycc[..., 1], (w // 2, h // 2), dst=planes.u, interpolation=cv2.INTER_AREA)
    cv2.resize(ycc[..., 2], (w // 2, h // 2), dst=planes.v, interpolation=cv2.INTER_AREA)
    return out


def chroma_matrix(matrix: np.ndarray) -> np.ndarray:
    """The luma-plane affine map expressed on the half-size chroma planes (centre-sited samples)."""
    linear, shift = matrix[:, :2], matrix[:, 2]
    out = np.empty_like(matrix)
    out[:, :2] = linear
    out[:, 2] = (linear @ np.array([0.5, 0.5]) + shift - 0.5) / 2.0
    return out


@dataclass(frozen=True)
class StillPlanes:
    """A still's yuv420p planes, each with PAD replicated pixels on every side."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> StillPlanes:
        """Convert an RGB uint8 still once (BT.709) and pad its planes."""
        planes = I420Planes.of(rgb_to_i420(rgb))
        y, u, v = (_pad(p) for p in (planes.y, planes.u, planes.v))
        return cls(y, u, v)


def _pad(plane: np.ndarray) -> np.ndarray:
    return cv2.copyMakeBorder(plane, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)


@lru_cache(maxsize=16)  # the U and V planes share their plans
def _axis_plan(origin: float, scale: float, n_out: int, n_src: int) -> tuple[float, int, int, int] | None:
    """(error, crop, start, length) for one axis of `zoom_plane`, or None if nothing fits the source.

    cv2.resize of source[start:start + length] by `scale` samples its output pixel k at
    start + (k + 0.5) / scale - 0.5; dropping `crop` leading outputs should make output j sample
    origin + j / scale. Whole-pixel start and crop leave an error: the smallest one found wins.
    """
    wanted = origin + 0.5 - (_CROPS + 0.5) / scale
    start = np.rint(wanted)
    error = np.abs(start - wanted)
    last = origin + (n_out - 1) / scale + (start - wanted)
    length = np.minimum(np.floor(last) + 2 - start, n_src - start)
    short = np.rint(length * scale) < _CROPS + n_out  # one more source pixel gives one more output
    length = np.where(short, length + 1, length)
    fits = (start >= 0) & (start + length <= n_src) & (np.rint(length * scale) >= _CROPS + n_out)
    if not fits.any():
        return None
    error = np.where(fits, error, np.inf)
    close = np.flatnonzero(error <= RESIZE_TOLERANCE_PX / 4)  # the smallest such crop: least extra work
    best = int(close[0]) if close.size else int(np.argmin(error))
    return float(error[best]), int(_CROPS[best]), int(start[best]), int(length[best])


def zoom_plane(padded: np.ndarray, matrix: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> bool:
    """Apply a zoom-and-shift map [[s, 0, tx], [0, s, ty]], s >= 1, to a PAD-padded plane via cv2.resize.

    Bilinear like cv2.warpAffine on the unpadded plane; returns False, writing nothing, when the map
    is of another kind or no crop lands within RESIZE_TOLERANCE_PX of the exact position.
    """
    scale = float(matrix[0, 0])
    if matrix[0, 1] != 0.0 or matrix[1, 0] != 0.0 or matrix[1, 1] != scale or scale < 1.0:
        return False
    (h, w), (src_h, src_w) = out.shape, padded.shape
    plan_x = _axis_plan(PAD - matrix[0, 2] / scale, scale, w, src_w)
    plan_y = _axis_plan(PAD - matrix[1, 2] / scale, scale, h, src_h)
    if plan_x is None or plan_y is None or max(plan_x[0], plan_y[0]) > RESIZE_TOLERANCE_PX:
        return False
    _, crop_x, x0, length_x = plan_x
    _, crop_y, y0, length_y = plan_y
    rows, cols = round(length_y * scale), round(length_x * scale)
    target = scratch[:rows, :cols] if rows <= scratch.shape[0] and cols <= scratch.shape[1] else None
    zoomed = cv2.resize(padded[y0 : y0 + length_y, x0 : x0 + length_x], None, dst=target, fx=scale, fy=scale,
                        interpolation=cv2.INTER_LINEAR)
    np.copyto(out, zoomed[crop_y : crop_y + h, crop_x : crop_x + w])
    return True


def scratch_for(shape: tuple[int, ...]) -> np.ndarray:
    """A buffer big enough for `zoom_plane`'s resized crop when making a plane of this shape."""
    return np.empty((shape[0] + MAX_CROP + 4, shape[1] + MAX_CROP + 4), dtype=np.uint8)


def i420_scratch(width: int, height: int) -> I420Planes:
    """Scratch planes for `warp_i420` at this frame size."""
    luma, chroma = (height, width), (height // 2, width // 2)
    return I420Planes(scratch_for(luma), scratch_for(chroma), scratch_for(chroma))


def _warp_plane(padded: np.ndarray, matrix: np.ndarray, out: np.ndarray, scratch: np.ndarray | None) -> None:
    if scratch is not None and zoom_plane(padded, matrix, out, scratch):
        return
    h, w = out.shape
    inner = padded[PAD:-PAD, PAD:-PAD]
    cv2.warpAffine(inner, matrix, (w, h), dst=out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_i420(
    still: StillPlanes, matrix: np.ndarray, out: I420Planes, scratch: I420Planes | None = None
) -> None:
    """Make a frame: each plane of `still` moved by one forward affine map (luma pixels), bilinear.

    With `scratch` (from `i420_scratch`), zoom-and-shift maps take the cv2.resize path; any other map,
    or a position that path cannot reach closely enough, uses cv2.warpAffine.
    """
    half = chroma_matrix(matrix)
    _warp_plane(still.y, matrix, out.y, scratch.y if scratch else None)
    _warp_plane(still.u, half, out.u, scratch.u if scratch else None)
    _warp_plane(still.v, half, out.v, scratch.v if scratch else None)
