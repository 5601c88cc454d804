"""TIFF, BigTIFF and Zarr filtered band by band: an image larger than memory in, a tiled BigTIFF or a Zarr out.

The input is read lazily through ``tifffile``'s Zarr view (``aszarr=True``: only the strips
or tiles a band touches are decoded), the bands are filtered by
:func:`imgconv.streaming.filter_bands` (exactly as in memory), and each band's tiles are
handed to ``tifffile.imwrite`` as soon as they are done, so memory holds about one band.
Needs the ``big`` extra (``pip install 'imgconv[big]'``: ``tifffile``, ``zarr``, and
``imagecodecs`` for the codecs ``tifffile`` does not carry itself).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import weakref
from queue import Full, Queue
from typing import Any, Iterator

import numpy as np

from ._cpus import usable_cpus
from ._quiet import tifffile_quiet
from .dtypes import check_supported
from .errors import ImageReadError, ImageWriteError, UsageError
from .imageio import TIFF_COMPRESSIONS
from .metadata import Metadata, profile_for, read_tiff_metadata, tiff_tags
from .options import FilterOptions, check_choice
from .pyramid import Pyramid
from .streaming import Stream, regroup
from .zarrs import create_zarr, is_zarr, open_zarr, replace_folder, write_ome_zarr, write_zarr

__all__ = ["filter_tiff", "filter_on_cluster", "plan_tiff", "decoded_size", "decoded_bytes", "default_memory", "parse_size", "check_compression", "COMPRESSIONS",
           "DEFAULT_COMPRESSION", "DEFAULT_MEMORY"]

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF and BigTIFF, both byte orders

COMPRESSIONS = TIFF_COMPRESSIONS
"""Compressions of the BigTIFF written, all but none with the horizontal predictor. zstd
(the default) wrote 4096 rows of a filtered 12000-pixel-wide photo mosaic in 0.51 s and
38 MB, deflate in 1.37 s and 35 MB, LZW in 0.92 s and 42 MB (two threads); deflate is the
one every TIFF reader knows."""
_COMPRESSION_ARGS = {  # tifffile.imwrite's arguments for each
    "zstd": {"compression": "zstd", "predictor": True},
    "deflate": {"compression": "zlib", "predictor": True},
    "lzw": {"compression": "lzw", "predictor": True},
    "none": {"compression": None},
}
DEFAULT_COMPRESSION = "zstd"
DEFAULT_MEMORY = 512 << 20
"""Bytes a band may take when none are given (the band's input, its output and the work)."""


def _modules():  # noqa: ANN202
    try:
        import tifffile
        import zarr
    except ImportError:
        raise UsageError("streaming TIFF files needs tifffile and zarr: pip install 'imgconv[big]'") from None
    return tifffile, zarr


_quiet = tifffile_quiet  # tifffile logs what it finds odd; imgconv says one line


def default_memory() -> int:
    """The ``--max-memory`` default: a quarter of the machine's physical memory (512 MiB
    where it cannot be read), so that a few images in flight still fit."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return DEFAULT_MEMORY


def parse_size(text: str) -> int:
    """``512M``, ``4G``, ``64K`` or a number of bytes.

    >>> parse_size("512M"), parse_size("1.5G"), parse_size("4096")
    (536870912, 1610612736, 4096)
    """
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in units else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        number = -1.0
    if not number > 0:
        raise UsageError(f"--max-memory takes a size such as 512M or 4G, not {text!r}")
    return int(number * units[unit])


@_quiet()
def decoded_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(pixels, bytes)`` of the TIFF at ``path`` decoded (its first image), from its
    header alone; None for a file that is not a TIFF, or without tifffile (the ``big`` extra)."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) not in _MAGIC:
                return None
        import tifffile
    except (OSError, ImportError):
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            pixels = int(np.prod(series.shape[:2]))
            return pixels, int(np.prod(series.shape)) * np.dtype(series.dtype).itemsize
    except Exception:  # noqa: BLE001 - a damaged header: the in-memory reader says what is wrong
        return None


@_quiet()
def filter_tiff(
    source: str | os.PathLike,
    target: str | os.PathLike,
    kernel: Any,
    options: FilterOptions | None = None,
    *,
    memory: int = DEFAULT_MEMORY,
    tile: int = 256,
    compression: str = DEFAULT_COMPRESSION,
    overwrite: bool = False,
    pyramid: bool = False,
    strip: bool = False,
) -> dict:
    """Filter the TIFF or Zarr image ``source`` into a tiled BigTIFF or a Zarr ``target``
    (a ``.zarr`` name), band by band.

    The result equals :func:`imgconv.apply` on the decoded image, pixel for pixel (see
    :mod:`imgconv.streaming` for what streams). ``kernel``: a kernel or a chain (a list).
    ``memory`` bounds a band (bytes), ``tile`` is the output's tile (or chunk) side (a
    multiple of 16), ``compression`` one of :data:`COMPRESSIONS` (for Zarr:
    :data:`~imgconv.zarrs.ZARR_COMPRESSIONS`). The target is written beside itself under a
    temporary name and renamed when whole; an existing target is replaced only with
    ``overwrite``, never the source. Returns what was done: ``shape``, ``dtype``,
    ``band_rows``, ``bands``, ``explanations``, ``levels``. ``pyramid``: a TIFF also gets
    its reduced levels (:mod:`imgconv.pyramid`) as SubIFDs of its first page (a Zarr target
    becomes an OME-Zarr multiscale image: :func:`~imgconv.zarrs.write_ome_zarr`), and (unless
    ``strip``) a TIFF source's ICC profile, XMP and resolution.
    """
    source, target = os.fspath(source), os.fspath(target)
    check_compression(compression)
    if tile < 16 or tile % 16:
        raise UsageError(f"the tile side must be a multiple of 16, got {tile}")
    if os.path.lexists(target):
        if os.path.exists(source) and os.path.samefile(source, target):
            raise ImageWriteError("output is the input itself; imgconv never overwrites an input", target)
        if not overwrite:
            raise ImageWriteError("output exists; use --overwrite to replace it", target)
    stream = _stream(source, kernel, options)
    rows = stream.band_rows_for(memory // 2, tile)  # a band is filtered while the one before is written
    bands = regroup(_ahead(stream.bands(rows)), tile)  # whole rows of tiles for the writer
    first_y, first = next(bands)  # the output's dtype and channels are the first band's
    shape = (stream.height, first.shape[1]) + first.shape[2:]
    done = {"shape": list(shape), "dtype": str(first.dtype), "band_rows": rows,
            "bands": len(stream.band_starts(rows)), "explanations": stream.explanations(rows)}
    if is_zarr(target):
        blocks = itertools.chain([(first_y, first)], bands)
        if not pyramid:
            write_zarr(target, blocks, shape, first.dtype, tile=tile, compression=compression, overwrite=overwrite)
            return done
        levels = Pyramid(os.path.dirname(os.path.abspath(target)), shape, first.dtype, tile)
        try:  # an OME-Zarr multiscale image: the levels built as the rows go by, as for a TIFF
            write_ome_zarr(target, ((y, levels.add(rows) or rows) for y, rows in blocks), shape, first.dtype,
                           tile=tile, compression=compression, overwrite=overwrite,
                           levels=lambda: (levels.finish(), levels.arrays)[1])
        finally:
            levels.close()
        done["levels"] = [list(s) for s in levels.shapes]
        return done
    tifffile, _ = _modules()
    folder = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(prefix=".imgconv-", suffix=".tif", dir=folder)
    os.close(handle)
    levels = Pyramid(folder, shape, first.dtype, tile) if pyramid else None
    blocks = itertools.chain([(first_y, first)], bands)
    if levels is not None:  # the reduced levels are built as the rows go by
        blocks = ((y, levels.add(rows) or rows) for y, rows in blocks)
    colour = first.ndim == 3 and first.shape[2] in (3, 4)
    how = dict(dtype=first.dtype, tile=(tile, tile), maxworkers=usable_cpus(),
               buffersize=max(tile * first[:1].nbytes, memory // 8),  # tiles compressed at a time (tifffile: 512 MiB)
               photometric="rgb" if colour else "minisblack",
               extrasamples=("unassalpha",) if colour and first.shape[2] == 4 else None,
               **_COMPRESSION_ARGS[compression])
    metadata = Metadata() if strip or is_zarr(source) else read_tiff_metadata(source)
    tags = tiff_tags(metadata, profile_for(metadata, first.shape[2] if first.ndim == 3 else 1))
    try:
        with tifffile.TiffWriter(temporary, bigtiff=True) as tif:
            tif.write(_tiles(blocks, tile), shape=shape, subifds=len(levels.shapes) if levels else None, **how,
                      **tags)
            if levels is not None:  # as SubIFDs of the first page, as OME-TIFF and vips --subifd write them
                levels.finish()
                for level_shape, tiles in levels.levels():
                    tif.write(tiles, shape=level_shape, subfiletype=1, **how)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    finally:
        if levels is not None:
            levels.close()
    done["levels"] = [list(s) for s in levels.shapes] if levels else []
    return done


@_quiet()
def plan_tiff(source: str | os.PathLike, kernel: Any, options: FilterOptions | None = None, *,
              memory: int = DEFAULT_MEMORY, tile: int = 256) -> dict:
    """What :func:`filter_tiff` would do, without filtering: ``band_rows``, ``bands``, and
    ``explanations`` (one :class:`~imgconv.filtering.Explanation` per kernel of a chain)."""
    stream = _stream(os.fspath(source), kernel, options)
    rows = stream.band_rows_for(memory // 2, tile)
    return {"band_rows": rows, "bands": len(stream.band_starts(rows)), "explanations": stream.explanations(rows)}


def _stream(source: str, kernel: Any, options: FilterOptions | None) -> Stream:
    """The TIFF or Zarr image at ``source``, read lazily (only the strips, tiles or chunks
    a band touches are decoded), as a :class:`Stream` of ``kernel`` (or a chain)."""
    if is_zarr(source):
        read, shape, dtype = open_zarr(source)
        check_supported(dtype)
        return Stream(read, shape[0], kernel, options)
    tifffile, zarr = _modules()
    try:
        with tifffile.TiffFile(source) as tif:
            series = len(tif.series)
        if series > 1:  # pages of other sizes: more than one image
            raise ImageReadError(f"a multi-page TIFF ({series} images); imgconv filters still images", source)
        store = tifffile.imread(source, aszarr=True)  # holds the file open
        image = zarr.open(store, mode="r")
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError("no such file", source) from None
    except Exception as error:  # noqa: BLE001 - whatever a hostile file makes tifffile raise: one line
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ImageReadError(f"not a TIFF imgconv can stream: {reason}", source) from None
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
        raise ImageReadError(f"a TIFF of shape {image.shape} is not one image of 1 to 4 channels", source)
    check_supported(image.dtype)
    stream = Stream(lambda y0, y1: _rows(image, y0, y1, source), image.shape[0], kernel, options)
    weakref.finalize(stream, store.close)  # the file closed with the stream, not left to the collector
    return stream


def filter_on_cluster(client: Any, source: str | os.PathLike, target: str | os.PathLike, kernel: Any,
                      options: FilterOptions | None = None, *, memory: int = DEFAULT_MEMORY, tile: int = 256,
                      compression: str = DEFAULT_COMPRESSION) -> dict:
    """:func:`filter_tiff` into a Zarr ``target`` (an existing one is replaced), its bands
    filtered as tasks on the ``dask.distributed`` cluster behind ``client``: each task reads
    its rows from ``source`` and writes its own rows of chunks (the chunks are one band
    tall), so no two tasks write one chunk. Paths must mean the same on the workers."""
    source, target = os.fspath(source), os.fspath(target)
    stream = _stream(source, kernel, options)  # planned here; the workers read the pixels
    rows = stream.band_rows_for(memory, tile)
    starts = stream.band_starts(rows)
    step = starts[1] if len(starts) > 1 and len({b - a for a, b in zip(starts, starts[1:])}) == 1 else rows
    like = stream.output_like()
    shape = (stream.height,) + like.shape[1:]
    bands = [(y0, min(stream.height, y0 + step)) for y0 in range(0, stream.height, step)]
    folder = os.path.dirname(os.path.abspath(target))
    temporary = tempfile.mkdtemp(prefix=".imgconv-", suffix=".zarr", dir=folder)
    try:
        create_zarr(temporary, shape, like.dtype, chunks=(step, tile), compression=compression)
        futures = [client.submit(_cluster_band, source, temporary, y0, y1, kernel, options, pure=False)
                   for y0, y1 in bands]
        client.gather(futures)
        replace_folder(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return {"shape": list(shape), "dtype": str(like.dtype), "band_rows": step, "bands": len(bands),
            "explanations": stream.explanations(step)}


def _cluster_band(source: str, target: str, y0: int, y1: int, kernel: Any, options: FilterOptions | None) -> None:
    """On a worker: output rows ``y0 .. y1-1`` of ``source``, written into the Zarr ``target``."""
    import zarr

    rows = _stream(source, kernel, options).rows(y0, y1)
    zarr.open_array(target, mode="r+")[y0:y1] = rows


def check_compression(name: str) -> None:
    """A :class:`UsageError` listing the choices, for a compression that is not one."""
    check_choice("compression", name, COMPRESSIONS)


def decoded_bytes(path: str | os.PathLike) -> int | None:
    """The bytes of the TIFF or Zarr image at ``path`` decoded, from its header or metadata;
    None for other files (and without the ``big`` extra)."""
    if is_zarr(path):
        try:
            _, shape, dtype = open_zarr(os.fspath(path))
        except (ImageReadError, UsageError):
            return None
        return int(np.prod(shape)) * dtype.itemsize
    size = decoded_size(path)
    return None if size is None else size[1]


def _ahead(bands: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
    """``bands``, each computed on a thread while the one before is consumed (the tiles
    compressed and written): decoding and filtering overlap encoding. An error, or the
    consumer stopping, ends the thread; the error is raised where the band is taken."""
    done = object()
    queue: Queue = Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for band in bands:
                while not stop.is_set():
                    try:
                        queue.put(band, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            queue.put(error)

    worker = threading.Thread(target=produce, name="imgconv-bands", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _rows(image: Any, y0: int, y1: int, source: str) -> np.ndarray:
    """Rows ``y0 .. y1-1`` decoded; a damaged strip or tile is one line naming the file."""
    try:
        return np.asarray(image[y0:y1])
    except Exception as error:  # noqa: BLE001 - whatever a damaged file makes the codecs raise
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ImageReadError(f"a damaged TIFF: rows {y0}-{y1 - 1} cannot be decoded ({reason})", source) from None


def _tiles(bands: Iterator[tuple[int, np.ndarray]], tile: int) -> Iterator[np.ndarray]:
    """Each band's tiles, row of tiles by row of tiles, left to right (as TIFF stores them)."""
    for _, band in bands:
        for y in range(0, band.shape[0], tile):
            for x in range(0, band.shape[1], tile):
                yield band[y : y + tile, x : x + tile]
