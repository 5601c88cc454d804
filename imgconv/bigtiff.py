"""TIFF and BigTIFF filtered band by band: an image larger than memory in, a tiled BigTIFF out.

The input is read lazily through ``tifffile``'s Zarr view (``aszarr=True``: only the strips
or tiles a band touches are decoded), the bands are filtered by
:func:`imgconv.streaming.filter_bands` (exactly as in memory), and each band's tiles are
handed to ``tifffile.imwrite`` as soon as they are done, so memory holds about one band.
Needs the ``big`` extra (``pip install 'imgconv[big]'``: ``tifffile``, ``zarr``, and
``imagecodecs`` for the codecs ``tifffile`` does not carry itself).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Iterator

import numpy as np

from .dtypes import check_supported
from .errors import ImageReadError, ImageWriteError, UsageError
from .options import FilterOptions
from .streaming import filter_bands, halo

__all__ = ["filter_tiff", "COMPRESSIONS", "DEFAULT_MEMORY"]

COMPRESSIONS = ("zlib", "zstd", "lzw", "none")
"""Compressions of the BigTIFF written (zlib is deflate; zstd needs imagecodecs)."""
DEFAULT_MEMORY = 512 << 20
"""Bytes a band may take when none are given (the band's input, its output and the work)."""


def _modules():  # noqa: ANN202
    try:
        import tifffile
        import zarr
    except ImportError:
        raise UsageError("streaming TIFF files needs tifffile and zarr: pip install 'imgconv[big]'") from None
    return tifffile, zarr


def band_height(width: int, channels: int, itemsize: int, tile: int, memory: int, reach: int) -> int:
    """Rows per band: a multiple of the tile height (tiles are written whole), such that
    the band's input rows (with the halo) and about 12 bytes a value of work and output fit
    in ``memory``; at least one tile.

    >>> band_height(10_000, 3, 1, 256, 512 << 20, 30)  # a 10,000-pixel-wide RGB image
    1280
    """
    per_row = width * channels * (itemsize + 12)
    rows = max(1, memory // per_row - reach)
    return max(tile, rows // tile * tile)


def filter_tiff(
    source: str | os.PathLike,
    target: str | os.PathLike,
    kernel: Any,
    options: FilterOptions | None = None,
    *,
    memory: int = DEFAULT_MEMORY,
    tile: int = 256,
    compression: str = "zlib",
    overwrite: bool = False,
) -> dict:
    """Filter the TIFF ``source`` into a tiled BigTIFF ``target``, band by band.

    The result equals :func:`imgconv.apply` on the decoded image, pixel for pixel (see
    :mod:`imgconv.streaming` for what streams). ``memory`` bounds a band (bytes), ``tile``
    is the output's tile side (a multiple of 16), ``compression`` one of
    :data:`COMPRESSIONS`. The target is written to a temporary file beside it and renamed
    when whole; an existing target is replaced only with ``overwrite``, never the source.
    Returns what was done: ``shape``, ``dtype``, ``band_rows``, ``bands``.
    """
    tifffile, zarr = _modules()
    options = options or FilterOptions()
    source, target = os.fspath(source), os.fspath(target)
    if compression not in COMPRESSIONS:
        raise UsageError(f"unknown compression {compression!r}; expected one of: {', '.join(COMPRESSIONS)}")
    if tile < 16 or tile % 16:
        raise UsageError(f"the tile side must be a multiple of 16, got {tile}")
    if os.path.exists(target):
        if os.path.exists(source) and os.path.samefile(source, target):
            raise ImageWriteError("output is the input itself; imgconv never overwrites an input", target)
        if not overwrite:
            raise ImageWriteError("output exists; use --overwrite to replace it", target)
    try:
        image = zarr.open(tifffile.imread(source, aszarr=True), mode="r")
    except FileNotFoundError:
        raise ImageReadError("no such file", source) from None
    except Exception as error:  # noqa: BLE001 - whatever a hostile file makes tifffile raise: one line
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ImageReadError(f"not a TIFF imgconv can stream: {reason}", source) from None
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
        raise ImageReadError(f"a TIFF of shape {image.shape} is not one image of 1 to 4 channels", source)
    check_supported(image.dtype)
    height, width = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    above, below = halo(kernel, options)
    rows = band_height(width, channels, image.dtype.itemsize, tile, memory, above + below)
    bands = filter_bands(lambda y0, y1: image[y0:y1], height, kernel, options, band_rows=rows)
    first_y, first = next(bands)  # the output's dtype and channels are the first band's
    folder = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(prefix=".imgconv-", suffix=".tif", dir=folder)
    os.close(handle)
    try:
        tifffile.imwrite(
            temporary, _tiles([(first_y, first)], bands, tile), shape=(height, width) + first.shape[2:],
            dtype=first.dtype, tile=(tile, tile), bigtiff=True,
            compression=None if compression == "none" else compression,
            photometric="rgb" if first.ndim == 3 and first.shape[2] in (3, 4) else "minisblack",
        )
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return {"shape": [height, width] + list(first.shape[2:]), "dtype": str(first.dtype), "band_rows": rows,
            "bands": -(-height // rows)}


def _tiles(head: list, rest: Iterator[tuple[int, np.ndarray]], tile: int) -> Iterator[np.ndarray]:
    """Each band's tiles, row of tiles by row of tiles, left to right (as TIFF stores them)."""
    for bands in (head, rest):
        for _, band in bands:
            for y in range(0, band.shape[0], tile):
                for x in range(0, band.shape[1], tile):
                    yield band[y : y + tile, x : x + tile]
