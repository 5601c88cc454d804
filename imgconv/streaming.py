"""Filtering an image in bands of rows: the rows of the in-memory result, in bounded memory.

The heart of images larger than memory (issue 16). A :class:`Stream` is a kernel, or a
chain of them, over an image it reads a range of rows at a time (``read(y0, y1)``); its
:meth:`~Stream.rows` are exactly the rows :func:`imgconv.apply` gives for the whole image,
bit for bit, for every border mode, both engines, stride, dilation, padding, combined and
per-channel kernels. :func:`filter_bands` walks an image band by band.

How a band stays exact. Output row ``r`` reads input rows ``r * stride + lo .. r * stride
+ hi`` (the kernel's reach, its anchor, dilation and padding counted). A band reads a run
of input rows ``S .. T-1`` and runs the whole in-memory pipeline on it; its output rows
are the image's wherever they read only rows of the run. Three things make that hold:

* The run begins at a multiple of the stride, so the band samples the image's rows.
* At the image's edges the band *is* the image's edge: the first band's run begins at row
  0 and the last ends at the last row, so the border mode makes the same rows there as
  for the whole image. ``wrap`` takes the far side's rows: the first band gets the image's
  last rows appended, the last band its first rows put in front, so that wrapping the band
  reaches them.
* Transforms (OpenCV's DFT and the numpy engine's FFT, for large kernels) round in tiles
  of rows, each tile's noise depending on all the rows it reads. The engines say where
  their tiles lie (:meth:`~imgconv.engines.base.Engine.row_tiles`); a band then begins at a
  tile boundary of the image, one whole tile before the first it keeps, so that each tile
  it keeps reads the very rows the image's does.

Not streamed: a transposed convolution, and ``--post stretch`` (a scale from the whole
image's minimum and maximum); a :class:`UsageError` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .borders import get_border
from .errors import UsageError
from .filtering import Explanation, Plan
from .filtering.pixels import to_gray
from .kernels import Kernel, load_kernel
from .options import FilterOptions

__all__ = ["Stream", "filter_bands", "regroup", "halo", "check_streamable", "output_height"]

RowReader = Callable[[int, int], np.ndarray]
"""``read(y0, y1)``: image rows ``y0 .. y1-1`` (H x W or H x W x C), ``0 <= y0 < y1 <= height``."""


def _chain(kernels: Any) -> list[Kernel]:
    if isinstance(kernels, (list, tuple)) and kernels and not isinstance(kernels[0], (int, float, list, tuple)):
        return [load_kernel(k) for k in kernels]
    return [load_kernel(kernels)]


def check_streamable(kernels: Any, options: FilterOptions | None = None) -> None:
    """A :class:`UsageError` saying why ``kernels`` with ``options`` cannot stream, if so."""
    options = options or FilterOptions()
    _chain(kernels)
    if options.geometry.transposed:
        raise UsageError("a transposed convolution does not stream in bands; give it an image that fits in memory")
    if options.post == "stretch":
        raise UsageError("--post stretch scales by the whole image's minimum and maximum; it cannot stream in bands")
    if options.premultiply and get_border(options.border).constant:
        raise UsageError("--premultiply with a constant border does not stream in bands")


def halo(kernel: Any, options: FilterOptions | None = None) -> tuple[int, int]:
    """Input rows above and below an output row that its value depends on: the kernel's
    reach (its anchor counted, and its mirror image for ``--mode convolve``; dilation and
    padding counted too).

    >>> halo("sobel-x"), halo([[1], [1], [1], [1]]), halo([[1], [1], [1], [1]], FilterOptions(mode="convolve"))
    ((1, 1), (2, 1), (1, 2))
    """
    step = _Step.of(load_kernel(kernel), 1 << 30, options or FilterOptions())
    return -step.lo, step.hi


@dataclass(frozen=True)
class _Step:
    """One kernel over an input of ``height`` rows: output row ``r`` reads input rows
    ``r * stride + lo .. r * stride + hi``; the engine's image is the input with ``pad``
    rows of border above and below (padding other than ``same``)."""

    kernel: Kernel
    height: int
    out_height: int
    stride: int
    lo: int
    hi: int
    pad: int
    span: int  # rows of the dilated kernel

    @classmethod
    def of(cls, kernel: Kernel, height: int, options: FilterOptions) -> "_Step":
        geometry = options.geometry
        oriented = kernel.flipped() if options.mode == "convolve" else kernel
        rows = oriented.shape[0]
        dy = geometry.dilation[0]
        span = (rows - 1) * dy + 1
        if geometry.padding == "same":
            pad, lo = 0, -oriented.anchor[1] * dy  # type: ignore[index]
        else:
            pad = geometry.pixels(0, span)
            lo = -pad
        out_height = geometry.output_shape((height, 1 << 20), oriented.shape)[0]
        return cls(kernel, height, out_height, geometry.stride[0], lo, lo + span - 1, pad, span)


class Stream:
    """``kernels`` (one kernel or a chain, each applied with ``options``) over an image of
    ``height`` rows that ``read`` gives (see :data:`RowReader`).

    ``like``: one row of the image (any row), to plan with; by default row 0 is read.

    >>> image = np.arange(60, dtype=np.uint8).reshape(10, 6)
    >>> stream = Stream(lambda a, b: image[a:b], 10, ["laplacian", "blur"])
    >>> import imgconv
    >>> bool((stream.rows(3, 8) == imgconv.apply(imgconv.apply(image, "laplacian"), "blur")[3:8]).all())
    True
    """

    def __init__(self, read: RowReader, height: int, kernels: Any, options: FilterOptions | None = None,
                 *, like: np.ndarray | None = None) -> None:
        self.options = options or FilterOptions()
        chain = _chain(kernels)
        check_streamable(chain, self.options)
        self.border = get_border(self.options.border)
        if like is None:
            like = np.asarray(read(0, 1))
        if len(chain) > 1:  # the chain's last kernel reads the stream of the ones before it
            before = Stream(read, height, chain[:-1], self.options, like=like)
            read, height, like = before.rows, before.height, before.output_like()
            self.before: Stream | None = before
        else:
            self.before = None
        self.read, self.input_height = read, height
        self.step = _Step.of(chain[-1], height, self.options)
        self.height = self.step.out_height
        self._like = np.array(like[:1])
        self._tiles = self._row_tiles(like)

    # -- what a band reads --------------------------------------------------------------
    def _probe(self, like: np.ndarray) -> Plan:
        """The plan of a few rows like ``like``: the engine calls' kinds, the output's row."""
        probe = np.ascontiguousarray(np.broadcast_to(like[:1], (self.step.span + 2 * self.step.pad + 1,) + like.shape[1:]))
        return Plan.make(probe, self.step.kernel, self.options)

    def output_like(self) -> np.ndarray:
        """A row of zeros like the output's (its width, channels and dtype), read from nothing."""
        return self._probe(self._like).result_like()[:1]

    def _row_tiles(self, like: np.ndarray) -> list[Any]:
        """The engine's tiles of rows for each of its calls on the whole image."""
        plan = self._probe(like)
        rows = self.input_height + 2 * self.step.pad
        return [
            plan.engine.row_tiles((rows,) + tuple(call.shape[1:]), call.dtype, call.spec, float_output=call.float_output)
            for call in plan.engine_calls()
        ]

    def _run(self, y0: int, y1: int) -> tuple[int, int]:
        """The input rows ``S .. T-1`` a band of output rows ``y0 .. y1-1`` reads (see the
        module docstring)."""
        step, h = self.step, self.input_height
        stride = step.stride
        align = stride
        start = y0 * stride + step.lo  # the first input row the band's outputs read
        end = (y1 - 1) * stride + step.hi + 1
        margin = 2 * step.span + step.pad  # rows a tile reads beyond its own (anchor, padding)
        least = 0
        for tiles in self._tiles:
            align = math.lcm(align, tiles.period)
            least = max(least, tiles.min_rows)
            if tiles.period == 1:
                continue
            p, f = tiles.period, tiles.first
            first_tile = (y0 * stride - f) // p  # in the engine's rows (the padded image's)
            last_tile = ((y1 - 1) * stride - f) // p
            start = min(start, (first_tile - 1) * p, f + first_tile * p - margin - step.pad)
            end = max(end, f + (last_tile + 1) * p + margin - step.pad)
        # an edge band holds the rows the border mode makes the image's edge from, and
        # every band enough for the engine to plan it as the image
        least = max(least, self._reach() + 1)
        begin = 0 if start <= 0 else start // align * align
        end = min(h, max(end, begin + least))
        if end == h and begin > 0:
            begin = max(0, min(begin, (h - least) // align * align))
        return begin, end

    def _reach(self) -> int:
        """Rows beyond its own that a band's edge reads: the kernel's, or with tiles of rows
        the tile's (anchor, the engine's own padding and the geometry's counted)."""
        return max(self._reaches())

    def _reaches(self) -> tuple[int, int]:
        step = self.step
        if any(t.period > 1 for t in self._tiles):
            return (2 * step.span + step.pad,) * 2
        # below: padding lets the last outputs read up to ``pad`` rows past the last row
        return max(-step.lo, 0), max(step.hi, step.pad, 0)

    def _extra(self, begin: int, end: int) -> tuple[int, int]:
        """``wrap``: rows of the image's far side appended to a first band, or put before
        a last band (see the module docstring); ``(after, before)``."""
        if self.border.name != "wrap" or (begin == 0 and end == self.input_height):
            return 0, 0
        above, below = self._reaches()
        if begin == 0:
            return min(above, self.input_height), 0
        if end == self.input_height:
            align = math.lcm(self.step.stride, *[t.period for t in self._tiles])
            return 0, -(-below // align) * align
        return 0, 0

    def reads(self, y0: int, y1: int) -> list[tuple[int, int]]:
        """The runs of input rows ``(lo, hi)`` that :meth:`rows` reads for output rows
        ``y0 .. y1-1`` (for a chain: the first kernel's input), in the order read."""
        begin, end = self._run(y0, y1)
        after, before = self._extra(begin, end)
        runs = []
        if before:
            runs.append((0, min(before, self.input_height)))
        runs.append((begin, end))
        if after:
            runs.append((self.input_height - after, self.input_height))
        if self.before is None:
            return runs
        return [run for lo, hi in runs for run in self.before.reads(lo, hi)]

    # -- what a band costs, and what --explain says -------------------------------------
    def _whole_plan(self) -> Plan:
        """The plan of the whole image, made from a view of one row repeated (no memory)."""
        like, options = self._like, self.options
        if options.gray:  # converted here, a row at a time, not the repeated view
            like = to_gray(like, options.channel_order)
            options = replace(options, gray=False)
        probe = np.broadcast_to(like, (self.input_height,) + like.shape[1:])
        return Plan.make(probe, self.step.kernel, options)

    def band_bytes(self, band_rows: int) -> int:
        """About the bytes a band of ``band_rows`` output rows takes while it is filtered:
        the input rows it reads (and their copy), the engine's float32 work where there is
        any, its result; with a chain, the earlier kernels' bands too."""
        band_rows = max(1, min(band_rows, self.height))
        rows = self._middle_run(band_rows)
        width_in = self._like.nbytes
        small = self._probe(self._like)
        out_row = small.result_like().nbytes // max(1, small.out_shape[0])
        work = sum(int(np.prod(c.shape[1:])) * (4 if c.float_output else c.dtype.itemsize)
                   for c in small.engine_calls())
        total = rows * (width_in + work) + band_rows * out_row
        if self.before is not None:
            total += self.before.band_bytes(rows)
        return int(total)

    def _middle_run(self, band_rows: int) -> int:
        """Input rows a band in the middle reads (the most, with the halo and tiles)."""
        starts = self.band_starts(band_rows) + [self.height]
        middle = (len(starts) - 1) // 2
        begin, end = self._run(starts[middle], starts[middle + 1])
        return end - begin

    def band_rows_for(self, memory: int, multiple: int = 1) -> int:
        """The most output rows a band may have (a multiple of ``multiple``, at least one
        multiple) for :meth:`band_bytes` to stay within ``memory``."""
        lo, hi = 1, max(1, -(-self.height // multiple))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.band_bytes(mid * multiple) <= memory:
                lo = mid
            else:
                hi = mid - 1
        return min(lo * multiple, max(multiple, self.height))

    def explanations(self, band_rows: int) -> list[Explanation]:
        """What ``--explain`` says of each kernel of the chain: the whole image's plan (a
        band takes its routes), that it streams, in bands of how many rows, and about how
        much memory a band takes."""
        earlier = self.before.explanations(band_rows) if self.before is not None else []
        mine = self._whole_plan().explanation()
        starts = self.band_starts(band_rows) + [self.height]
        rows = max(b - a for a, b in zip(starts, starts[1:]))
        note = (f"streamed in bands of {rows} output rows (each reads {self._middle_run(band_rows)} input rows), "
                f"about {_mib(self.band_bytes(band_rows))} a band")
        return earlier + [replace(mine, extras=mine.extras + (note,))]

    # -- bands ---------------------------------------------------------------------------
    def band_starts(self, band_rows: int) -> list[int]:
        """The first output row of each band of about ``band_rows`` rows. Where the engine
        computes in tiles of rows (and the stride is 1), bands are whole tiles, at least
        one, so that a band recomputes only the one tile before it."""
        grids = {(t.period, t.first % t.period) for t in self._tiles if t.period > 1}
        stride = self.step.stride
        if len(grids) != 1:
            return list(range(0, self.height, band_rows))
        period, first = grids.pop()  # tiles begin at the engine's rows first + k * period
        # output row r is the engine's row r * stride: the rows that begin a tile
        aligned = [r for r in range(period) if (r * stride - first) % period == 0]
        if not aligned:
            return list(range(0, self.height, band_rows))
        step = period // math.gcd(stride, period)
        every = max(1, band_rows // step) * step
        return [0] + [y for y in range(aligned[0] or every, self.height, every) if y > 0]

    def bands(self, band_rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(y0, rows)`` band by band, in order, over the whole output (see :meth:`band_starts`)."""
        starts = self.band_starts(band_rows) + [self.height]
        for y0, y1 in zip(starts, starts[1:]):
            yield y0, self.rows(y0, y1)

    # -- the rows ---------------------------------------------------------------------
    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Output rows ``y0 .. y1-1``, as the whole image's in-memory result has them."""
        if not 0 <= y0 < y1 <= self.height:
            raise ValueError(f"rows {y0}..{y1} are not within the output's {self.height}")
        begin, end = self._run(y0, y1)
        after, before = self._extra(begin, end)
        h = self.input_height
        blocks = []
        if before:  # whole multiples of the alignment, of the image's first rows (repeated if short)
            blocks.append(np.concatenate([np.asarray(self.read(0, min(h, before)))] * -(-before // h))[:before])
        blocks.append(np.asarray(self.read(begin, end)))
        if after:
            blocks.append(np.asarray(self.read(h - after, h)))
        band = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        out = Plan.make(band, self.step.kernel, self.options).run()
        first = (begin - before) // self.step.stride  # the output row of the band's first
        return out[y0 - first : y1 - first]


def filter_bands(
    read: RowReader,
    height: int,
    kernels: Any,
    options: FilterOptions | None = None,
    *,
    band_rows: int = 256,
) -> Iterator[tuple[int, np.ndarray]]:
    """Filter an image of ``height`` rows band by band: yields ``(y0, rows)`` in order, where
    ``rows`` are output rows ``y0 .. y0 + len(rows) - 1`` of :func:`imgconv.apply` on the
    whole image (each kernel of a chain in turn): ``band_rows`` of them, or where the
    engine computes in tiles of rows, whole tiles (:meth:`Stream.band_starts`).

    >>> image = np.arange(60, dtype=np.uint8).reshape(10, 6)
    >>> bands = filter_bands(lambda a, b: image[a:b], 10, "laplacian", band_rows=4)
    >>> out = np.concatenate([rows for _, rows in bands])
    >>> import imgconv
    >>> bool((out == imgconv.apply(image, "laplacian")).all())
    True
    """
    if band_rows < 1:
        raise UsageError(f"band_rows must be at least 1, got {band_rows}")
    yield from Stream(read, height, kernels, options).bands(band_rows)


def regroup(bands: Iterable[tuple[int, np.ndarray]], rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """Bands of any heights, in order, as blocks of exactly ``rows`` rows (the last may be
    shorter): what a writer of tiles ``rows`` tall wants.

    >>> bands = [(0, np.zeros((5, 2))), (5, np.ones((4, 2))), (9, np.ones((3, 2)))]
    >>> [(y, len(block)) for y, block in regroup(bands, 4)]
    [(0, 4), (4, 4), (8, 4)]
    """
    pending: list[np.ndarray] = []
    held, y = 0, 0
    for _, band in bands:
        pending.append(band)
        held += len(band)
        while held >= rows:
            block = pending[0] if len(pending) == 1 else np.concatenate(pending)
            yield y, block[:rows]
            y, held = y + rows, held - rows
            pending = [block[rows:]] if held else []
    if held:
        yield y, pending[0] if len(pending) == 1 else np.concatenate(pending)


def output_height(height: int, kernels: Sequence[Any] | Any, options: FilterOptions | None = None) -> int:
    """Rows of the output for an input of ``height`` rows (stride and padding counted).

    >>> output_height(100, ["blur", "blur"], FilterOptions(stride=2))
    25
    """
    options = options or FilterOptions()
    for kernel in _chain(kernels):
        height = _Step.of(kernel, height, options).out_height
    return height


def _mib(size: int) -> str:
    """``12 MiB``, ``1.5 GiB``.

    >>> _mib(12 << 20), _mib(3 << 29), _mib(5000)
    ('12 MiB', '1.5 GiB', '0.00477 MiB')
    """
    if size >= 1 << 30:
        return f"{size / (1 << 30):.3g} GiB"
    return f"{size / (1 << 20):.3g} MiB"
