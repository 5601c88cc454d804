"""Pixel values around the engine: the image checked, alpha split off and put back, colour
to grey, and float sums turned into the output's depth (``--post``, ``--depth``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._cv import cv2
from ..dtypes import check_supported, white_level
from ..errors import UsageError

__all__ = ["check_image", "split_alpha", "to_gray", "finish", "convert_alpha", "attach_alpha"]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as cv2.cvtColor's RGB2GRAY


def check_image(image: Any) -> np.ndarray:
    """``image`` if imgconv can filter it, else a :class:`UsageError` saying why."""
    if not isinstance(image, np.ndarray):
        raise UsageError(f"image must be a numpy array, not {type(image).__name__}")
    check_supported(image.dtype)
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
        raise UsageError(f"image must be H x W or H x W x C with 1 to 4 channels, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise UsageError(f"image is empty (shape {image.shape})")
    return image


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Colour and alpha: 2 and 4 channels carry alpha last; other images have none."""
    if image.ndim == 3 and image.shape[2] in (2, 4):
        return image[:, :, :-1], image[:, :, -1]
    return image, None


def to_gray(image: np.ndarray, order: str) -> np.ndarray:
    """Colour to grey (luma as ``cv2.cvtColor``, channels in ``order``), alpha kept."""
    colour, alpha = split_alpha(image)
    if colour.ndim == 2 or colour.shape[2] == 1:
        return image
    if colour.dtype == np.float64:  # cvtColor has no float64: its weights, in float64
        r, g, b = (colour[:, :, i] for i in ((0, 1, 2) if order == "rgb" else (2, 1, 0)))
        gray = r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2]
        return gray if alpha is None else np.dstack([gray, alpha])
    code = cv2().COLOR_RGB2GRAY if order == "rgb" else cv2().COLOR_BGR2GRAY
    gray = cv2().cvtColor(np.ascontiguousarray(colour), code)
    return gray if alpha is None else np.dstack([gray, alpha])


def finish(values: np.ndarray, source: np.dtype, target: np.dtype, post: str) -> np.ndarray:
    """Float sums in the source's units -> ``post`` -> the target depth.

    ``values`` are float32, or float64 where the image or the target is float64
    (:func:`~imgconv.dtypes.float_type`); a float target keeps the source's units."""
    kind = values.dtype.type
    if target.kind == "u":
        if source.kind == "u" and source != target:  # uint16 <-> uint8: rescale the range
            values = values * kind(white_level(target) / white_level(source))
    units = target if target.kind == "u" else source  # float output keeps the input's units
    top = white_level(units)
    if post == "abs":
        values = np.abs(values)
    elif post == "shift":  # half the range: 128 for uint8, 32768 for uint16, 0.5 for float
        values = values + kind((top + 1) / 2 if units.kind == "u" else top / 2)
    elif post == "stretch":
        low, high = float(values.min()), float(values.max())
        scale = top / (high - low) if high > low else 0.0
        values = (values - kind(low)) * kind(scale)
    if target.kind == "u":
        return np.clip(np.rint(values), 0, top).astype(target)
    return values.astype(target, copy=False)


def convert_alpha(alpha: np.ndarray, target: np.dtype) -> np.ndarray:
    """Alpha in the output's depth: rescaled between integer depths, saturated from float."""
    if alpha.dtype == target:
        return alpha
    if target.kind == "u" and alpha.dtype.kind == "u":
        scaled = alpha.astype(np.float32) * np.float32(white_level(target) / white_level(alpha.dtype))
        return np.clip(np.rint(scaled), 0, white_level(target)).astype(target)
    if target.kind == "u":  # float alpha in 0..1 (or the input's units) -> saturate
        return np.clip(np.rint(alpha), 0, white_level(target)).astype(target)
    return alpha.astype(target)


def attach_alpha(out: np.ndarray, alpha: np.ndarray | None, target: np.dtype) -> np.ndarray:
    """``out`` with ``alpha`` (already on the output's grid) as its last channel."""
    if alpha is None:
        return out
    if out.ndim == 2:
        out = out[:, :, None]
    return np.dstack([out, convert_alpha(alpha, target)])
