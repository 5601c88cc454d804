"""Zarr images: a ``.zarr`` folder read lazily, row by row, and written band by band.

A Zarr input is one array (zarr v2 or v3), or an OME-Zarr image: a group whose
``multiscales`` metadata names its full-resolution array (``0``) and its axes. The axes
imgconv reads: ``yx``, ``yxc``, ``cyx`` (channels first; each read is transposed to rows x
columns x channels) and ``tczyx``/``czyx``/``zyx`` with one time point and one plane.

A Zarr output is written by whole chunks only: its chunks are ``tile`` rows tall and the
writer hands it whole rows of chunks (the last may be short), so no chunk is ever written
by two bands (concurrent writes of one chunk would each rewrite it whole, and one would
lose the other's rows). It is built in a temporary folder beside the target and renamed
into place when complete. Needs the ``big`` extra (``zarr``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import ImageReadError, ImageWriteError, UsageError

__all__ = ["is_zarr", "open_zarr", "write_zarr", "write_ome_zarr", "create_zarr", "replace_folder", "ZARR_COMPRESSIONS"]

ZARR_COMPRESSIONS = ("zstd", "deflate", "none")
"""The --compression choices for a Zarr output (zstd: Blosc's zstd with byte shuffle)."""


def is_zarr(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a Zarr image: a ``.zarr`` folder (or one to write).

    >>> is_zarr("scan.zarr"), is_zarr("scan.ZARR/"), is_zarr("scan.tif")
    (True, True, False)
    """
    return os.fspath(path).rstrip("/\\").lower().endswith(".zarr")


def _zarr():  # noqa: ANN202
    try:
        import zarr
    except ImportError:
        raise UsageError("Zarr images need zarr: pip install 'imgconv[big]'") from None
    return zarr


def open_zarr(source: str) -> tuple[Callable[[int, int], np.ndarray], tuple[int, ...], np.dtype]:
    """``(read, shape, dtype)`` of the Zarr image at ``source``: ``read(y0, y1)`` decodes
    rows ``y0 .. y1-1`` (H x W or H x W x C); ``shape`` is (H, W) or (H, W, C)."""
    zarr = _zarr()
    if not os.path.isdir(source):
        raise ImageReadError("no such Zarr folder", source)
    try:
        node = zarr.open(source, mode="r")
    except Exception as error:  # noqa: BLE001 - whatever a damaged store makes zarr raise: one line
        raise ImageReadError(f"not a Zarr image: {_first_line(error)}", source) from None
    axes = None
    if not hasattr(node, "shape"):  # a group: an OME-Zarr image names its arrays and axes
        multiscales = node.attrs.get("multiscales") or node.attrs.get("ome", {}).get("multiscales")
        if not multiscales:
            raise ImageReadError("a Zarr group without OME multiscales metadata: name its array", source)
        scale = multiscales[0]
        axes = "".join(axis["name"] if isinstance(axis, dict) else axis for axis in scale.get("axes", []))
        try:
            node = node[scale["datasets"][0]["path"]]
        except Exception as error:  # noqa: BLE001
            raise ImageReadError(f"its full-resolution array is missing: {_first_line(error)}", source) from None
    array = node
    axes = axes or {2: "yx", 3: "yxc" if array.shape[-1] <= 4 else "cyx"}.get(array.ndim, "")
    if len(axes) != array.ndim:
        raise ImageReadError(f"a Zarr array of shape {array.shape} with axes {axes!r}", source)
    index = tuple(0 if axis in "tz" else slice(None) for axis in axes)
    extra = {axes[i]: array.shape[i] for i in range(array.ndim) if axes[i] in "tz" and array.shape[i] != 1}
    kept = "".join(axis for axis in axes if axis not in "tz")
    if extra or kept not in ("yx", "yxc", "cyx"):
        raise ImageReadError(f"a Zarr image of axes {axes} (shape {array.shape}) is not one 2-D image", source)
    shape = tuple(array.shape[axes.index(a)] for a in kept)
    if kept == "cyx":
        shape = shape[1:] + shape[:1]
    if len(shape) == 3 and not 1 <= shape[2] <= 4:
        raise ImageReadError(f"a Zarr image of {shape[2]} channels (1 to 4 are filtered)", source)
    def read(y0: int, y1: int) -> np.ndarray:
        rows = list(index)
        rows[axes.index("y")] = slice(y0, y1)
        try:
            block = np.asarray(array[tuple(rows)])
        except Exception as error:  # noqa: BLE001 - a damaged chunk: one line naming the rows
            raise ImageReadError(f"a damaged Zarr chunk: rows {y0}-{y1 - 1} ({_first_line(error)})", source) from None
        return np.ascontiguousarray(np.moveaxis(block, 0, -1)) if kept == "cyx" else block

    return read, shape, np.dtype(array.dtype)


def write_zarr(target: str, blocks: Iterable[tuple[int, np.ndarray]], shape: tuple[int, ...], dtype: np.dtype,
               *, tile: int = 256, compression: str = "zstd", overwrite: bool = False) -> None:
    """Write ``blocks`` (``(y0, rows)`` in order, each ``tile`` rows but the last) as a Zarr
    array of ``shape`` at ``target``, in chunks of ``tile`` x ``tile`` (x channels)."""
    if os.path.lexists(target) and not overwrite:
        raise ImageWriteError("output exists; use --overwrite to replace it", target)
    folder = os.path.dirname(os.path.abspath(target))
    temporary = tempfile.mkdtemp(prefix=".imgconv-", suffix=".zarr", dir=folder)
    try:
        array = create_zarr(temporary, shape, dtype, chunks=(tile, tile), compression=compression)
        for y0, rows in blocks:
            array[y0 : y0 + len(rows)] = rows  # whole rows of chunks (see the module docstring)
        replace_folder(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def create_zarr(path: str, shape: tuple[int, ...], dtype: np.dtype, *, chunks: tuple[int, int],
                compression: str = "zstd") -> Any:
    """An empty Zarr v3 array at ``path``, in chunks of ``chunks`` (rows, columns; all the
    channels), compressed as ``compression`` (:data:`ZARR_COMPRESSIONS`)."""
    zarr = _zarr()
    return zarr.create_array(path, shape=shape, chunks=tuple(chunks) + tuple(shape[2:]), dtype=dtype,
                             compressors=_codec(compression), zarr_format=3, overwrite=True)


def _codec(compression: str) -> list | None:
    """Zarr v3's compressors for ``compression`` (:data:`ZARR_COMPRESSIONS`)."""
    from zarr.codecs import BloscCodec, GzipCodec

    if compression not in ZARR_COMPRESSIONS:
        raise UsageError(f"--compression {compression} is not for Zarr outputs; they take: {', '.join(ZARR_COMPRESSIONS)}")
    return {"zstd": [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")], "deflate": [GzipCodec(level=5)],
            "none": None}[compression]


def write_ome_zarr(target: str, blocks: Iterable[tuple[int, np.ndarray]], shape: tuple[int, ...], dtype: np.dtype,
                   *, tile: int = 256, compression: str = "zstd", overwrite: bool = False,
                   levels: Callable[[], Sequence[Any]] = tuple) -> None:
    """Write ``blocks`` (as for :func:`write_zarr`) as an OME-Zarr multiscale image (NGFF
    0.5, Zarr v3) at ``target``: a group whose array ``0`` is the image and ``1``, ``2``
    ... the reduced levels that ``levels()`` gives once the blocks are written (arrays of
    rows, each half the one before). Axes ``y, x``, or ``c, y, x`` for colour: NGFF puts
    the channels first, and so each level is stored channel-first, in ``tile`` x ``tile``
    chunks of every channel."""
    zarr = _zarr()
    if os.path.lexists(target) and not overwrite:
        raise ImageWriteError("output exists; use --overwrite to replace it", target)
    colour = len(shape) == 3
    codec = _codec(compression)
    temporary = tempfile.mkdtemp(prefix=".imgconv-", suffix=".zarr", dir=os.path.dirname(os.path.abspath(target)))
    try:
        group = zarr.open_group(temporary, mode="w", zarr_format=3)

        def level(path: str, level_shape: tuple[int, ...]) -> Any:
            stored = (level_shape[2], *level_shape[:2]) if colour else tuple(level_shape)
            chunks = (level_shape[2], tile, tile) if colour else (tile, tile)
            return group.create_array(path, shape=stored, chunks=chunks, dtype=dtype, compressors=codec)

        def put(array: Any, y0: int, rows: np.ndarray) -> None:  # whole rows of chunks
            if colour:
                array[:, y0 : y0 + len(rows)] = np.moveaxis(rows, -1, 0)
            else:
                array[y0 : y0 + len(rows)] = rows

        full = level("0", shape)
        for y0, rows in blocks:
            put(full, y0, rows)
        reduced = list(levels())
        for k, source in enumerate(reduced, 1):
            array = level(str(k), source.shape)
            for y in range(0, source.shape[0], tile):
                put(array, y, np.asarray(source[y : y + tile]))
        axes = ([{"name": "c", "type": "channel"}] if colour else []) + [
            {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
        datasets = [{"path": str(k), "coordinateTransformations": [
            {"type": "scale", "scale": ([1.0] if colour else []) + [2.0**k, 2.0**k]}]} for k in range(len(reduced) + 1)]
        name = os.path.splitext(os.path.basename(os.path.normpath(target)))[0]
        group.attrs["ome"] = {"version": "0.5", "multiscales": [{"name": name, "axes": axes, "datasets": datasets}]}
        replace_folder(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def replace_folder(new: str, target: str) -> None:
    """Put the folder ``new`` where ``target`` is: the old one moved aside, then removed."""
    if not os.path.lexists(target):
        os.replace(new, target)
        return
    aside = tempfile.mkdtemp(prefix=".imgconv-old-", dir=os.path.dirname(os.path.abspath(target)))
    old = os.path.join(aside, "old")
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(aside, ignore_errors=True)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
