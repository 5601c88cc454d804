"""The numpy engine: ``cv2.filter2D`` in vectorised numpy, identical to it wherever it can be.

What it computes
----------------
For every output pixel ``(x, y)`` and every channel::

    out[y, x] = sum over i, j of kernel[i, j] * src[y + i - ay, x + j - ax]  +  delta

a correlation (the kernel is not flipped), with the anchor ``(ax, ay)``. Outside the
image ``src`` follows the border mode exactly as OpenCV's ``borderInterpolate`` does,
reflecting again and again when the kernel is wider than the image (``np.pad`` stops
after one reflection, so the engine computes the source index of every padded row and
column itself, :meth:`imgconv.borders.Border.indices`). Integer results are rounded half to even
(``np.rint``) and saturated, as OpenCV's ``saturate_cast``; ``float_output`` returns the
float32 sums unrounded.

Strategies
----------
The engine estimates the time of every route that can run the call and takes the
cheapest (:meth:`NumpyEngine.explain` says which; ``NumpyEngine(strategy=...)`` forces
one). The band routes walk the image in bands of output rows (about 1 MiB of
accumulator each), padding one band at a time into a reused buffer, so the extra memory
is a few bands rather than a padded float copy of the image; each band is one flat
buffer, so that every shifted view of it is a contiguous slice and every pass a single
1-D numpy loop. Large images are shared out between threads (numpy releases the GIL in
its loops and transforms).

``integer``
    uint8 and uint16 images with a kernel that is ``scale * M`` for whole numbers ``M``
    (Sobel, sharpen, a binomial Gaussian over 256, a box over n squared):
    ``sum(M * pixel)`` in int16, uint16 or int32 (the narrowest type that cannot
    overflow), one multiply per distinct weight; then ``scale`` and ``delta``, exactly
    in integers for a power-of-two scale (a round-half-to-even shift), otherwise once
    in float64.
``separable``
    A rank-1 kernel as two 1-D shift-and-add passes, rows then columns, with
    ``kernel = outer(c, r)``: in integers when ``M`` factors into whole numbers (Sobel is
    ``[1, 2, 1]`` by ``[-1, 0, 1]``), otherwise in float32 (float64 for uint16).
``matmul``
    The same two passes as products with banded (Toeplitz) matrices, run by BLAS: more
    multiply-adds, done so much faster that it wins for long separable kernels (a 31x31
    Gaussian).
``shift``
    Shift-and-add over the non-zero weights in float32 (float64 for uint16), equal
    weights summed before they are multiplied. On float32 images, whose values can
    near float32's limit, weights under 1 multiply first (here and in the separable
    passes): OpenCV's terms ``w * x`` then never exceed the largest value, and a sum
    of equal values would (a 15x15 box made infinities from values of 1.5e36 on).
``fft``
    Overlap-save: the padded image in tiles of 64 to 1024 pixels a side (lengths
    ``2**a`` times 1, 3 or 5, which numpy transforms fastest), each transformed,
    multiplied by the kernel's spectrum and transformed back. In float32 where OpenCV's
    own result comes from its float32 DFT (8-bit results of a kernel of 130 cells and
    more that is not whole numbers), else in float64. Chosen for large kernels that are
    not separable.

Exactness against OpenCV, and where the engine leaves float32
-------------------------------------------------------------
OpenCV's kernel is float32, and its direct path sums ``delta + w0*x0 + w1*x1 ...`` in
float32 in row-major order: with fused multiply-adds, except for the last
``(W * C) % 4`` values of each row (its scalar remainder loop), which round the product
and then the sum (measured on OpenCV 5.0, AVX2). When every partial sum is exact in
float32 (integer and dyadic kernels on uint8 and uint16: Sobel, the 5x5 binomial
Gaussian, whose values land exactly on ``.5`` for 0.4% of pixels) OpenCV's result is the
exact value rounded half to even, and so is every route here: the integer routes are
exact by construction, float32 passes are exact for the same reason OpenCV's are, and
the FFT route snaps its sums to whole ``sum(M * pixel)`` before scaling. Otherwise
OpenCV's own rounding error decides a few roundings, and the engine reproduces them:

* **uint8, float kernels**: after the route, every value within a bound of both
  computations' errors of a ``.5`` (on 2048x2048 noise, 5 in ten thousand for a 3x3
  sampled Gaussian, 2 in a thousand for a 9x9) is recomputed with
  OpenCV's arithmetic in OpenCV's order (``_Replay``): the product and sum in float64,
  rounded to float32 after each weight, which equals a fused multiply-add except in the
  rare case of a double rounding.
* **uint16, float kernels under 50 cells**: OpenCV's error is then large enough (up to
  ~0.02 levels) that most values would be replayed, so the shift route runs OpenCV's
  arithmetic on every pixel instead (in float64, rounded to float32 after each weight).
  The other float routes compute uint16 results in float64, float results too: they are
  then the exact sums rounded once to float32, as OpenCV's are from 50 cells on (its DFT
  of 16-bit images is float64).
* **FFT in float64** wherever ties or OpenCV's direct sum decide: snapped whole-number
  kernels, uint16, float results, and kernels under OpenCV's DFT size (float32 transform
  noise would break the ``.5`` ties). Only 8-bit results of kernels in OpenCV's DFT range
  that are not whole numbers use float32 transforms: their noise, about 1e-7 of the sum
  of ``|w * x|``, is of the size of OpenCV's own, and they run about 1.6x as fast (with a
  float32 scale factor: numpy casts float32 transforms to float64 and back when the
  factor is the integer 1, which made them slower than float64 ones).
* **A scale that is not a power of two** (a box over 9): ``sum(M * pixel) * scale + delta``
  is formed once in float64 from the exact integer sum (then replayed near ``.5``).
* **Non-finite float32 input**: the FFT and matmul routes would spread a NaN or an
  infinity over a whole tile or band, so such images go to the shift route, which (like
  OpenCV's direct path) never multiplies a pixel by a zero weight.

Where OpenCV itself uses a DFT (kernels of 130 cells and more for uint8 and float32, 50
and more for uint16) its result carries float32 transform noise (about 1e-7 of the sum
of ``|w * x|``). The engine's float64 results are then the more exact ones, its float32
transforms as exact as OpenCV's; either can differ from OpenCV by one level where a
value lies on or very near ``.5`` (exact ties of dyadic kernels included, which that
noise breaks either way): measured, 316 of 12.6 million values for a 31x31 random
kernel on a 2048x2048 RGB image, where OpenCV itself differs from the exactly rounded
sum in 196 and the engine in 288. Float results agree to about 1e-6 of the largest
sum the kernel can reach (``sum(|w|) * max|x|``: float32 rounding is relative to what is
summed, so a zero-sum kernel's small results, or OpenCV's DFT noise near black, can be
1e-4 apart relative to the value itself).

Where the cv2 engine filters a padded copy (``wrap``, and a ``constant`` border other than
0) OpenCV's rows, and so their remainder, end ``kw - 1`` pixels later; the replay follows.
"""

from __future__ import annotations

import bisect
import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .._cpus import usable_cpus
from ..weights import integer_factors, integer_form, sum_reach
from .analysis import CV2_DFT_AREA
from .base import CorrelationSpec

__all__ = ["NumpyEngine", "STRATEGIES"]

STRATEGIES: tuple[str, ...] = ("shift", "integer", "separable", "matmul", "fft")
"""The routes the engine can take; ``NumpyEngine(strategy=...)`` forces one (for tests)."""

_MAXVAL = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}

# Tuning (measured on a 2-core AMD EPYC, numpy 2.4; see benchmarks/engines.py).
_BAND_BYTES = 1 << 20  # bytes of one band's accumulator: measured, bands this large beat
# L2-sized ones (numpy's per-call cost outweighs the cache misses, which prefetching hides)
_OP_NS = {1: 0.09, 2: 0.11, 4: 0.18, 8: 0.36}  # ns per element of one pass, by item size
_FFT_NS = {8: 0.9, 4: 0.65}  # ns per (n log2 n) of one forward + inverse real 2-D
# transform pair, by item size (float32 with a scale factor; see _FFTRoute)
_FFT_THREAD_GAIN = 0.4  # two threads of transforms ran 1.3-1.45x as fast as one (they
# share the L3 cache and memory bandwidth), where the band routes gain 1.8x
# float32 FFT tiles hold at most this many elements, all channels together (except the
# smallest size tried, which is always allowed). With the transforms in place (8 bytes of
# buffers per element), 3 << 17 beat 3 << 16 in paired runs (shuffled order, two threads,
# 31x31 random kernels): 512x512x3 in 160x576 tiles instead of 160x160 took 0.73-0.81x
# the time, 768x768x3 (160x800) 0.71x, 2048x2048x3 0.94x, 640x640x3 0.98x; but 384x384x3
# (160x432 instead of 128x432) 1.17x
_FFT_TILE_ELEMS = 3 << 17
_TILE_NS = 60_000.0  # fixed cost of one FFT tile (calls, copies, the spectrum product)
_BAND_NS = 15_000.0  # fixed cost of one band (padding and a few dozen numpy calls)
_MATMUL_GFLOPS = 40.0  # float32 flops per ns that one thread of BLAS achieves on them
_MATMUL_BLOCK = 32  # output columns per row-pass product (measured best of 32, 64, 128)
# output rows per band, and per column-pass product: a product of r rows does r + kh - 1
# multiply-adds per pixel (31x31 Gaussian, rows of products x band, paired runs in shuffled
# order, against the former 64 x 64: 16 x 128 took 0.67-0.89x the time at 512x512,
# 0.68-0.70x at 512x512x3, 0.69-0.81x at 2048x2048, 0.73-0.80x at 2048x2048x3; 16 x 64,
# 24 x 128 and 32 x 64 less, 16 x 256 up to 1.5x, out of the caches at 2048)
_MATMUL_ROWS = 128
_MATMUL_COL_ROWS = 16
_REPLAY_CHUNK = 4096  # replayed pixels per gathered terms x pixels matrix (a few MiB)
_INT32_INDICES = 2**29  # images of fewer elements replay with int32 indices (sums stay in range)
_REPLAY_TERM_NS = 8.0  # ns per replayed value and weight (measured: 10 ms for 15667 x 81)
_BLAS_SINGLE = 65536 * 4  # OpenBLAS runs products with M*N*K up to this on one thread
_THREAD_MIN_NS = 3e6  # below this estimated time, one thread is faster than dispatching
# the FFT route's threads pay off later: two threads of 512x512 and 640x640 grey took
# 0.99-1.02x the time of one (estimated 4.5 and 6.4 ms), of 768x768 and 384x384x3
# 0.78x and 0.92x (9.5 and 7.6 ms)
_FFT_THREAD_MIN_NS = 7e6


