"""Bands of padded rows: the padder, reused scratch buffers, and storing a band's results.

The band routes walk the image in bands of output rows; each band's padded source rows are
filled into one flat reused buffer (:class:`Padder`), so the extra memory is a few bands,
not a padded copy of the image.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np

from ..base import CorrelationSpec

__all__ = ["Padder", "scratch", "round_shift", "store", "valid_part"]


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


class Padder:
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


def scratch(slot: str, size: int, dtype: np.dtype) -> np.ndarray:
    """A flat buffer of ``size`` elements reused by this thread from call to call.

    Fresh large allocations cost a page fault per 4 KiB on first touch, comparable to a
    3x3 filter's own work on a small image. Buffers start zeroed; afterwards they hold
    whatever the last user left (the callers only ever leave finite numbers where it
    matters, see :meth:`Route.flat_band`).
    """
    dtype = np.dtype(dtype)
    buffers = _LOCAL.__dict__.setdefault("buffers", {})
    nbytes = size * dtype.itemsize
    raw = buffers.get(slot)
    if raw is None or raw.nbytes < nbytes:
        raw = buffers[slot] = np.zeros(max(nbytes, 64), np.uint8)
    return raw[:nbytes].view(dtype)


def round_shift(acc: np.ndarray, shift: int, tmp: np.ndarray) -> None:
    """``acc = rint(acc / 2**shift)`` (half to even) in integers, exactly."""
    if shift == 0:
        return
    np.right_shift(acc, shift, out=tmp)
    np.bitwise_and(tmp, 1, out=tmp)  # 1 when the rounded-down quotient is odd
    np.add(acc, tmp, out=acc)
    np.add(acc, (1 << (shift - 1)) - 1, out=acc)
    np.right_shift(acc, shift, out=acc)


def store(full: np.ndarray, valid: np.ndarray, out: np.ndarray, lo: float, hi: float,
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


def valid_part(values: np.ndarray, stride: int | None, width: int) -> np.ndarray:
    """The part of a band's values that is output: rows of ``stride``, ``width`` used."""
    return values if stride is None else values.reshape(-1, stride)[:, :width]
