"""``imgconv.apply`` for what people hold: numpy arrays, dask arrays (lazily), Pillow images.

Dask arrays are filtered lazily: ``imgconv.apply(dask_array, kernel)`` is a dask array.

Each output chunk is one task that receives the input rows its computation reads (the
kernel's reach, and the engine's tiles of rows where it computes in tiles) and computes
them with :class:`imgconv.streaming.Stream`, so the result equals ``imgconv.apply`` on the
same data as a numpy array, bit for bit, whatever the input's chunks (smaller than the
kernel included), every border mode (``wrap`` reads the far side's rows) and both engines.

The output is chunked by rows only (each chunk holds whole rows: a row's columns are filtered
together); its row chunks follow the input's (divided by the stride), rounded to whole tiles
of the engine's rows where it has any. Compare ``dask_image.ndfilters.correlate``, which
uses ``map_overlap``: it truncates values instead of rounding them, and wraps chunks
rather than the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import UsageError
from .filtering import apply as apply_array
from .options import FilterOptions
from .streaming import Stream

__all__ = ["apply", "apply_dask", "apply_pillow", "is_dask_array"]


def is_dask_array(image: Any) -> bool:
    """Whether ``image`` is a dask array (known without importing dask)."""
    return type(image).__module__.startswith("dask.") and hasattr(image, "dask")


def apply(image: Any, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> Any:
    """Filter ``image`` with ``kernel``: :func:`imgconv.filtering.apply` for a numpy array,
    :func:`apply_dask` (lazily) for a dask array, :func:`apply_pillow` for a Pillow image.

    >>> import numpy as np
    >>> apply(np.array([[0, 0, 9, 9]], dtype=np.uint8), [[-1, 0, 1]]).tolist()
    [[0, 9, 9, 0]]
    """
    if is_dask_array(image):
        return apply_dask(image, kernel, options, **kwargs)
    if type(image).__module__.startswith("PIL."):
        return apply_pillow(image, kernel, options, **kwargs)
    return apply_array(image, kernel, options, **kwargs)


# Pillow's modes that hold what imgconv filters, by the dtype and channels of their arrays
_PILLOW_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "F")
_MODE_OF = {("uint8", 1): "L", ("uint8", 2): "LA", ("uint8", 3): "RGB", ("uint8", 4): "RGBA",
            ("uint16", 1): "I;16", ("float32", 1): "F"}


def apply_pillow(image: Any, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> Any:
    """A Pillow image filtered: a Pillow image of the same mode (L, LA, RGB, RGBA, I;16 or F),
    its ``info`` (ICC profile, EXIF, resolution ...) kept. Other modes, or a result Pillow
    cannot hold in that mode (a float RGB from ``depth="float32"``), are a :class:`UsageError`
    saying what to convert to.

    >>> from PIL import Image
    >>> out = apply_pillow(Image.new("RGB", (4, 3), (10, 20, 30)), "blur")
    >>> out.mode, out.size, out.getpixel((0, 0))
    ('RGB', (4, 3), (10, 20, 30))
    """
    from PIL import Image

    if image.mode not in _PILLOW_MODES:
        hint = {"P": "'RGBA')", "1": "'L')", "I": "'F')", "I;16B": "'I;16')"}.get(image.mode, "'RGB')")
        raise UsageError(f"Pillow images of mode {image.mode} are not filtered; convert it first: "
                         f"image.convert({hint}")
    out = apply_array(np.asarray(image), kernel, options, **kwargs)
    channels = 1 if out.ndim == 2 else out.shape[2]
    mode = _MODE_OF.get((out.dtype.name, channels))
    if mode is None:
        raise UsageError(f"Pillow has no mode for {channels}-channel {out.dtype} images; pass a numpy array "
                         f"(numpy.asarray(image)) to get this result")
    result = Image.fromarray(out if out.ndim == 2 or channels > 1 else out[:, :, 0])
    assert result.mode == mode, (result.mode, mode)
    result.info.update(image.info)  # the ICC profile, EXIF, resolution: the same picture, filtered
    return result


def apply_dask(array: Any, kernels: Any, options: FilterOptions | None = None, **kwargs: Any) -> Any:
    """A lazy dask array: ``kernels`` (a kernel or a list of them, applied in turn) over the
    2-D or 3-D dask ``array`` (H x W or H x W x C), equal to :func:`imgconv.apply` of the same
    data as numpy. Options as for :func:`imgconv.apply`; a transposed convolution and
    ``post="stretch"`` do not apply lazily (a :class:`UsageError` says so).

    >>> import dask.array as da
    >>> image = da.from_array(np.arange(48, dtype=np.uint8).reshape(8, 6), chunks=(3, 4))
    >>> out = apply_dask(image, "laplacian")
    >>> out.chunks[1], bool((out.compute() == apply_array(image.compute(), "laplacian")).all())
    ((6,), True)
    """
    import dask
    import dask.array as da

    if options is None:
        options = FilterOptions(**kwargs)
    elif kwargs:
        raise UsageError("give options either as a FilterOptions or as keywords, not both")
    if array.ndim not in (2, 3):
        raise UsageError(f"a dask image must be H x W or H x W x C, got {array.ndim} dimensions")
    if any(np.isnan(size) for sizes in array.chunks for size in sizes):
        raise UsageError("the dask array's chunk sizes are unknown; call .compute_chunk_sizes() on it first")
    like = np.zeros((1,) + tuple(array.shape[1:]), array.dtype)
    stream = Stream(_unread, array.shape[0], kernels, options, like=like)  # plans; reads nothing
    out_like = stream.output_like()
    per_chunk = max(1, max(array.chunks[0]) // options.geometry.stride[0])
    starts = stream.band_starts(per_chunk) + [stream.height]
    blocks = []
    for y0, y1 in zip(starts, starts[1:]):
        runs = stream.reads(y0, y1)
        pieces = [array[lo:hi] for lo, hi in runs]
        task = dask.delayed(_rows, pure=True)(pieces, runs, array.shape[0], kernels, options, like, y0, y1)
        blocks.append(da.from_delayed(task, (y1 - y0,) + out_like.shape[1:], dtype=out_like.dtype))
    return da.concatenate(blocks, axis=0)


def _unread(y0: int, y1: int) -> np.ndarray:
    raise AssertionError("the graph is built without reading the image")


def _rows(pieces: list, runs: list, height: int, kernels: Any, options: FilterOptions, like: np.ndarray,
          y0: int, y1: int) -> np.ndarray:
    """Output rows ``y0 .. y1-1``, from the input rows of ``runs`` (``pieces``, as numpy)."""
    held = [(lo, hi, np.asarray(piece)) for (lo, hi), piece in zip(runs, pieces)]

    def read(a: int, b: int) -> np.ndarray:
        for lo, hi, rows in held:
            if lo <= a and b <= hi:
                return rows[a - lo : b - lo]
        raise AssertionError(f"rows {a}..{b} were not handed to this task")

    return Stream(read, height, kernels, options, like=like).rows(y0, y1)
