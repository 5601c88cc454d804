"""The engine interface: what every convolution engine is given and must return.

An engine does one thing: correlate an image with a float32 kernel, anchored, with a
border mode and an added constant (``delta``), and return either the image's own depth
(rounded half to even and saturated, like ``cv2.filter2D``) or float32. Everything around
it (kernel flipping for ``convolve``, divisor folding, alpha, ``--post``, ``--depth``)
lives in :mod:`imgconv.filtering`, once, for every engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:  # numpy is imported by the engines themselves, not at CLI start-up
    import numpy as np

    from ..borders import Border

__all__ = ["CorrelationSpec", "Engine", "RowTiles", "NO_TILES"]


@dataclass(frozen=True, eq=False)
class CorrelationSpec:
    """One correlation to run.

    Attributes
    ----------
    kernel : np.ndarray
        2-D float32 effective weights (the divisor already applied).
    anchor : (int, int)
        ``(x, y)``: the kernel cell over the output pixel.
    border : Border
        How the image is extended beyond its edges.
    border_value : float
        The value of a ``constant`` border, in the image's units.
    delta : float
        Added to every weighted sum (the kernel's ``offset``).
    """

    kernel: np.ndarray
    anchor: tuple[int, int]
    border: Border
    border_value: float = 0.0
    delta: float = 0.0

    def padding(self) -> tuple[int, int, int, int]:
        """Rows above, rows below, columns left, columns right that the kernel reaches."""
        rows, cols = self.kernel.shape
        x, y = self.anchor
        return y, rows - 1 - y, x, cols - 1 - x


class RowTiles(NamedTuple):
    """Where a correlation's rounding depends on more than each pixel's neighbourhood.

    A transform (OpenCV's DFT, the numpy engine's FFT route) computes its output in tiles of
    ``period`` rows, the first beginning at output row ``first`` (0, or above the image where
    the engine pads it first); a tile's rounding noise depends on all the rows it reads. So
    a band of the image (:mod:`imgconv.streaming`) gives the whole image's values only
    where its tiles are the whole image's tiles, read from the same rows, and where it is
    at least ``min_rows`` tall (below that the engine would plan the call otherwise).
    ``period`` 1: each output pixel depends on its neighbourhood alone.
    """

    period: int = 1
    first: int = 0
    min_rows: int = 0


NO_TILES = RowTiles()


class Engine(Protocol):
    """A convolution engine."""

    name: str

    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        """Correlate ``image`` (H x W or H x W x C; uint8, uint16 or float32).

        Returns an array of the same shape: float32 when ``float_output``, else the
        image's dtype, rounded half to even and saturated.
        """
        ...

    def explain(
        self, image_shape: tuple[int, ...], dtype: "np.dtype", spec: CorrelationSpec, *, float_output: bool = False
    ) -> str:
        """One line saying which route :meth:`correlate` takes for such an image (``--explain``)."""
        ...

    def row_tiles(
        self, image_shape: tuple[int, ...], dtype: "np.dtype", spec: CorrelationSpec, *, float_output: bool = False
    ) -> RowTiles:
        """The tiles of rows :meth:`correlate` computes such an image in (:class:`RowTiles`)."""
        ...