# -- borders --------------------------------------------------------------------------
def _column_copies(first: int, sources: np.ndarray) -> list[tuple[slice, object]]:
    """``(destination, source)`` index pairs that copy column ``sources[i]`` to ``first + i``.

    Runs of sources that step by +1 or -1 become slices (one strided copy each, much
    cheaper than fancy indexing); borders that reflect many times stay one fancy index.
    """
    copies: list[tuple[slice, object]] = []
    i, n = 0, len(sources)
    while i < n:
        j, step = i + 1, 1
        if j < n and sources[j] - sources[i] in (1, -1):
            step = int(sources[j] - sources[i])
            while j < n and sources[j] - sources[j - 1] == step:
                j += 1
        start, stop = int(sources[i]), int(sources[j - 1]) + step
        copies.append((slice(first + i, first + j), slice(start, stop if stop >= 0 else None, step)))
        i = j
    if len(copies) > 4:
        return [(slice(first, first + n), np.asarray(sources))]
    return copies


class _Padder:
    """Fills padded bands of rows of an image of one shape, for one border and kernel.

    Row ``p`` of the padded image is image row ``rows[p]`` and column ``q`` is image
    column ``cols[q]`` (``-1``: the constant border value), so any band of padded rows
    can be filled on its own.
    """

    def __init__(self, shape: tuple[int, int, int], dtype: np.dtype, spec: CorrelationSpec) -> None:
        height, self.width = shape[:2]
        self.top, bottom, self.left, right = spec.padding()
        self.constant = spec.border.constant
        self.value = dtype.type(spec.border.fill_value(spec.border_value, dtype)) if self.constant else None
        self.rows = spec.border.indices(height, self.top, bottom)
        self.cols = cols = spec.border.indices(self.width, self.left, right)
        end = self.left + self.width
        self.column_copies = _column_copies(0, cols[: self.left] + self.left) + _column_copies(
            end, cols[end:] + self.left
        )
        # runs of padded rows read from consecutive image rows (or all constant): start,
        # stop, first source row (-1 for constant)
        rows = self.rows
        breaks = np.flatnonzero((np.diff(rows) != 1) | (rows[1:] < 0) | (rows[:-1] < 0)) + 1
        starts = [0, *breaks.tolist()]
        stops = [*breaks.tolist(), len(rows)]
        self.runs = [(a, b, int(rows[a])) for a, b in zip(starts, stops)]
        self.run_starts = starts

    def fill(self, buf: np.ndarray, image: np.ndarray, p0: int, p1: int) -> None:
        """``buf[:p1-p0]`` (rows x padded width x channels) = padded rows ``p0 .. p1-1``."""
        left, width = self.left, self.width
        k = bisect.bisect_right(self.run_starts, p0) - 1
        while k < len(self.runs) and self.runs[k][0] < p1:
            a, b, src = self.runs[k]
            lo, hi = max(a, p0), min(b, p1)
            if src < 0:
                buf[lo - p0 : hi - p0] = self.value
            else:
                first = src + lo - a
                source = image[first : first + hi - lo]
                np.copyto(buf[lo - p0 : hi - p0, left : left + width], source, casting="unsafe")
            k += 1
        band = buf[: p1 - p0]
        if self.constant:
            band[:, :left] = self.value
            band[:, left + width :] = self.value
        else:
            for destination, source in self.column_copies:
                band[:, destination] = band[:, source]


_LOCAL = threading.local()


def _scratch(slot: str, size: int, dtype: np.dtype) -> np.ndarray:
    """A flat buffer of ``size`` elements reused by this thread from call to call.

    Fresh large allocations cost a page fault per 4 KiB on first touch, comparable to a
    3x3 filter's own work on a small image. Buffers start zeroed; afterwards they hold
    whatever the last user left (the callers only ever leave finite numbers where it
    matters, see :meth:`_Route.flat_band`).
    """
    dtype = np.dtype(dtype)
    buffers = _LOCAL.__dict__.setdefault("buffers", {})
    nbytes = size * dtype.itemsize
    raw = buffers.get(slot)
    if raw is None or raw.nbytes < nbytes:
        raw = buffers[slot] = np.zeros(max(nbytes, 64), np.uint8)
    return raw[:nbytes].view(dtype)


# -- kernel analysis ------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _KernelInfo:
    """What the routes need to know about a kernel, computed once per kernel.

    ``weights == scale * ints`` exactly when ``ints`` is not None; ``int_factors`` are
    whole-number ``(c, r)`` with ``ints == outer(c, r)``; ``factors`` are float64
    ``(c, r)`` with ``weights ~= outer(c, r)`` (exact when from ``int_factors``).
    """

    weights: np.ndarray  # float64 copy of the float32 kernel
    terms: tuple[tuple[int, int, float], ...]  # (row, col, weight), non-zero, row-major
    scale: float
    ints: np.ndarray | None
    shift: int | None  # scale == 2**-shift (shift >= 0), or None
    int_factors: tuple[np.ndarray, np.ndarray] | None
    factors: tuple[np.ndarray, np.ndarray] | None
    factors_exact: bool  # outer(*factors) == weights exactly (in float64)

    @property
    def area(self) -> int:
        return self.weights.size

    def int_bound(self, maxval: int) -> tuple[int, int]:
        """Smallest and largest ``sum(ints * pixel)`` for pixels in ``0 .. maxval``."""
        assert self.ints is not None
        return int(self.ints[self.ints < 0].sum()) * maxval, int(self.ints[self.ints > 0].sum()) * maxval


