"""What the routes need to know about a kernel and a call, computed once per kernel."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...dtypes import integer_max
from ...weights import integer_factors, integer_form
from ..base import CorrelationSpec

__all__ = ["KernelInfo", "analyse", "float_work", "factor_error", "int_type", "sum_bounds", "exact_in_float32"]


@dataclass(frozen=True, eq=False)
class KernelInfo:
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
def _analyse_cached(shape: tuple[int, int], data: bytes) -> KernelInfo:
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
    return KernelInfo(w, terms, scale, ints, shift, int_factors, factors, exact)


def analyse(kernel: np.ndarray) -> KernelInfo:
    k = np.ascontiguousarray(kernel, dtype=np.float32)
    return _analyse_cached(k.shape, k.tobytes())


def float_work(dtype: np.dtype) -> type:
    """The float type of the float routes: float64 for uint16 and float64 images, else float32.

    Float32 sums of uint16 pixels are off by up to ~0.02 levels, enough to decide a few
    roundings in a thousand: in float64 the routes round the exact value, and the replay
    (or the faithful route) reproduces OpenCV's own errors where they decide. Float
    results (``float_output``) of uint16 images are the exact sums rounded once to
    float32, as OpenCV's are from 50 cells on (its DFT of 16-bit images is float64);
    in float32 a zero-sum kernel's small results would carry errors of ~0.005.
    """
    return np.float64 if dtype in (np.uint16, np.float64) else np.float32


def factor_error(info: KernelInfo, work: np.dtype) -> float:
    """Error bound of two 1-D passes, relative to ``sum(|w|) * maxval``.

    Each rounding errs by at most ``u`` (half of ``eps``) of what it rounds, and the
    products' roundings together by ``u`` of the sum of ``|terms|``: a pass of ``k`` taps
    (grouped, or summed by BLAS in any order: its zero entries add exactly) is within
    ``k * u`` of that sum, the row pass's ``kw * u`` carried into the column pass's
    ``kh * u``; ``4 * u`` more for the offset and second-order terms. Plus how far
    ``outer(c, r)`` in the working type is from the kernel (docs/numpy-engine.md compares
    the bound with measured errors).
    """
    u = float(np.finfo(work).eps) / 2
    c, r = (f.astype(work).astype(np.float64) for f in info.factors)
    total = float(np.abs(info.weights).sum()) or 1.0
    residual = float(np.abs(np.outer(c, r) - info.weights).sum()) / total
    return residual + (sum(info.weights.shape) + 4) * u


def int_type(lo: int, hi: int) -> np.dtype | None:
    """The narrowest accumulator for values in ``lo .. hi``."""
    if lo >= 0 and hi <= 65535:
        return np.dtype(np.int16) if hi <= 32767 else np.dtype(np.uint16)
    if -32768 <= lo and hi <= 32767:
        return np.dtype(np.int16)
    if -(2**31) <= lo and hi < 2**31:
        return np.dtype(np.int32)
    return None


def sum_bounds(info: KernelInfo, dtype: np.dtype, delta: float) -> tuple[int, int, int | None]:
    """Bounds of the integer accumulator: ``(lo, hi, offset)``.

    ``offset`` is ``delta`` in units of a power-of-two scale (added in integers before a
    rounding shift that adds up to ``2**(shift-1)``), or None when the finish is float64.
    """
    lo, hi = info.int_bound(integer_max(dtype))
    shift = info.shift
    if shift is None or not (delta * 2.0**shift).is_integer() or abs(delta) * 2.0**shift >= 2**40:
        return lo, hi, None
    offset = int(delta * 2**shift)
    return lo + offset, hi + offset + (1 << (shift - 1) if shift else 0), offset


def exact_in_float32(info: KernelInfo, dtype: np.dtype, spec: CorrelationSpec) -> bool:
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
    lo, hi = info.int_bound(integer_max(dtype))
    return max(-lo, hi) * 2.0 ** (finest - info.shift) + abs(delta) * 2.0**finest < 2**24
