"""Replaying OpenCV's own float32 arithmetic for the values whose rounding it decides."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import tuning
from .bands import Padder

if TYPE_CHECKING:
    from .route import Route

__all__ = ["Replay"]


def _tail_start(route: Route) -> int:
    """Where OpenCV's scalar tail starts in an output row (values ``x * C + c``).

    OpenCV's rows are the image's, except where the cv2 engine filters a padded copy
    (wrap, and a constant border other than 0): there they end ``kw - 1`` pixels later.
    """
    spec = route.spec
    if not spec.border.filter2d_extends(spec.border_value):
        padded = route.padded_elems
        return padded - padded % 4 - spec.padding()[2] * route.channels
    return route.row_elems - route.row_elems % 4


class Replay:
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

    def __init__(self, route: Route, image: np.ndarray, pad: Padder) -> None:
        info = route.info
        self.route, self.image, self.pad = route, image, pad
        self.kh, self.kw = info.weights.shape
        terms = info.terms
        self.dy = np.array([t[0] for t in terms], np.int64)
        self.dx = np.array([t[1] for t in terms], np.int64)
        self.w = np.array([t[2] for t in terms], np.float64)
        self.cells = None if len(terms) == info.weights.size else self.dy * self.kw + self.dx
        # the terms' flat source indices in int32 where they fit (half the memory traffic)
        small = image.size < tuning.INT32_INDICES
        self.index_type, self.never = (np.int32, -tuning.INT32_INDICES) if small else (np.int64, -(2**40))
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
        for k in range(0, len(y), tuning.REPLAY_CHUNK):
            part = slice(k, k + tuning.REPLAY_CHUNK)
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