def _float_factors(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Float64 ``(c, r)`` with ``w ~= outer(c, r)`` to float32 accuracy, or None."""
    big = np.abs(w).max()
    if big == 0:
        return None
    i, j = np.unravel_index(np.argmax(np.abs(w)), w.shape)
    r = w[i].copy()
    c = w[:, j] / w[i, j]
    if np.abs(np.outer(c, r) - w).max() > 1e-6 * big:
        return None
    return c, r


@functools.lru_cache(maxsize=64)
def _analyse_cached(shape: tuple[int, int], data: bytes) -> _KernelInfo:
    w = np.frombuffer(data, dtype=np.float32).reshape(shape).astype(np.float64)
    rows, cols = np.nonzero(w)
    terms = tuple((int(y), int(x), float(w[y, x])) for y, x in zip(rows, cols))
    if not terms:  # OpenCV keeps one zero weight at (0, 0): 0 * NaN is still NaN
        terms = ((0, 0, 0.0),)
    scale, ints, shift = integer_form(w)
    int_factors = integer_factors(ints) if ints is not None else None
    if int_factors is not None:
        c, r = int_factors
        factors = (c.astype(np.float64), r.astype(np.float64) * scale)
    else:
        factors = _float_factors(w)
    exact = factors is not None and bool(np.array_equal(np.outer(*factors), w))
    for a in (w, ints, *(int_factors or ()), *(factors or ())):
        if a is not None:
            a.setflags(write=False)
    return _KernelInfo(w, terms, scale, ints, shift, int_factors, factors, exact)


def _analyse(kernel: np.ndarray) -> _KernelInfo:
    k = np.ascontiguousarray(kernel, dtype=np.float32)
    return _analyse_cached(k.shape, k.tobytes())


# -- linear combinations of shifted views ---------------------------------------------
@dataclass(frozen=True)
class _Group:
    """``factor * (sum of the views in plus - sum of those in minus)``."""

    factor: float
    plus: tuple
    minus: tuple


def _groups(terms: list[tuple[object, float]]) -> tuple[_Group, ...]:
    """Terms ``(key, weight)`` grouped by ``|weight|`` (one multiply per distinct weight)."""
    by: dict[float, tuple[list, list]] = {}
    for key, w in terms:
        plus, minus = by.setdefault(abs(w), ([], []))
        (plus if w > 0 else minus).append(key)
    groups = []
    for factor, (plus, minus) in by.items():
        if not plus:  # all negative: sum them and subtract
            groups.append(_Group(-factor, tuple(minus), ()))
        else:
            groups.append(_Group(factor, tuple(plus), tuple(minus)))
    if not groups:
        groups.append(_Group(0.0, (terms[0][0],), ()))
    groups.sort(key=lambda g: (g.factor < 0, -len(g.plus) - len(g.minus)))
    return tuple(groups)


def _ops(groups: tuple[_Group, ...]) -> int:
    """Number of whole-array passes :func:`_combine` makes."""
    n = 0
    for k, g in enumerate(groups):
        count = len(g.plus) + len(g.minus)
        if k == 0:
            n += max(1, count - 1) + (abs(g.factor) != 1 and count > 1) + (g.factor == -1 and count > 1)
        elif abs(g.factor) == 1:
            n += count
        else:
            n += max(1, count - 1) + (count > 1) + 1
    return n


def _combine(groups: tuple[_Group, ...], view, out, tmp, cast, scaled=None) -> None:  # noqa: ANN001
    """``out = sum over groups of factor * (sum of plus views - sum of minus views)``.

    With ``scaled`` (float32 images, see :class:`_Scaled`), a group of several views and
    a factor under 1 is summed from views of ``|factor| * source`` instead: summing
    first would reach ``count * max|x|`` where OpenCV's terms ``w * x`` stay small (a
    15x15 box on values from 1.5e36 made infinities where OpenCV's result is finite).
    """
    for k, g in enumerate(groups):
        if scaled is not None and abs(g.factor) < 1 and len(g.plus) + len(g.minus) > 1:
            g, group_view = _Group(1.0 if g.factor > 0 else -1.0, g.plus, g.minus), scaled(abs(g.factor))
        else:
            group_view = view
        _combine_group(k, g, group_view, out, tmp, cast)


class _Scaled:
    """``factor -> view``: the views of ``factor * source`` for :func:`_combine`, where
    ``at(base, key)`` is the view ``key`` of ``base``, written into ``buf``: the
    combination's ``tmp``, which only a group of its own uses (a buffer of its own took
    1.1-1.2x the time of the old order on small kernels: one more band in the caches)."""

    def __init__(self, source: np.ndarray, at, buf: np.ndarray) -> None:  # noqa: ANN001
        self.source, self.at = source, at
        self.buf = buf[: source.size]

    def __call__(self, factor: float):  # noqa: ANN204
        np.multiply(self.source, self.source.dtype.type(factor), out=self.buf)
        return functools.partial(self.at, self.buf)


def _combine_group(k: int, g: _Group, view, out, tmp, cast) -> None:  # noqa: ANN001
    """Group ``k`` of :func:`_combine`: into ``out`` (the first) or added to it."""
    if k and abs(g.factor) == 1:  # add and subtract straight into out
        sign = g.factor > 0
        for key in g.plus:
            (np.add if sign else np.subtract)(out, view(key), out=out)
        for key in g.minus:
            (np.subtract if sign else np.add)(out, view(key), out=out)
        return
    target = out if k == 0 else tmp
    factor = g.factor if k == 0 else abs(g.factor)
    keys = g.plus + g.minus
    if len(keys) == 1:
        if factor == 1:
            np.copyto(target, view(keys[0]))
        else:
            np.multiply(view(keys[0]), cast(factor), out=target)
    else:
        if len(g.plus) > 1:
            np.add(view(g.plus[0]), view(g.plus[1]), out=target)
            rest, minus = g.plus[2:], g.minus
        else:
            np.subtract(view(g.plus[0]), view(g.minus[0]), out=target)
            rest, minus = (), g.minus[1:]
        for key in rest:
            np.add(target, view(key), out=target)
        for key in minus:
            np.subtract(target, view(key), out=target)
        if factor != 1:
            np.multiply(target, cast(factor), out=target)
    if k:
        (np.add if g.factor > 0 else np.subtract)(out, tmp, out=out)


def _passes(n: int, kind: str) -> str:
    return f"{n} {kind} pass" + ("" if n == 1 else "es")


def _round_shift(acc: np.ndarray, shift: int, tmp: np.ndarray) -> None:
    """``acc = rint(acc / 2**shift)`` (half to even) in integers, exactly."""
    if shift == 0:
        return
    np.right_shift(acc, shift, out=tmp)
    np.bitwise_and(tmp, 1, out=tmp)  # 1 when the rounded-down quotient is odd
    np.add(acc, tmp, out=acc)
    np.add(acc, (1 << (shift - 1)) - 1, out=acc)
    np.right_shift(acc, shift, out=acc)


def _store(full: np.ndarray, valid: np.ndarray, out: np.ndarray, lo: float, hi: float,
           maxval: int | None) -> None:
    """Write rounded values into ``out``, saturating only when they can leave the range.

    ``valid`` is the view of ``full`` (a band, wasted columns included) that corresponds
    to ``out``; it is saturated as it is stored, in one pass.
    """
    if maxval is not None and (lo < 0 or hi > maxval):
        kind = full.dtype.type  # typed bounds: numpy's clip is several times slower without
        np.clip(valid, kind(0), kind(maxval), out=out, casting="unsafe")  # saturated as it is stored
        return
    np.copyto(out, valid, casting="unsafe")


def _valid(values: np.ndarray, stride: int | None, width: int) -> np.ndarray:
    """The part of a band's values that is output: rows of ``stride``, ``width`` used."""
    return values if stride is None else values.reshape(-1, stride)[:, :width]


# -- replaying OpenCV near rounding boundaries ----------------------------------------
def _tail_start(route: _Route) -> int:
    """Where OpenCV's scalar tail starts in an output row (values ``x * C + c``).

    OpenCV's rows are the image's, except where the cv2 engine filters a padded copy
    (wrap, and a constant border other than 0): there they end ``kw - 1`` pixels later.
    """
    spec = route.spec
    if not spec.border.filter2d_extends(spec.border_value):
        padded = route.padded_elems
        return padded - padded % 4 - spec.padding()[2] * route.channels
    return route.row_elems - route.row_elems % 4


