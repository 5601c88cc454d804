"""What both engines need to know to reproduce ``cv2.filter2D`` exactly by another route.

Which kernels OpenCV filters through its DFT, and when a separable pass rounds exactly as
its 2-D filter does. The weight arithmetic these build on is :mod:`imgconv.weights`.
"""

from __future__ import annotations

import math

import numpy as np

from ..weights import integer_factors, integer_form, sum_reach

__all__ = ["CV2_DFT_AREA", "DFT_ALLOWANCE", "exact_separable", "odd_denominator_separable"]

# From how many kernel cells cv2.filter2D correlates through a DFT instead of direct sums,
# for integer results, by image type (measured with OpenCV 5.0; 16-bit and float64 images:
# a float64 DFT). Its sums are then not exact, so no other route reproduces them bit for
# bit. Below it, a float64 image's sums are float64, from delta, in row-major order.
CV2_DFT_AREA = {np.dtype(np.uint8): 130, np.dtype(np.float32): 130, np.dtype(np.uint16): 50,
                np.dtype(np.float64): 50}

_U = 2.0**-24  # float32's unit roundoff
# filter2D's float32 DFT (from 130 cells on 8-bit results, 50 on others) has no error bound
# to prove; this allowance, as a fraction of the sum's reach, is 4x the one the numpy engine
# assumes for it and 11x the largest error seen (3.5e-7 of the reach, over 12.6 million
# pixels of noise images and box kernels of 11 to 31 taps a side)
DFT_ALLOWANCE = 4e-6


def exact_separable(kernel: np.ndarray, max_pixel: float) -> tuple[np.ndarray, np.ndarray] | None:
    """float32 ``(column, row)`` whose two 1-D passes give exactly the 2-D result, or None.

    Both passes are exact in float32 when the kernel is whole numbers times a power of two
    and no partial sum needs more than 22 bits, so a
    separable filter and the 2-D filter produce the same floats and round them alike.
    The power of two goes with one factor, the other stays whole numbers: were both
    smoothing factors (non-negative, summing to 1), ``cv2.sepFilter2D`` would take its 8-bit
    fixed-point path, which rounds ties up where filter2D rounds them to even.

    >>> [f.tolist() for f in exact_separable(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256, 255)]
    [[0.00390625, 0.015625, 0.0234375, 0.015625, 0.00390625], [1.0, 4.0, 6.0, 4.0, 1.0]]
    """
    scale, ints, shift = integer_form(kernel)
    if ints is None or shift is None or shift > 16:
        return None
    factors = integer_factors(ints)
    if factors is None:
        return None
    column, row = factors
    # 2**22, not 2**24: two bits of margin, since filter2D's vectorised sums were seen to
    # drift (by 5e-5) for a 9x9 binomial whose exact sums need all 24 bits
    if max_pixel * float(np.abs(column).sum()) * float(np.abs(row).sum()) >= 2**22:
        return None
    column_f = np.ldexp(column.astype(np.float64), -shift)
    row_f = row.astype(np.float64)
    if _smoothing(column_f) and _smoothing(row_f):  # row is a single 1: scale it instead
        column_f, row_f = column.astype(np.float64), np.ldexp(row.astype(np.float64), -shift)
    return column_f.astype(np.float32), row_f.astype(np.float32)


def _smoothing(factor: np.ndarray) -> bool:
    """OpenCV's KERNEL_SMOOTH: no negative weight, and a sum of 1."""
    return bool(np.all(factor >= 0)) and abs(float(factor.sum()) - 1) <= 1e-7


def odd_denominator_separable(kernel: np.ndarray, max_pixel: float, delta: float = 0.0,
                              ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """float32 ``(column, row, D)`` for ``cv2.sepFilter2D`` where it rounds to the same
    integers as ``cv2.filter2D``, though neither sums exactly; else None.

    That is for kernels that are whole numbers ``c * r`` (outer product) over an odd ``D``
    (box blurs: ``ones / n**2``; tents), ``delta`` a whole multiple of ``1/D``, stored as
    the float32 nearest to each ``ints / D``. Every exact sum is then a whole number over
    ``D``, which is never a tie: it lies at least ``1 / (2 D)`` from the nearest ``.5``.
    Both filters round it correctly when their errors stay below that:

    * sepFilter2D with the whole-number row ``r`` (an exact pass while its sums stay below
      ``2**24``) and the column ``c / D``: at most ``(kh + kw + 2)`` roundoffs of the reach;
    * filter2D: its direct sums at most ``(kh * kw + 1)`` roundoffs of the reach, and its
      DFT within :data:`DFT_ALLOWANCE` of it. OpenCV switches to the DFT at 130 cells for
      8-bit images and at 50 for 16-bit ones (:data:`CV2_DFT_AREA`): from 50 cells to
      the switch, the larger of the two counts.

    >>> column, row, d = odd_denominator_separable(np.full((15, 15), 1 / 225, np.float32), 255)
    >>> d, row.tolist() == [1.0] * 15, float(column[0]) == float(np.float32(1 / 225))
    (225, True, True)
    >>> odd_denominator_separable(np.full((23, 23), 1 / 529, np.float32), 255) is None  # too close to .5
    True
    """
    w = np.asarray(kernel, np.float32)
    if w.size == 0 or not np.isfinite(w).all() or not w.any():
        return None
    values = set(np.abs(w[w != 0]).tolist())  # not np.unique: it imports numpy.ma (18 ms)
    if all(value.is_integer() for value in values):  # D = 1: exact sums, no rounding to match
        return None
    from fractions import Fraction  # imported here: 5 ms, which most kernels never need

    d = 1
    for value in sorted(values):
        nearest = Fraction(float(value)).limit_denominator(1 << 12)
        if np.float32(nearest.numerator / nearest.denominator) != value:  # not a small fraction
            return None
        d = math.lcm(d, nearest.denominator)
        if d > 1 << 16:
            return None
    if d % 2 == 0 or d < 3:  # even: ties exist (dyadic kernels are exact_separable's)
        return None
    ints = np.rint(w.astype(np.float64) * d).astype(np.int64)
    if not np.array_equal((ints / d).astype(np.float32), w):
        return None
    if float(delta) * d != round(float(delta) * d):
        return None
    factors = integer_factors(ints)
    if factors is None:
        return None
    column, row = factors
    if float(np.abs(row).sum()) * max_pixel >= 2**24:  # the row pass would not be exact
        return None
    kh, kw = ints.shape
    reach = sum_reach(ints / d, max_pixel, delta)
    separable_error = (kh + kw + 2) * _U * reach
    direct = (kh * kw + 1) * _U  # filter2D sums directly below 130 cells (8-bit), or 50
    relative = direct if kh * kw < 50 else max(direct, DFT_ALLOWANCE) if kh * kw < 130 else DFT_ALLOWANCE
    filter2d_error = relative * reach
    if max(separable_error, filter2d_error) >= 1 / (2 * d):
        return None
    return (column / d).astype(np.float32), row.astype(np.float32), d
