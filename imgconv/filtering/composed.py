"""Stride, dilation, padding and transposition, composed around the engine's plain call.

Every engine computes the same-size correlation; the rest is composed here, once, for
both engines: dilation inserts zeros into the kernel, ``valid``/``full``/numeric padding
pads the image with the border mode and keeps the positions where the kernel fits, a
stride samples ``[::s]``, and a transposed convolution correlates the zero-inserted image
with the flipped kernel over a zero border, then crops the padding. :func:`engine_call`
says what the engine is handed; :func:`correlate` hands it over.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..borders import get_border
from ..engines import CorrelationSpec, Engine
from ..geometry import Geometry

__all__ = ["engine_call", "correlate", "alpha_through"]

_ZERO = get_border("constant")  # the zero border around a transposed convolution's input


def _dilated(spec: CorrelationSpec, dilation: tuple[int, int]) -> CorrelationSpec:
    """The kernel with ``d - 1`` zeros between its taps, and its anchor moved with them."""
    dy, dx = dilation
    if (dy, dx) == (1, 1):
        return spec
    rows, cols = spec.kernel.shape
    kernel = np.zeros(((rows - 1) * dy + 1, (cols - 1) * dx + 1), np.float32)
    kernel[::dy, ::dx] = spec.kernel
    ax, ay = spec.anchor
    return replace(spec, kernel=kernel, anchor=(ax * dx, ay * dy))


def _pads(geometry: Geometry, spec: CorrelationSpec) -> tuple[int, int]:
    """Rows and columns of padding on each side (``valid``/``full``/numeric padding)."""
    rows, cols = spec.kernel.shape
    return geometry.pixels(0, rows), geometry.pixels(1, cols)


def engine_call(shape: tuple[int, ...], spec: CorrelationSpec, geometry: Geometry
                ) -> tuple[tuple[int, ...], CorrelationSpec]:
    """What :func:`correlate` hands the engine for an image of ``shape``: the shape of the
    padded or zero-inserted image, and the dilated, flipped or re-anchored spec."""
    shape = tuple(shape)
    if geometry.is_plain:
        return shape, spec
    spec = _dilated(spec, geometry.dilation)
    rows, cols = spec.kernel.shape
    if geometry.transposed:  # zero-inserted, then a zero border of the kernel's size - 1
        sy, sx = geometry.stride
        grown = ((shape[0] - 1) * sy + 2 * rows - 1, (shape[1] - 1) * sx + 2 * cols - 1)
        flipped = np.ascontiguousarray(spec.kernel[::-1, ::-1])
        return grown + shape[2:], replace(spec, kernel=flipped, anchor=(0, 0))
    if geometry.padding == "same":
        return shape, spec
    py, px = _pads(geometry, spec)
    return (shape[0] + 2 * py, shape[1] + 2 * px) + shape[2:], replace(spec, anchor=(0, 0))


def _valid(engine: Engine, padded: np.ndarray, call: CorrelationSpec, float_output: bool) -> np.ndarray:
    """Correlation only where the kernel lies inside ``padded`` (``call``: anchored top-left)."""
    rows, cols = call.kernel.shape
    out = engine.correlate(padded, call, float_output=float_output)
    return out[: padded.shape[0] - rows + 1, : padded.shape[1] - cols + 1]


def _zero_insert(image: np.ndarray, sy: int, sx: int) -> np.ndarray:
    """``s - 1`` zero rows/columns between pixels: the input of a transposed convolution."""
    rows, cols = image.shape[:2]
    up = np.zeros(((rows - 1) * sy + 1, (cols - 1) * sx + 1) + image.shape[2:], image.dtype)
    up[::sy, ::sx] = image
    return up


def correlate(engine: Engine, image: np.ndarray, spec: CorrelationSpec, geometry: Geometry, *,
              float_output: bool) -> np.ndarray:
    """The engine's correlation of ``image`` with stride, dilation, padding and
    transposition around it (see the module docstring)."""
    shape, call = engine_call(image.shape, spec, geometry)
    if geometry.is_plain:
        return engine.correlate(image, call, float_output=float_output)
    if geometry.transposed:
        rows, cols = call.kernel.shape
        py, px = _pads(geometry, call)
        padded = _ZERO.pad(_zero_insert(image, *geometry.stride), rows - 1, rows - 1, cols - 1, cols - 1)
        assert padded.shape == shape, (padded.shape, shape)
        full = _valid(engine, padded, call, float_output)
        return full[py : full.shape[0] - py, px : full.shape[1] - px]
    if geometry.padding == "same":
        out = engine.correlate(image, call, float_output=float_output)
    else:
        py, px = _pads(geometry, call)
        padded = spec.border.pad(image, py, py, px, px, spec.border_value)
        assert padded.shape == shape, (padded.shape, shape)
        out = _valid(engine, padded, call, float_output)
    sy, sx = geometry.stride
    return out[::sy, ::sx]


def alpha_through(alpha: np.ndarray, spec: CorrelationSpec, geometry: Geometry, shape: tuple[int, int]) -> np.ndarray:
    """Alpha, unchanged in value, carried to the output's grid.

    Each output pixel takes the alpha of the input pixel under the kernel's anchor (beyond
    the edge: the border mode, transparent for ``constant``). A transposed convolution has
    no such pixel; its alpha is the input's, enlarged by nearest neighbour.
    """
    if geometry.is_plain:
        return alpha
    if geometry.transposed:
        rows = np.arange(shape[0]) * alpha.shape[0] // shape[0]
        cols = np.arange(shape[1]) * alpha.shape[1] // shape[1]
        return alpha[rows][:, cols]
    spec = _dilated(spec, geometry.dilation)
    sy, sx = geometry.stride
    if geometry.padding == "same":
        return alpha[::sy, ::sx]
    py, px = _pads(geometry, spec)
    padded = spec.border.pad(alpha, py, py, px, px)
    ax, ay = spec.anchor
    return padded[ay : ay + (shape[0] - 1) * sy + 1 : sy, ax : ax + (shape[1] - 1) * sx + 1 : sx]
