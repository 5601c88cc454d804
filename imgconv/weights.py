"""Weight arithmetic: a kernel's whole-number form, its exact 1-D factors, its reach.

The values that describe a weight matrix, below both the kernels (which show them) and
the engines (which choose exact routes with them), so neither imports the other.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["integer_form", "integer_factors", "sum_reach"]


def sum_reach(weights: np.ndarray, magnitude: float, offset: float = 0.0) -> float:
    """The largest ``|sum(w * x) + offset|`` for pixels of at most ``magnitude``.

    >>> sum_reach(np.array([[1.0, -2.0, 1.0]]), 255, 3)
    1023.0
    """
    return float(np.abs(np.asarray(weights, np.float64)).sum()) * float(magnitude) + abs(float(offset))


def integer_form(w: np.ndarray) -> tuple[float, np.ndarray | None, int | None]:
    """``(scale, ints, shift)`` with ``w == scale * ints`` exactly, ``ints`` whole and coprime.

    ``shift`` is set when ``scale == 2**-shift`` (a dyadic kernel such as ``[1,4,6,4,1]/16``);
    ``ints`` is None when the weights are too far apart in magnitude for int64.

    >>> integer_form(np.array([[0.25, 0.5, 0.25]]))
    (0.25, array([[1, 2, 1]]), 2)
    """
    w = np.asarray(w, dtype=np.float64)
    nz = w[w != 0]
    if nz.size == 0:
        return 1.0, np.zeros(w.shape, np.int64), 0
    mant, expo = np.frexp(nz)  # nz = mant * 2**expo, 0.5 <= |mant| < 1
    m = np.abs(mant * 2.0**53).astype(np.int64)  # whole numbers
    low = expo - 53 + np.log2(m & -m).astype(np.int64)  # exponent of the lowest set bit
    emin = int(low.min())
    if int(expo.max()) - emin > 52:  # weights too far apart for int64
        return 1.0, None, None
    ints = np.ldexp(w, -emin).astype(np.int64)
    g = int(np.gcd.reduce(np.abs(ints[ints != 0])))
    ints //= g
    if emin >= 0:  # a whole-number scale: fold it into the integers
        factor = g << emin
        if int(np.abs(ints).max()) * factor >= 2**52:  # Python ints: factor may pass 2**63
            return float(factor), ints, None
        return 1.0, ints * factor, 0
    scale = math.ldexp(g, emin)
    return scale, ints, (-emin if g == 1 else None)


def integer_factors(ints: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Whole-number ``(column, row)`` with ``ints == outer(column, row)``, ``row`` coprime.

    >>> integer_factors(np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]))
    (array([1, 2, 1]), array([-1,  0,  1]))
    """
    if not ints.any():
        return None
    i = int(np.argmax(np.abs(ints).max(axis=1)))
    row = ints[i]
    r = row // int(np.gcd.reduce(np.abs(row[row != 0])))
    j = int(np.flatnonzero(r)[0])
    if np.any(ints[:, j] % r[j]):
        return None
    c = ints[:, j] // r[j]
    if not np.array_equal(np.outer(c, r), ints):
        return None
    if c[np.argmax(np.abs(c))] < 0:
        c, r = -c, -r
    return c, r
