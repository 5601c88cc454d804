"""Filtering an image in bands of rows, each read with a halo of the kernel's reach.

The first piece of images larger than memory (issue 16): :func:`filter_bands` asks a reader
for the rows each band needs and yields the band's output, exactly the rows that
:func:`imgconv.apply` gives for the whole image. The rows beyond the image's top and bottom
come from the border mode over the whole image's height (``wrap`` fetches the far side's
rows, ``constant`` fills the border value), so a band's own edges never act as the image's.
Left and right are the full rows, as in memory.

Exact where each output pixel depends only on its neighbourhood: both engines' direct and
separable routes. Where a result depends on the image's size as a whole, streaming is
refused: ``--post stretch`` (a min-max over the whole image). Kernels in the range where
``cv2.filter2D`` (and the numpy engine's FFT route) transform tiles rather than sum directly
carry transform noise that depends on the tiling, so their bands can differ from the
in-memory result by one level on values within that noise of a ``.5``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from .borders import get_border
from .errors import UsageError
from .filtering import Plan
from .kernels import load_kernel
from .options import FilterOptions

__all__ = ["filter_bands", "halo"]

RowReader = Callable[[int, int], np.ndarray]
"""``read(y0, y1)``: image rows ``y0 .. y1-1`` (H x W or H x W x C), ``0 <= y0 < y1 <= height``."""


def halo(kernel: Any, options: FilterOptions | None = None) -> tuple[int, int]:
    """Rows above and below an output row that its value depends on: the kernel's reach
    (its anchor counted, and the mirror image of it for ``--mode convolve``).

    >>> halo("sobel-x"), halo([[1], [1], [1], [1]]), halo([[1], [1], [1], [1]], FilterOptions(mode="convolve"))
    ((1, 1), (2, 1), (1, 2))
    """
    options = options or FilterOptions()
    kernel = load_kernel(kernel)
    if options.mode == "convolve":
        kernel = kernel.flipped()
    rows = kernel.shape[0]
    above = kernel.anchor[1]  # type: ignore[index]
    return above, rows - 1 - above


def filter_bands(
    read: RowReader,
    height: int,
    kernel: Any,
    options: FilterOptions | None = None,
    *,
    band_rows: int = 256,
) -> Iterator[tuple[int, np.ndarray]]:
    """Filter an image of ``height`` rows band by band: yields ``(y0, rows)`` in order,
    where ``rows`` are output rows ``y0 .. y0 + len(rows) - 1``, as :func:`imgconv.apply`
    computes them for the whole image.

    ``read`` gives image rows (see :data:`RowReader`); each band reads at most
    ``band_rows`` plus the halo (:func:`halo`), and a ``wrap`` border's far rows.
    Stride, dilation, padding other than ``same`` and transposed convolution are not
    streamed yet; nor is ``--post stretch`` (a :class:`UsageError` says so).

    >>> image = np.arange(60, dtype=np.uint8).reshape(10, 6)
    >>> bands = filter_bands(lambda a, b: image[a:b], 10, "laplacian", band_rows=4)
    >>> out = np.concatenate([rows for _, rows in bands])
    >>> import imgconv
    >>> bool((out == imgconv.apply(image, "laplacian")).all())
    True
    """
    options = options or FilterOptions()
    if not options.geometry.is_plain:
        raise UsageError("streaming in bands takes stride 1, dilation 1 and --padding same for now")
    if options.post == "stretch":
        raise UsageError("--post stretch scales by the whole image's minimum and maximum; it cannot stream in bands")
    border = get_border(options.border)
    if options.premultiply and border.constant:
        raise UsageError("--premultiply with a constant border does not stream in bands yet")
    if band_rows < 1:
        raise UsageError(f"band_rows must be at least 1, got {band_rows}")
    kernel = load_kernel(kernel)
    above, below = halo(kernel, options)
    for y0 in range(0, height, band_rows):
        y1 = min(height, y0 + band_rows)
        sources = _band_rows(border, height, y0 - above, y1 + below)
        band = _gather(read, sources, border, options)
        out = Plan.make(band, kernel, options).run()
        yield y0, out[above : above + (y1 - y0)]


def _band_rows(border: Any, height: int, start: int, stop: int) -> np.ndarray:
    """The image row each of the padded positions ``start .. stop-1`` copies (-1: constant)."""
    before = max(0, -start)
    table = border.indices(height, before, max(0, stop - height))  # positions -before ...
    return table[start + before : stop + before]


def _gather(read: RowReader, sources: np.ndarray, border: Any, options: FilterOptions) -> np.ndarray:
    """The band's rows, each run of consecutive image rows read once (a wrap border's far
    side is a run of its own, so a band never reads the whole image)."""
    wanted = np.unique(sources[sources >= 0])
    breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
    blocks = {}
    for run in np.split(wanted, breaks):
        lo, hi = int(run[0]), int(run[-1]) + 1
        block = np.asarray(read(lo, hi))
        for row in range(lo, hi):
            blocks[row] = block[row - lo]
    sample = next(iter(blocks.values()))
    fill = None
    if (sources < 0).any():  # the constant border, as the image's dtype holds the value
        fill = np.full(sample.shape, border.fill_value(options.border_value, sample.dtype), sample.dtype)
    return np.ascontiguousarray(np.stack([fill if source < 0 else blocks[source] for source in sources.tolist()]))
