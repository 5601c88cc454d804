"""Stride, dilation, padding and transposition, composed around the engine's plain call.

Every engine computes the same-size correlation; the rest is composed here, once, for
both engines: dilation inserts zeros into the kernel, ``valid``/``full``/numeric padding
pads the image with the border mode and keeps the positions where the kernel fits, a
stride samples ``[::s]``, and a transposed convolution correlates the zero-inserted image
with the flipped kernel over a zero border, then crops the padding. :func:`composed`
says what the engine is handed; :func:`correlate` hands it over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..borders import get_border
from ..engines import CorrelationSpec, Engine
from ..geometry import Geometry

__all__ = ["Composed", "composed", "correlate", "alpha_through"]

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


@dataclass(frozen=True, eq=False)
class Composed:
    """One engine call with the geometry around it: what the engine is handed (``shape``,
    ``spec``), how the image becomes that (:meth:`prepare`) and how the engine's
    same-size result becomes the output (:meth:`finish`)."""

    shape: tuple[int, ...]  # of the image the engine correlates (padded, zero-inserted ...)
    spec: CorrelationSpec  # dilated, flipped or re-anchored
    geometry: Geometry
    border: CorrelationSpec  # the caller's spec: its border and value pad the image

    def prepare(self, image: np.ndarray) -> np.ndarray:
        g = self.geometry
        if g.is_plain or (g.padding == "same" and not g.transposed):
            return image
        rows, cols = self.spec.kernel.shape
        if g.transposed:  # zero-inserted, then a zero border of the kernel's size - 1
            padded = _ZERO.pad(_zero_insert(image, *g.stride), rows - 1, rows - 1, cols - 1, cols - 1)
        else:
            py, px = _pads(g, self.spec)
            padded = self.border.border.pad(image, py, py, px, px, self.border.border_value)
        assert padded.shape == self.shape, (padded.shape, self.shape)
        return padded

    def finish(self, out: np.ndarray) -> np.ndarray:
        g = self.geometry
        if g.is_plain:
            return out
        rows, cols = self.spec.kernel.shape
        if g.transposed or g.padding != "same":  # only where the kernel lies inside
            out = out[: self.shape[0] - rows + 1, : self.shape[1] - cols + 1]
        if g.transposed:
            py, px = _pads(g, self.spec)
            return out[py : out.shape[0] - py, px : out.shape[1] - px]
        sy, sx = g.stride
        return out[::sy, ::sx]


def composed(shape: tuple[int, ...], spec: CorrelationSpec, geometry: Geometry) -> Composed:
    """The engine call for an image of ``shape`` with ``geometry`` around it."""
    shape = tuple(shape)
    if geometry.is_plain:
        return Composed(shape, spec, geometry, spec)
    call = _dilated(spec, geometry.dilation)
    rows, cols = call.kernel.shape
    if geometry.transposed:  # the flipped kernel over the zero-inserted image
        sy, sx = geometry.stride
        grown = ((shape[0] - 1) * sy + 2 * rows - 1, (shape[1] - 1) * sx + 2 * cols - 1)
        flipped = np.ascontiguousarray(call.kernel[::-1, ::-1])
        return Composed(grown + shape[2:], replace(call, kernel=flipped, anchor=(0, 0)), geometry, spec)
    if geometry.padding == "same":
        return Composed(shape, call, geometry, spec)
    py, px = _pads(geometry, call)
    padded = (shape[0] + 2 * py, shape[1] + 2 * px) + shape[2:]
    return Composed(padded, replace(call, anchor=(0, 0)), geometry, spec)


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
    call = composed(image.shape, spec, geometry)
    return call.finish(engine.correlate(call.prepare(image), call.spec, float_output=float_output))


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