class _Replay:
    """OpenCV's own float32 arithmetic, for the few pixels whose rounding it could decide.

    OpenCV's direct path sums ``delta + w0*x0 + w1*x1 ...`` in float32 in row-major
    order: with fused multiply-adds, except for the last ``(W * C) % 4`` values of each
    row, which its scalar remainder loop computes with a rounded product and a rounded
    sum (measured: uint8 and uint16, OpenCV 5.0 on AVX2; see :func:`_tail_start`).
    Where that sum is not exact its rounding error can move a value across a ``.5``
    boundary; a route's (different) rounding error can too. Every pixel whose computed
    value lies within ``tolerance`` (a bound on both errors) of such a boundary, and
    every value of the rows' tails, is collected, and at the end recomputed as OpenCV
    does: in float64, rounded to float32 after each step (for the fused multiply-add
    that equals OpenCV's result except in the rare case of a double rounding).
    """

    def __init__(self, route: _Route, image: np.ndarray, pad: _Padder) -> None:
        info = route.info
        self.route, self.image, self.pad = route, image, pad
        self.kh, self.kw = info.weights.shape
        terms = info.terms
        self.dy = np.array([t[0] for t in terms], np.int64)
        self.dx = np.array([t[1] for t in terms], np.int64)
        self.w = np.array([t[2] for t in terms], np.float64)
        self.cells = None if len(terms) == info.weights.size else self.dy * self.kw + self.dx
        # the terms' flat source indices in int32 where they fit (half the memory traffic)
        small = image.size < _INT32_INDICES
        self.index_type, self.never = (np.int32, -_INT32_INDICES) if small else (np.int64, -(2**40))
        self.tolerance = route.replay_tolerance()
        self.tail_start = _tail_start(route)
        self.found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add_tails(self, y0: int, y1: int) -> None:
        """Collect the tail values (see above) of rows ``y0 .. y1-1``."""
        e = np.arange(max(0, self.tail_start), self.route.row_elems)
        if not e.size:
            return
        y = np.repeat(np.arange(y0, y1), e.size)
        x, c = np.divmod(np.tile(e, y1 - y0), self.route.channels)
        self.found.append((y, x, c))

    def start_rows(self, y0: int, y1: int) -> None:
        """Called once per band of rows: their tails are always replayed."""
        self.add_tails(y0, y1)

    def collect(self, distance: np.ndarray, y0: int, x0: int, channel: int | None = None) -> None:
        """Note the pixels whose ``|value - rint(value)|`` is near 0.5.

        ``distance`` is either rows (2-D, ``row_elems`` of each row used, channels
        interleaved; or one ``channel``, ``width`` used) or channels first (3-D);
        ``y0, x0``: the image position of its first pixel.
        """
        near = np.flatnonzero(distance > 0.5 - self.tolerance)
        if not near.size:
            return
        if distance.ndim == 3:
            c, y, x = np.unravel_index(near, distance.shape)
        else:
            y, q = np.divmod(near, distance.shape[1])
            keep = q < (self.route.row_elems if channel is None else self.route.width)
            y, q = y[keep], q[keep]
            if channel is None:
                x, c = np.divmod(q, self.route.channels)
            else:
                x, c = q, np.full_like(q, channel)
        self.found.append((y + y0, x + x0, c))

    def apply(self, out: np.ndarray) -> None:
        """Overwrite the collected pixels of ``out`` with OpenCV's results."""
        if not self.found:
            return
        y, x, c = (np.concatenate(a) for a in zip(*self.found))
        self.found.clear()
        image = self.image
        width, channels = image.shape[1], image.shape[2]
        if self.tail_start < self.route.row_elems:  # tails may also be near .5: once each
            # by flat index (np.unique(axis=1) sorts structured rows, 0.7 ms per thousand)
            y, x = np.divmod(np.unique((y * width + x) * channels + c), width * channels)
            x, c = np.divmod(x, channels)
        flat = np.ravel(image)  # a copy only for a non-contiguous image
        if self.pad.constant:  # one more element: the border value, at index -1 of ``flat``
            flat = np.append(flat, self.pad.value)
        for k in range(0, len(y), _REPLAY_CHUNK):
            part = slice(k, k + _REPLAY_CHUNK)
            out[y[part], x[part], c[part]] = self._replayed(flat, y[part], x[part], c[part])

    def _replayed(self, flat: np.ndarray, y: np.ndarray, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """OpenCV's rounded results at ``(y, x, c)`` of the image ``flat``tened: every
        term's pixel gathered at once (a terms x pixels matrix), then summed in OpenCV's
        order, one weight at a time."""
        pad = self.pad
        width, channels = self.image.shape[1], self.image.shape[2]
        # index into the flattened image of each candidate's source pixel, per kernel
        # row and per kernel column; ``never`` marks the constant border (any sum with it
        # is negative)
        kind, never = self.index_type, self.never
        rows = pad.rows[np.arange(self.kh)[:, None] + y].astype(kind)
        row_part = np.where(rows < 0, kind(never), rows * kind(width * channels))
        cols = pad.cols[np.arange(self.kw)[:, None] + x].astype(kind)
        col_part = np.where(cols < 0, kind(never), cols * kind(channels) + c.astype(kind))
        index = (row_part[:, None] + col_part[None]).reshape(self.kh * self.kw, len(y))  # every cell
        if self.cells is not None:  # the terms: the non-zero weights
            index = index[self.cells]
        if pad.constant:
            index[index < 0] = -1
        products = flat.take(index) * self.w[:, None]  # exact in float64
        tail = x * channels + c >= self.tail_start
        if tail.any():  # the tail rounds the product first
            products[:, tail] = products[:, tail].astype(np.float32)
        acc = np.full(len(y), self.route.delta, np.float32)
        for step in products:  # the sum in float64, rounded to float32 once per weight
            np.add(acc, step, out=acc, casting="same_kind")
        return np.clip(np.rint(acc), 0, self.route.maxval)


# -- routes ---------------------------------------------------------------------------
class _Route:
    """One way to compute the correlation for one call (image geometry, dtype, kernel).

    The band routes keep a padded band of rows as one flat buffer whose rows are
    ``padded_elems`` long (the padded width times the channels): the kernel cell
    ``(dy, dx)`` is then the contiguous slice starting at ``dy * padded_elems + dx * C``,
    and every pass is one 1-D numpy loop. The last ``kw - 1`` columns of each result
    row are waste, dropped when the band is stored.
    """

    name = ""
    parallel = True  # whether bands may be shared between threads
    thread_gain = 0.8  # what a second thread adds (measured for the band routes)
    thread_min_ns = _THREAD_MIN_NS  # the estimated time from which threads are used

    def __init__(self, info: _KernelInfo, shape: tuple[int, int, int], dtype: np.dtype,
                 spec: CorrelationSpec, float_output: bool, threads: int = 1) -> None:
        self.info, self.spec = info, spec
        self.threads = threads  # the most threads the call may use
        self.height, self.width, self.channels = shape
        self.dtype = dtype
        self.float_output = float_output
        self.maxval = None if float_output or dtype.kind == "f" else _MAXVAL[dtype]
        self.kh, self.kw = info.weights.shape
        self.delta = float(spec.delta)
        self.row_elems = self.width * self.channels
        self.padded_elems = (self.width + self.kw - 1) * self.channels
        self.faithful = False
        self.rows = 1
        self._padder: _Padder | None = None
        self._needs_replay: bool | None = None
        self._tolerance: float | None = None
        self._bounds: tuple[float, float] | None = None

    def band_rows(self, itemsize: int) -> int:
        """Rows per band: about ``_BAND_BYTES`` of accumulator, bands of equal height."""
        most = int(max(1, min(self.height, _BAND_BYTES // (self.padded_elems * itemsize))))
        return -(-self.height // -(-self.height // most))

    def flat_band(self, work: np.dtype, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """A flat band buffer for ``rows`` output rows, and its 3-D view to fill.

        The buffer runs ``(kw - 1) * C`` elements past the last padded row, so that the
        last row's shifted slices stay inside it; those are zeroed, so that the wasted
        columns computed from them are finite.
        """
        n = rows + self.kh - 1
        flat = _scratch("band", n * self.padded_elems + (self.kw - 1) * self.channels, work)
        flat[n * self.padded_elems :] = 0
        return flat, flat[: n * self.padded_elems].reshape(n, self.width + self.kw - 1, self.channels)

    def padder(self) -> _Padder:
        """The padding geometry of this call (computed once per plan)."""
        if self._padder is None:
            self._padder = _Padder((self.height, self.width, self.channels), self.dtype, self.spec)
        return self._padder

    def value_bounds(self) -> tuple[float, float]:
        """Smallest and largest possible result (for skipping the saturation)."""
        if self._bounds is None:
            top = self.maxval or 0
            w = self.info.weights
            low, high = float(w[w < 0].sum()) * top, float(w[w > 0].sum()) * top
            self._bounds = (low + self.delta, high + self.delta)
        return self._bounds

    def relative_error(self) -> float:
        """A bound on this route's error, relative to ``sum(|w|) * maxval + |delta|``."""
        return 0.0

    def needs_replay(self) -> bool:
        """True when OpenCV's float32 rounding, not the exact value, decides some pixels.

        That is for integer results in OpenCV's direct (non-DFT) range from a kernel whose
        float32 sums are not exact. (For uint16 the automatic choice is the faithful shift
        route, which replays only the row tails: with a float route OpenCV's error is so
        large there that most pixels would be replayed.)
        """
        return (
            self.maxval is not None
            and self.info.area < CV2_DFT_AREA[self.dtype]
            and not _exact_in_float32(self.info, self.dtype, self.spec)
        )

    def replays(self) -> bool:
        """:meth:`needs_replay`, computed once."""
        if self._needs_replay is None:
            self._needs_replay = self.needs_replay()
        return self._needs_replay

    def replay(self, image: np.ndarray, pad: _Padder) -> _Replay | None:
        return _Replay(self, image, pad) if self.replays() else None

    def replay_tolerance(self) -> float:
        """How far from a ``.5`` a value of this route can lie and still round otherwise
        in OpenCV (-1 for the faithful route, whose values are OpenCV's already, except
        the tails); computed once.

        OpenCV's error outside the tails: one rounding per weight of a partial sum, which
        is at most ``|delta| + maxval * (the |weights| so far)``; plus the route's own
        error (the tails, rounded twice per weight, are all replayed).
        """
        if self._tolerance is None:
            if self.faithful:
                self._tolerance = -1.0
            else:
                w = np.array([t[2] for t in self.info.terms], np.float64)
                partial = abs(self.delta) + self.maxval * np.cumsum(np.abs(w))
                magnitude = sum_reach(self.info.weights, self.maxval, self.delta)
                self._tolerance = 2.0**-24 * float(partial.sum()) + self.relative_error() * magnitude
        return self._tolerance

    def finish_float(self, acc: np.ndarray, out: np.ndarray, *, scratch: np.ndarray | None = None,
                     replay: _Replay | None = None, y0: int = 0, x0: int = 0,
                     stride: int | None = None, channel: int | None = None) -> None:
        """Float sums ``acc`` (delta included) -> ``out``: rounded and saturated, or as is.

        ``acc`` is a flat band with rows of ``stride`` elements (channels interleaved, or
        one ``channel``), or (``stride`` None) shaped like ``out``; it is clobbered. With
        a ``replay``, the pixels near a rounding boundary are noted (``y0, x0``: the image
        position of ``acc``'s first).
        """
        width = self.row_elems if channel is None else self.width
        if self.maxval is None:
            np.copyto(out, _valid(acc, stride, width), casting="unsafe")
            return
        if replay is None:  # saturate, then round straight into the output
            lo, hi = self.value_bounds()
            if lo < 0 or hi > self.maxval:
                kind = acc.dtype.type
                np.clip(acc, kind(0), kind(self.maxval), out=acc)
            np.rint(_valid(acc, stride, width), out=out, casting="unsafe")
            return
        else:
            rounded = np.rint(acc, out=scratch)
            np.subtract(acc, rounded, out=acc)
            np.abs(acc, out=acc)
            replay.collect(acc if stride is None else acc.reshape(-1, stride), y0, x0, channel)
        _store(rounded, _valid(rounded, stride, width), out, *self.value_bounds(), self.maxval)

    def scaled(self, source: np.ndarray, at, buf: np.ndarray) -> _Scaled | None:  # noqa: ANN001
        """Scaled views for :func:`_combine` on float32 images (their values can near
        float32's limit), else None."""
        return _Scaled(source, at, buf) if self.dtype == np.float32 else None

    def cost(self) -> float:
        raise NotImplementedError

    def band_cost(self, itemsize: int) -> float:
        """The estimated ns of a band route: :meth:`passes` over the padded image in
        elements of ``itemsize`` bytes, each band's fixed cost, and the replay's."""
        n = self.height * self.padded_elems
        bands = -(-self.height // self.rows)
        return n * self.passes() * _OP_NS[itemsize] + bands * _BAND_NS + self.replay_cost()

    def replay_cost(self) -> float:
        """Estimated ns of replaying OpenCV's arithmetic (:class:`_Replay`) for the values
        within its tolerance of a ``.5``: a fraction of about twice the tolerance, each
        ``_REPLAY_TERM_NS`` per weight (the passes that find them count in :meth:`passes`)."""
        if not self.replays():
            return 0.0
        share = min(1.0, 2 * max(0.0, self.replay_tolerance()))
        return self.height * self.row_elems * share * len(self.info.terms) * _REPLAY_TERM_NS

    def describe(self) -> str:
        raise NotImplementedError

    def row_chunk(self) -> int:
        """Rows a thread's share must be a multiple of (the band height)."""
        return self.rows

    def chunks(self, threads: int) -> list[tuple[int, int, int, int]]:
        """Shares of the output for ``threads`` threads: ``(y0, y1, x0, x1)`` each."""
        chunk = self.row_chunk()
        per = -(-(-(-self.height // chunk)) // threads) * chunk
        return [(y, min(self.height, y + per), 0, self.width) for y in range(0, self.height, per)]

    def workers(self) -> int:
        """How many threads this call is worth (1 for small images and BLAS routes)."""
        if not self.parallel or self.threads <= 1 or self.cost() < self.thread_min_ns:
            return 1
        return len(self.chunks(self.threads))

    def wall_time(self) -> float:
        """Estimated ns with :meth:`workers` threads (each further core counts for
        :attr:`thread_gain`)."""
        return self.cost() / (1 + self.thread_gain * (self.workers() - 1))

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        """Compute output rows ``y0 .. y1-1`` (band routes: all columns) into ``out``."""
        raise NotImplementedError


class _ShiftRoute(_Route):
    """Banded shift-and-add in float32; OpenCV's own arithmetic for uint16 (see module)."""

    name = "shift"

    def __init__(self, *args, faithful: bool = False, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.faithful = faithful
        self.work = np.dtype(np.float64 if faithful else _float_work(self.dtype))
        self.itemsize = self.work.itemsize
        self.rows = self.band_rows(self.itemsize)
        self.groups = _groups([((y, x), w) for y, x, w in self.info.terms])

    def relative_error(self) -> float:
        if self.faithful:
            return 0.0
        eps = float(np.finfo(self.work).eps)
        if self.dtype.kind != "u":
            return (_ops(self.groups) + 3) * eps
        # integer pixels: the sums of a group's views are exact; what rounds (by at most
        # u = eps / 2 each) is a group's product, its addition, each view added on its
        # own (factor 1), and the offset
        return (len(self.info.terms) + 2 * len(self.groups) + 3) * eps / 2

    def passes(self) -> float:
        pad = (self.rows + self.kh - 1) / self.rows
        if self.faithful:
            return pad + 3 * len(self.info.terms) + 3
        return pad + _ops(self.groups) + (self.delta != 0) + 2 + 4 * self.needs_replay()

    def cost(self) -> float:
        return self.band_cost(self.itemsize)

    def describe(self) -> str:
        if self.faithful:
            how = f"{len(self.info.terms)} float64 multiply-adds rounded to float32 (OpenCV's order)"
        else:
            how = f"{len(self.info.terms)} weights in {_passes(_ops(self.groups), self.work.name)}"
        return f"shift-and-add, {how}, in {self.rows}-row bands"

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        pad = self.padder()
        replay = self.replay(image, pad)
        rows, kh, C, S = self.rows, self.kh, self.channels, self.padded_elems
        work = self.work
        flat, band = self.flat_band(work, rows)
        acc = _scratch("acc", rows * S, np.float32 if self.faithful else work)
        tmp = _scratch("tmp", (rows + kh - 1) * S + (self.kw - 1) * C, work)  # a band: see _Scaled
        for r0 in range(y0, y1, rows):
            h = min(rows, y1 - r0)
            size = h * S
            pad.fill(band, image, r0, r0 + h + kh - 1)
            if replay:
                replay.start_rows(r0, r0 + h)

            def at(base, key, size=size):  # noqa: ANN001, ANN202
                start = key[0] * S + key[1] * C
                return base[start : start + size]

            view = functools.partial(at, flat)
            a, t = acc[:size], tmp[:size]
            if self.faithful:
                first = True
                for dy, dx, w in self.info.terms:
                    np.multiply(view((dy, dx)), w, out=t)
                    np.add(t, self.delta if first else a, out=t)
                    np.copyto(a, t, casting="same_kind")
                    first = False
            else:
                source = flat[: (kh - 1) * S + (self.kw - 1) * C + size]
                _combine(self.groups, view, a, t, work.type, self.scaled(source, at, tmp))
                if self.delta:
                    np.add(a, work.type(self.delta), out=a)
            self.finish_float(a, out[r0 : r0 + h].reshape(h, -1), scratch=t if t.dtype == a.dtype else None,
                              replay=replay, y0=r0, stride=S)
        if replay:
            replay.apply(out)


def _float_work(dtype: np.dtype) -> type:
    """The float type of the float routes: float64 for uint16 images, else float32.

    Float32 sums of uint16 pixels are off by up to ~0.02 levels, enough to decide a few
    roundings in a thousand: in float64 the routes round the exact value, and the replay
    (or the faithful route) reproduces OpenCV's own errors where they decide. Float
    results (``float_output``) of uint16 images are the exact sums rounded once to
    float32, as OpenCV's are from 50 cells on (its DFT of 16-bit images is float64);
    in float32 a zero-sum kernel's small results would carry errors of ~0.005.
    """
    return np.float64 if dtype == np.uint16 else np.float32


def _factor_error(info: _KernelInfo, work: np.dtype) -> float:
    """Error bound of two 1-D passes, relative to ``sum(|w|) * maxval``.

    Each rounding errs by at most ``u`` (half of ``eps``) of what it rounds, and the
    products' roundings together by ``u`` of the sum of ``|terms|``: a pass of ``k`` taps
    (grouped, or summed by BLAS in any order: its zero entries add exactly) is within
    ``k * u`` of that sum, the row pass's ``kw * u`` carried into the column pass's
    ``kh * u``; ``4 * u`` more for the offset and second-order terms. Plus how far
    ``outer(c, r)`` in the working type is from the kernel. (Measured on 3x3 to 11x11
    sampled Gaussians and a 7x7 box, 300x300 images: at most 4.2 ``u`` with the
    factoring, where this bound gives 10 to 26 ``u``; the former ``2 * (kh + kw) + 4``
    ``eps`` gave 32 to 96 ``u``, and as many more values to replay.)
    """
    u = float(np.finfo(work).eps) / 2
    c, r = (f.astype(work).astype(np.float64) for f in info.factors)
    total = float(np.abs(info.weights).sum()) or 1.0
    residual = float(np.abs(np.outer(c, r) - info.weights).sum()) / total
    return residual + (sum(info.weights.shape) + 4) * u


def _int_type(lo: int, hi: int) -> np.dtype | None:
    """The narrowest accumulator for values in ``lo .. hi``."""
    if lo >= 0 and hi <= 65535:
        return np.dtype(np.int16) if hi <= 32767 else np.dtype(np.uint16)
    if -32768 <= lo and hi <= 32767:
        return np.dtype(np.int16)
    if -(2**31) <= lo and hi < 2**31:
        return np.dtype(np.int32)
    return None


def _sum_bounds(info: _KernelInfo, dtype: np.dtype, delta: float) -> tuple[int, int, int | None]:
    """Bounds of the integer accumulator: ``(lo, hi, offset)``.

    ``offset`` is ``delta`` in units of a power-of-two scale (added in integers before a
    rounding shift that adds up to ``2**(shift-1)``), or None when the finish is float64.
    """
    lo, hi = info.int_bound(_MAXVAL[dtype])
    shift = info.shift
    if shift is None or not (delta * 2.0**shift).is_integer() or abs(delta) * 2.0**shift >= 2**40:
        return lo, hi, None
    offset = int(delta * 2**shift)
    return lo + offset, hi + offset + (1 << (shift - 1) if shift else 0), offset


class _IntegerFinish:
    """Turning an exact ``sum(ints * pixel)`` into the result: scale, delta, rounding."""

    def __init__(self, route: _Route) -> None:
        info = route.info
        self.route = route
        self.shift = info.shift
        self.lo, self.hi, self.offset = _sum_bounds(info, route.dtype, route.delta)
        # a power-of-two scale with delta a whole number of scale units: all in integers
        self.exact = self.offset is not None
        if self.exact:
            lo, hi = info.int_bound(_MAXVAL[route.dtype])
            self.out_bounds = ((lo + self.offset) // 2**self.shift, -(-(hi + self.offset) // 2**self.shift))

    def passes(self) -> int:
        if not self.exact:
            return 6
        return (self.offset != 0) + (5 if self.shift and not self.route.float_output else 0) + 1

    def __call__(self, acc: np.ndarray, tmp: np.ndarray, out: np.ndarray, *, replay: _Replay | None = None,
                 y0: int = 0, x0: int = 0, stride: int | None = None, channel: int | None = None) -> None:
        """``out`` from the exact sums ``acc`` (whole numbers; ``tmp``: scratch like ``acc``).

        The other arguments as for :meth:`_Route.finish_float`.
        """
        route = self.route
        width = route.row_elems if channel is None else route.width
        if self.exact:
            if self.offset:
                np.add(acc, self.offset, out=acc)
            if route.float_output or acc.dtype.kind == "f":
                # exact in float32 below 2**24, as OpenCV's float32 sums are
                unit = np.float32(2.0**-self.shift) if acc.itemsize <= 2 else 2.0**-self.shift
                if route.float_output:
                    np.multiply(_valid(acc, stride, width), unit, out=out, casting="unsafe")
                    return
                np.multiply(acc, unit, out=acc)
                np.rint(acc, out=acc)
            else:
                _round_shift(acc, self.shift, tmp)
            _store(acc, _valid(acc, stride, width), out, *self.out_bounds, route.maxval)
            return
        # float64 (also for float32 sums): an exact product, one rounding
        values = np.multiply(_valid(acc, stride, width), route.info.scale, dtype=np.float64)
        if route.delta:
            values += route.delta
        if stride is None:
            route.finish_float(values, out, replay=replay, y0=y0, x0=x0)
        else:
            route.finish_float(values.reshape(-1), out, replay=replay, y0=y0, x0=x0, stride=width,
                               channel=channel)


class _IntegerRoute(_Route):
    """``sum(ints * pixel)`` in integers over shifted slices of a padded band."""

    name = "integer"

    @staticmethod
    def applicable(info: _KernelInfo, dtype: np.dtype, delta: float) -> str | None:
        """None when the route can run, else why not."""
        if dtype.kind != "u":
            return "it needs a uint8 or uint16 image"
        if info.ints is None:
            return "the kernel is not a scale times whole numbers"
        if _int_type(*_sum_bounds(info, dtype, delta)[:2]) is None:
            return "the kernel's whole numbers are too large for int32 sums"
        return None

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.finisher = _IntegerFinish(self)
        self.acc_type = _int_type(self.finisher.lo, self.finisher.hi)
        self.rows = self.band_rows(self.acc_type.itemsize)
        ints = self.info.ints
        self.groups = _groups([((y, x), int(ints[y, x])) for y, x, _ in self.info.terms])

    def passes(self) -> float:
        pad = (self.rows + self.kh - 1) / self.rows
        return pad + _ops(self.groups) + self.finisher.passes() + 4 * self.needs_replay()

    def cost(self) -> float:
        return self.band_cost(self.acc_type.itemsize)

    def describe(self) -> str:
        return (
            f"integer, {len(self.info.terms)} whole-number weights in "
            f"{_passes(_ops(self.groups), self.acc_type.name)}, in {self.rows}-row bands"
        )

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        pad = self.padder()
        replay = self.replay(image, pad)
        rows, kh, C, S = self.rows, self.kh, self.channels, self.padded_elems
        flat, band = self.flat_band(self.acc_type, rows)
        acc = _scratch("acc", rows * S, self.acc_type)
        tmp = _scratch("tmp", rows * S, self.acc_type)
        for r0 in range(y0, y1, rows):
            h = min(rows, y1 - r0)
            size = h * S
            pad.fill(band, image, r0, r0 + h + kh - 1)
            if replay:
                replay.start_rows(r0, r0 + h)

            def view(key, size=size):  # noqa: ANN001, ANN202
                start = key[0] * S + key[1] * C
                return flat[start : start + size]

            _combine(self.groups, view, acc[:size], tmp[:size], int)
            target = out[r0 : r0 + h].reshape(h, -1)
            self.finisher(acc[:size], tmp[:size], target, replay=replay, y0=r0, stride=S)
        if replay:
            replay.apply(out)


class _SeparableRoute(_Route):
    """Two 1-D passes: rows (``r``) then columns (``c``), integer or float32."""

    name = "separable"

    @staticmethod
    def applicable(info: _KernelInfo, dtype: np.dtype, delta: float,
                   float_output: bool = False) -> str | None:
        """None when the route can run, else why not."""
        if info.factors is None:
            return "the kernel is not separable (rank 1)"
        if dtype == np.uint16 and not float_output and not info.factors_exact:
            return "its 1-D factors give the kernel only to float32 precision, too coarse for uint16 results"
        return None

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        info = self.info
        whole = _IntegerRoute.applicable(info, self.dtype, self.delta) is None
        self.integer = info.int_factors is not None and whole
        if self.integer:
            c, r = info.int_factors
            maxval = _MAXVAL[self.dtype]
            self.finisher = _IntegerFinish(self)
            rlo, rhi = int(r[r < 0].sum()) * maxval, int(r[r > 0].sum()) * maxval
            self.work = _int_type(min(self.finisher.lo, rlo), max(self.finisher.hi, rhi))
            self.row_groups = _groups([(x, int(v)) for x, v in enumerate(r) if v])
            self.col_groups = _groups([(y, int(v)) for y, v in enumerate(c) if v])
            self.cast = int
        else:
            self.work = np.dtype(_float_work(self.dtype))
            c, r = (f.astype(self.work) for f in info.factors)
            self.row_groups = _groups([(x, float(v)) for x, v in enumerate(r) if v])
            self.col_groups = _groups([(y, float(v)) for y, v in enumerate(c) if v])
            self.cast = self.work.type
        self.rows = max(self.band_rows(self.work.itemsize), min(self.height, 2 * (self.kh - 1)))
        self.row_identity = self.kw == 1 and self.row_groups[0].factor == 1
        self.col_identity = self.kh == 1 and self.col_groups[0].factor == 1

    def relative_error(self) -> float:
        if self.integer:
            return 0.0
        return _factor_error(self.info, self.work)

    def passes(self) -> float:
        halo = (self.rows + self.kh - 1) / self.rows
        n = halo + (0 if self.row_identity else _ops(self.row_groups))  # row pass: carried over
        n += 0 if self.col_identity else _ops(self.col_groups)
        n += self.finisher.passes() if self.integer else (self.delta != 0) + 2
        return n + 4 * self.needs_replay()

    def cost(self) -> float:
        return self.band_cost(self.work.itemsize)

    def describe(self) -> str:
        kind = "whole-number" if self.integer else "float"
        return (
            f"separable, two 1-D {kind} passes ({self.kw} then {self.kh} taps) in "
            f"{self.work.name}, in {self.rows}-row bands"
        )

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        pad = self.padder()
        replay = self.replay(image, pad)
        rows, kh, C, S = self.rows, self.kh, self.channels, self.padded_elems
        flat, band = self.flat_band(self.work, rows)
        hpass = _scratch("hpass", (rows + kh - 1) * S, self.work)
        acc = _scratch("acc", rows * S, self.work)
        tmp = _scratch("tmp", (rows + kh - 1) * S + (self.kw - 1) * C, self.work)  # see _Scaled
        carried = 0  # rows at the top of the horizontal pass kept from the band before
        for r0 in range(y0, y1, rows):
            h = min(rows, y1 - r0)
            n = (h + kh - 1) * S
            size = h * S
            pad.fill(band[carried:], image, r0 + carried, r0 + h + kh - 1)
            if replay:
                replay.start_rows(r0, r0 + h)
            if self.row_identity:
                horizontal = flat[:n]
            else:
                horizontal = hpass[:n]
                first = carried * S

                def at_row(base, dx, m=n - first):  # noqa: ANN001, ANN202
                    return base[dx * C : dx * C + m]

                source = flat[first : n + (self.kw - 1) * C]
                _combine(self.row_groups, functools.partial(at_row, source), horizontal[first:],
                         tmp[: n - first], self.cast, self.scaled(source, at_row, tmp))
            if self.col_identity:
                a = horizontal[:size]
            else:
                a = acc[:size]

                def at_col(base, dy, size=size):  # noqa: ANN001, ANN202
                    return base[dy * S : dy * S + size]

                source = horizontal[:n]
                _combine(self.col_groups, functools.partial(at_col, source), a, tmp[:size], self.cast,
                         self.scaled(source, at_col, tmp))
            target = out[r0 : r0 + h].reshape(h, -1)
            if self.integer:
                self.finisher(a, tmp[:size], target, replay=replay, y0=r0, stride=S)
            else:
                if self.delta:
                    np.add(a, self.cast(self.delta), out=a)
                self.finish_float(a, target, scratch=tmp[:size], replay=replay, y0=r0, stride=S)
            if kh > 1:  # the next band's first kh - 1 padded rows are this band's last
                horizontal[: (kh - 1) * S] = horizontal[size:n]
                carried = kh - 1
        if replay:
            replay.apply(out)


class _MatmulRoute(_Route):
    """Two 1-D passes as products with banded (Toeplitz) matrices, run by BLAS.

    Rows: each block of ``_MATMUL_BLOCK`` output columns is the product of the padded
    rows' window (``block + kw - 1`` columns) with a matrix holding ``r`` on its
    diagonals; numpy's batched matmul runs all blocks of a band in one call. Columns:
    each ``_MATMUL_COL_ROWS`` output rows are a ``rows x (rows + kh - 1)`` matrix holding
    ``c`` times the horizontal result. BLAS does about ``block + kw + col_rows + kh``
    multiply-adds per pixel where shift-and-add does ``kw + kh``, but runs them so much
    faster that it wins for long kernels. Sums of whole numbers stay exact (below 2**24).
    """

    name = "matmul"
    applicable = staticmethod(_SeparableRoute.applicable)  # the same kernels as the separable route

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        info = self.info
        self.exact = False
        if self.dtype.kind == "u" and info.int_factors is not None:
            lo, hi = info.int_bound(_MAXVAL[self.dtype])
            whole = _IntegerRoute.applicable(info, self.dtype, self.delta) is None
            self.exact = max(-lo, hi) < 2**24 and whole
        self.work = np.dtype(np.float32 if self.exact else _float_work(self.dtype))
        c, r = (info.int_factors if self.exact else info.factors)
        c, r = np.asarray(c, self.work), np.asarray(r, self.work)
        if self.exact:
            self.finisher = _IntegerFinish(self)
        self.block = block = _MATMUL_BLOCK
        kh, kw = self.kh, self.kw
        self.rows = min(self.height, _MATMUL_ROWS)
        self.rows = -(-self.height // -(-self.height // self.rows))
        # column blocks of the column pass: each product small enough (M*N*K at most
        # _BLAS_SINGLE) that OpenBLAS runs it on one thread. Its own threads spin while
        # they wait, and stall whenever another program takes a core (measured: a 0.3 ms
        # product took 16 ms); the engine's threads share out the bands instead.
        self.col_rows = cr = min(self.rows, _MATMUL_COL_ROWS)
        fits = _BLAS_SINGLE // (cr * (cr + kh - 1) * block)
        self.col_block = block * max(1, 1 << (max(1, fits).bit_length() - 1))
        self.columns = -(-self.width // self.col_block) * self.col_block  # computed, >= width
        self.blocks = self.columns // block
        self.plane_width = self.columns + kw - 1
        self.row_matrix = np.zeros((block + kw - 1, block), self.work)
        for x in range(block):
            self.row_matrix[x : x + kw, x] = r
        self.col_matrix = np.zeros((cr, cr + kh - 1), self.work)
        for y in range(cr):
            self.col_matrix[y, y : y + kh] = c

    def relative_error(self) -> float:
        if self.exact:
            return 0.0
        return _factor_error(self.info, self.work)

    def cost(self) -> float:
        h = self.rows
        flops = 2 * (self.block + self.kw - 1) + 2 * (self.col_rows + self.kh - 1)  # row pass: carried over
        n = self.height * self.columns * self.channels
        passes = (h + self.kh - 1) / h + 4 + 4 * self.needs_replay()
        bands = -(-self.height // h)
        speed = _MATMUL_GFLOPS * 4 / self.work.itemsize
        return (n * (flops / speed + passes * _OP_NS[self.work.itemsize]) + bands * self.channels * _BAND_NS
                + self.replay_cost())

    def describe(self) -> str:
        kind = "whole-number float32" if self.exact else self.work.name
        return (
            f"matmul, two 1-D {kind} passes ({self.kw} then {self.kh} taps) as banded matrix "
            f"products (BLAS), in {self.rows}-row bands"
        )

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        pad = self.padder()
        replay = self.replay(image, pad)
        rows, kh, kw, C = self.rows, self.kh, self.kw, self.channels
        block, blocks, columns, pw = self.block, self.blocks, self.columns, self.plane_width
        n = rows + kh - 1
        work = self.work
        planes = _scratch("mm-planes", C * n * pw, work).reshape(C, n, pw)
        planes[:, :, self.width + kw - 1 :] = 0  # columns past the padding: finite waste
        band = planes[:, :, : self.width + kw - 1].transpose(1, 2, 0)  # filled as rows x cols x C
        hpass = _scratch("mm-rows", C * n * columns, work).reshape(C, n, columns)
        acc = _scratch("mm-acc", rows * columns, work).reshape(rows, columns)
        tmp = _scratch("mm-tmp", rows * columns, work).reshape(rows, columns)
        item = planes.itemsize
        carried = 0  # rows at the top of the row pass kept from the band before
        for r0 in range(y0, y1, rows):
            h = min(rows, y1 - r0)
            m = h + kh - 1
            pad.fill(band[carried:], image, r0 + carried, r0 + m)
            if replay:
                replay.start_rows(r0, r0 + h)
            for ch in range(C):
                windows = np.lib.stride_tricks.as_strided(
                    planes[ch, carried:], shape=(blocks, m - carried, block + kw - 1),
                    strides=(block * item, pw * item, item),
                )
                new_rows = hpass[ch, carried:m].reshape(m - carried, blocks, block).transpose(1, 0, 2)
                np.matmul(windows, self.row_matrix, out=new_rows)
                a = acc[:h]
                cb, cr = self.col_block, self.col_rows
                for y, rs in ((0, h - h % cr), (h - h % cr, h % cr)):  # whole blocks of cr rows, the rest
                    if not rs:
                        continue
                    nb = -(-rs // cr)
                    k = min(rs, cr)
                    sources = np.lib.stride_tricks.as_strided(
                        hpass[ch, y:], shape=(nb, columns // cb, k + kh - 1, cb),
                        strides=(cr * columns * item, cb * item, columns * item, item),
                    )
                    results = a[y : y + rs].reshape(nb, k, columns // cb, cb).transpose(0, 2, 1, 3)
                    np.matmul(self.col_matrix[:k, : k + kh - 1], sources, out=results)
                target = out[r0 : r0 + h, :, ch]
                flat, scratch = a.reshape(-1), tmp[:h].reshape(-1)
                if self.exact:
                    self.finisher(flat, scratch, target, replay=replay, y0=r0, stride=columns, channel=ch)
                else:
                    if self.delta:
                        np.add(flat, work.type(self.delta), out=flat)
                    self.finish_float(flat, target, scratch=scratch, replay=replay, y0=r0, stride=columns,
                                      channel=ch)
            if kh > 1:  # the next band's first kh - 1 padded rows are this band's last
                hpass[:, : kh - 1] = hpass[:, h:m]
                carried = kh - 1
        if replay:
            replay.apply(out)


def _smooth_numbers(limit: int) -> list[int]:
    """All numbers up to ``limit`` whose only prime factors are 2, 3 and 5, sorted."""
    found = [1]
    for p in (2, 3, 5):
        found = [m * p**k for m in found for k in range(int(math.log(limit, p)) + 2) if m * p**k <= limit]
    return sorted(set(found))


_SMOOTH = _smooth_numbers(1 << 14)


def _fast_len(n: int) -> int:
    """The smallest ``m >= n`` whose only prime factors are 2, 3 and 5.

    (Not 7: numpy's transforms with a factor 7 measured up to twice as slow per pixel.)

    >>> [_fast_len(n) for n in (1, 11, 97, 257, 1000)]
    [1, 12, 100, 270, 1000]
    """
    if n <= _SMOOTH[-1]:
        return _SMOOTH[bisect.bisect_left(_SMOOTH, n)]
    return 1 << (n - 1).bit_length()


# numpy's transforms of these lengths (2**a times 1, 3 or 5) measured fastest per pixel;
# lengths with factors 7 or 9 (441 = 9 * 49) ran up to twice as slow per pixel
_TILE_LENGTHS = tuple(sorted(m << a for m in (1, 3, 5) for a in range(5, 11) if 64 <= m << a <= 1024))


def _tile_cost(height: int, width: int, channels: int, kh: int, kw: int, lh: int, lw: int,
               itemsize: int = 8) -> float:
    """Estimated ns of overlap-save with ``lh x lw`` transforms of ``itemsize`` floats,
    the two passes that finish the output included."""
    th, tw = lh - kh + 1, lw - kw + 1
    tiles = -(-height // th) * -(-width // tw)
    per_tile = channels * (_FFT_NS[itemsize] * lh * lw * math.log2(lh * lw) + 3 * lh * lw * _OP_NS[itemsize])
    return tiles * (per_tile + _TILE_NS) + height * width * channels * 2 * _OP_NS[itemsize]


@functools.lru_cache(maxsize=256)
def _choose_tiles(height: int, width: int, channels: int, kh: int, kw: int,
                  threads: int = 1, itemsize: int = 8) -> tuple[int, int, float]:
    """The cheapest transform size ``(lh, lw, estimated ns)`` for an image and kernel.

    With several threads, a size that gives each thread a tile can beat one big tile, but
    only where the call is large enough to be shared out at all: where even its cheapest
    size is estimated at ``_FFT_THREAD_MIN_NS`` or more (:meth:`_Route.workers` then agrees,
    as the size chosen costs at least that). Below, the tiles run on one thread and the
    cheapest size is best (measured: 384x384 grey in 160x432 tiles took 1.12x as long as
    in one 432x432; 640x640 in 256x256 tiles on two threads, estimated just above the
    threshold, 1.1x as long as in 675x192 ones, the cheapest, estimated just below it).
    """
    if threads > 1 and _choose_tiles(height, width, channels, kh, kw, 1, itemsize)[2] < _FFT_THREAD_MIN_NS:
        threads = 1
    need_h, need_w = _fast_len(height + kh - 1), _fast_len(width + kw - 1)
    heights = sorted({min(m, need_h) for m in _TILE_LENGTHS if m >= min(2 * kh, need_h)} | {need_h})
    widths = sorted({min(m, need_w) for m in _TILE_LENGTHS if m >= min(2 * kw, need_w)} | {need_w})
    best = None
    for lh in heights:
        for lw in widths:
            if lh * lw > 1 << 20 and (lh, lw) != (heights[0], widths[0]):
                continue
            # float32 transforms of all channels together slow down by half or more once
            # they outgrow the L2 cache (measured: 3 x 384 x 384 took 2.3x as long as
            # 3 x 128 x 256 per pixel); see _FFT_TILE_ELEMS
            if itemsize == 4 and channels * lh * lw > _FFT_TILE_ELEMS and (lh, lw) != (heights[0], widths[0]):
                continue
            cost = _tile_cost(height, width, channels, kh, kw, lh, lw, itemsize)
            tiles = -(-height // (lh - kh + 1)) * -(-width // (lw - kw + 1))
            wall = cost / (1 + _FFT_THREAD_GAIN * (min(threads, tiles) - 1))
            if best is None or wall < best[3]:
                best = (lh, lw, cost, wall)
    assert best is not None
    return best[:3]


class _FFTRoute(_Route):
    """Overlap-save with real FFTs in tiles (float32 or float64, see the module)."""

    name = "fft"
    thread_gain = _FFT_THREAD_GAIN
    thread_min_ns = _FFT_THREAD_MIN_NS

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        info = self.info
        # integer images and a kernel that is a scale times whole numbers: transform the
        # whole numbers, snap the result to whole numbers (exact), then scale as the
        # integer route does (float64 noise is far below 0.5 for any int32 sum)
        self.snap = self.dtype.kind == "u" and _IntegerRoute.applicable(info, self.dtype, self.delta) is None
        if self.snap:
            self.finisher = _IntegerFinish(self)
        # float32 transforms where OpenCV's own result comes from its float32 DFT: 8-bit
        # results of a kernel that is not whole numbers, at or above OpenCV's DFT size.
        # Their noise (about 1e-7 of sum(|w * x|)) is then of the size of OpenCV's, and
        # they run nearly twice as fast as float64. Ties (snapping), uint16, float
        # results and the replayed range below the DFT size keep float64.
        self.work = np.dtype(np.float64)
        if (self.dtype == np.uint8 and not self.snap and not self.float_output
                and info.area >= CV2_DFT_AREA[self.dtype]):
            self.work = np.dtype(np.float32)
        self.complex = np.result_type(self.work, np.complex64)
        # numpy casts float32 transforms to float64 and back unless the scale factor is a
        # float32 (measured: 3-6x slower); "ortho" passes one and, forward and inverse
        # together, scales exactly as the default does
        self.norm = "ortho" if self.work == np.float32 else None
        self._spectrum: np.ndarray | None = None
        self.tile_h, self.tile_w, self._cost = _choose_tiles(
            self.height, self.width, self.channels, self.kh, self.kw, self.threads, self.work.itemsize
        )

    def relative_error(self) -> float:
        if self.snap:
            return 0.0
        return 1e-12 if self.work == np.float64 else 1e-6

    def cost(self) -> float:
        return self._cost + self.replay_cost()

    def describe(self) -> str:
        how = "snapped to whole sums" if self.snap else "unsnapped"
        return f"fft, overlap-save in {self.tile_h}x{self.tile_w} {self.work.name} transforms, {how}"

    def row_chunk(self) -> int:
        return self.tile_h - self.kh + 1

    def chunks(self, threads: int) -> list[tuple[int, int, int, int]]:
        th, tw = self.tile_h - self.kh + 1, self.tile_w - self.kw + 1
        if -(-self.height // th) >= threads:
            return super().chunks(threads)
        # fewer rows of tiles than threads: share out the tiles of each row of tiles too
        per = -(-(-(-self.width // tw)) // threads) * tw
        return [
            (y, min(self.height, y + th), x, min(self.width, x + per))
            for y in range(0, self.height, th) for x in range(0, self.width, per)
        ]

    def spectrum(self) -> np.ndarray:
        """The conjugate spectrum of the kernel (whole numbers when snapping), cached."""
        if self._spectrum is None:
            kernel = (self.info.ints if self.snap else self.info.weights).astype(np.float64)
            f = np.fft.fft(np.fft.rfft(kernel, n=self.tile_w, axis=1), n=self.tile_h, axis=0)
            self._spectrum = np.conj(f).astype(self.complex)
        return self._spectrum

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        pad = self.padder()
        replay = self.replay(image, pad)
        lh, lw, kh, kw, C = self.tile_h, self.tile_w, self.kh, self.kw, self.channels
        th, tw = lh - kh + 1, lw - kw + 1
        spectrum = self.spectrum()
        wp = self.width + kw - 1
        band = _scratch("fft-band", lh * wp * C, image.dtype).reshape(lh, wp, C)
        # beyond a tile's data (a partial tile at the image's end) the block is zeroed:
        # leftovers only reach dropped outputs in exact arithmetic (the transforms are
        # circular), but their rounding noise reaches every output, and a float image of
        # 1e30 left before made a later 16-bit call off by up to 65535
        work, cplx, norm = self.work, self.complex, self.norm
        block = _scratch(f"fft-block-{work}", C * lh * lw, work).reshape(C, lh, lw)
        # the transforms write into reused buffers (fresh ones cost as much as the FFTs),
        # in place: the spectrum in one, the result in the block. Two buffers of a tile
        # instead of four, so that larger tiles fit (_FFT_TILE_ELEMS); at the same tiles
        # this alone measured 0.96-1.03x the time (paired runs, in shuffled order)
        freq = _scratch(f"fft-freq-{work}", C * lh * (lw // 2 + 1), cplx).reshape(C, lh, lw // 2 + 1)
        result = block.reshape(-1)[: C * th * lw].reshape(C, th, lw)
        for r0 in range(y0, y1, th):
            h = min(th, y1 - r0)
            pad.fill(band, image, r0, r0 + h + kh - 1)
            if replay:
                replay.start_rows(r0, r0 + h)
            for c0 in range(x0, self.width if x1 is None else x1, tw):
                w = min(tw, self.width - c0)
                tile = band[: h + kh - 1, c0 : c0 + w + kw - 1].transpose(2, 0, 1)
                np.copyto(block[:, : h + kh - 1, : w + kw - 1], tile)
                if h + kh - 1 < lh:
                    block[:, h + kh - 1 :] = 0
                if w + kw - 1 < lw:
                    block[:, : h + kh - 1, w + kw - 1 :] = 0
                # the 2-D transforms as rows then columns, so that the inverse row
                # transform runs only on the h rows that are kept
                np.fft.rfft(block, axis=2, out=freq, norm=norm)
                np.fft.fft(freq, axis=1, out=freq, norm=norm)
                np.multiply(freq, spectrum, out=freq)
                np.fft.ifft(freq, axis=1, out=freq, norm=norm)
                values = np.fft.irfft(freq[:, :h], n=lw, axis=2, out=result[:, :h], norm=norm)[:, :, :w]
                target = out[r0 : r0 + h, c0 : c0 + w].transpose(2, 0, 1)
                if self.snap:
                    np.rint(values, out=values)
                    self.finisher(values, values, target, replay=replay, y0=r0, x0=c0)
                else:
                    if self.delta:
                        values += self.delta
                    self.finish_float(values, target, replay=replay, y0=r0, x0=c0)
        if replay:
            replay.apply(out)


# -- the engine -----------------------------------------------------------------------
_PLANS: dict[tuple, tuple[_Route, int]] = {}  # plans of recent calls (routes are immutable)
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads:  # noqa: SLF001
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imgconv-numpy")
        return _POOL


class NumpyEngine:
    """Correlation in numpy, picking the fastest exact strategy (see the module docstring).

    Parameters
    ----------
    strategy : {None, "shift", "integer", "separable", "fft"}
        None (the default) chooses by estimated cost; a name forces that route and raises
        ``ValueError`` when it cannot run the call (meant for tests and benchmarks).
    threads : int, optional
        Most threads to use on large images; default: the CPUs this process may use.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.borders import get_border
    >>> from imgconv.engines.base import CorrelationSpec
    >>> spec = CorrelationSpec(np.array([[-1, 0, 1]], np.float32), (1, 0), get_border("reflect101"))
    >>> NumpyEngine().correlate(np.array([[0, 0, 9, 9]], np.uint8), spec, float_output=False).tolist()
    [[0, 9, 9, 0]]
    >>> NumpyEngine().explain((480, 640), np.uint8, spec)
    'numpy: integer, 2 whole-number weights in 1 int16 pass, in 480-row bands'
    """

    name = "numpy"

    def __init__(self, strategy: str | None = None, *, threads: int | None = None) -> None:
        if strategy is not None and strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of: {', '.join(STRATEGIES)}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.strategy = strategy
        self.threads = threads

    # -- planning --
    def _routes(self, shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                float_output: bool) -> list[_Route]:
        dtype = np.dtype(dtype)
        if dtype not in (np.uint8, np.uint16, np.float32):
            raise ValueError(f"image dtype {dtype} is not supported; use uint8, uint16 or float32")
        shape3 = (shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
        info = _analyse(spec.kernel)
        args = (info, shape3, dtype, spec, float_output, self.threads or usable_cpus())
        # uint16 with a kernel whose float32 sums are not exact, in OpenCV's direct range:
        # only replaying OpenCV's arithmetic agrees with it (see the module docstring)
        faithful = (
            dtype == np.uint16 and not float_output and not _exact_in_float32(info, dtype, spec)
            and info.area < CV2_DFT_AREA[dtype]
        )
        wanted = self.strategy
        if wanted == "integer":
            why = _IntegerRoute.applicable(info, dtype, spec.delta)
            if why:
                raise ValueError(f"strategy 'integer' cannot run this call: {why}")
            return [_IntegerRoute(*args)]
        if wanted == "separable":
            why = _SeparableRoute.applicable(info, dtype, spec.delta, float_output)
            if why:
                raise ValueError(f"strategy 'separable' cannot run this call: {why}")
            return [_SeparableRoute(*args)]
        if wanted == "matmul":
            why = _MatmulRoute.applicable(info, dtype, spec.delta, float_output)
            if why:
                raise ValueError(f"strategy 'matmul' cannot run this call: {why}")
            return [_MatmulRoute(*args)]
        if wanted == "fft":
            return [_FFTRoute(*args)]
        if wanted == "shift" or faithful:
            return [_ShiftRoute(*args, faithful=faithful)]
        routes: list[_Route] = [_ShiftRoute(*args), _FFTRoute(*args)]
        if _IntegerRoute.applicable(info, dtype, spec.delta) is None:
            routes.append(_IntegerRoute(*args))
        if _SeparableRoute.applicable(info, dtype, spec.delta, float_output) is None:
            routes += [_SeparableRoute(*args), _MatmulRoute(*args)]
        return routes

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
              float_output: bool) -> tuple[_Route, int]:
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        key = (
            self.strategy, self.threads, tuple(shape), np.dtype(dtype).str, kernel.shape, kernel.tobytes(),
            tuple(spec.anchor), spec.border.name, float(spec.border_value), float(spec.delta), float_output,
        )
        plan = _PLANS.get(key)
        if plan is None:
            if len(_PLANS) >= 256:
                _PLANS.clear()
            plan = _PLANS[key] = self._new_plan(shape, dtype, spec, float_output)
        return plan

    def _new_plan(self, shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                  float_output: bool) -> tuple[_Route, int]:
        route = min(self._routes(shape, dtype, spec, float_output), key=lambda r: r.wall_time())
        return route, route.workers()

    def explain(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                *, float_output: bool = False) -> str:
        """One line saying how :meth:`correlate` would run this call.

        >>> import numpy as np
        >>> from imgconv.borders import get_border
        >>> from imgconv.engines.base import CorrelationSpec
        >>> sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
        >>> spec = CorrelationSpec(sobel, (1, 1), get_border("reflect101"))
        >>> NumpyEngine(threads=1).explain((512, 512), np.uint8, spec)
        'numpy: separable, two 1-D whole-number passes (3 then 3 taps) in int16, in 512-row bands'
        """
        route, threads = self._plan(tuple(image_shape), np.dtype(dtype), spec, float_output)
        text = f"numpy: {route.describe()}"
        if isinstance(route, (_FFTRoute, _MatmulRoute)) and np.dtype(dtype).kind == "f":
            text += " (shift-and-add instead if the image holds NaN or infinity)"
        if threads > 1:
            text += f", {threads} threads"
        return text

    # -- running --
    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        """Correlate ``image`` (H x W or H x W x C; uint8, uint16 or float32) with ``spec``.

        Returns an array of the same shape: float32 when ``float_output``, else the
        image's dtype, rounded half to even and saturated.
        """
        image = np.asarray(image)
        if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"image must be a non-empty H x W or H x W x C array, got shape {image.shape}")
        route, threads = self._plan(image.shape, image.dtype, spec, float_output)
        spreads = isinstance(route, (_FFTRoute, _MatmulRoute))  # a NaN over a whole tile or band
        if spreads and image.dtype.kind == "f" and not np.isfinite(image).all():
            shape3 = (route.height, route.width, route.channels)
            route = _ShiftRoute(route.info, shape3, image.dtype, spec, float_output, route.threads)
        image3 = image if image.ndim == 3 else image[:, :, None]
        out_dtype = np.float32 if float_output else image.dtype
        out = np.empty(image3.shape, out_dtype)
        height = image3.shape[0]
        if threads <= 1:
            _run(route, image3, out, 0, height)
        else:
            pool = _pool(threads)
            futures = [pool.submit(_run, route, image3, out, *chunk) for chunk in route.chunks(threads)]
            for f in futures:
                f.result()
        return out.reshape(image.shape)


def _run(route: _Route, *args) -> None:  # noqa: ANN002
    """``route.run`` with numpy's float warnings off (per thread): like OpenCV, a NaN or an
    infinity in a float image simply propagates."""
    with np.errstate(all="ignore"):
        route.run(*args)


def _exact_in_float32(info: _KernelInfo, dtype: np.dtype, spec: CorrelationSpec) -> bool:
    """True when every partial sum OpenCV forms in float32 is exact for this call.

    That is when the weights are whole multiples of ``2**-shift``, OpenCV's float32
    ``delta`` a whole multiple of ``2**-bits``, and every sum, counted in the finer of
    those units, stays below ``2**24``.
    """
    if dtype.kind != "u" or info.ints is None or info.shift is None:
        return False
    delta = float(np.float32(spec.delta))
    bits = 0
    while not (delta * 2.0**bits).is_integer():
        bits += 1
    finest = max(info.shift, bits)
    lo, hi = info.int_bound(_MAXVAL[dtype])
    return max(-lo, hi) * 2.0 ** (finest - info.shift) + abs(delta) * 2.0**finest < 2**24
