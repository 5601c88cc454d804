"""A route: one way to compute one call's correlation, with its cost, its error bound and the one band loop."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...dtypes import integer_max
from ...weights import sum_reach
from ..analysis import CV2_DFT_AREA
from ..base import CorrelationSpec
from . import tuning
from .bands import Padder, round_shift, scratch, store, valid_part
from .kernel_info import KernelInfo, exact_in_float32, sum_bounds
from .replay import Replay
from .sums import Scaled

__all__ = ["Route", "IntegerFinish"]


class Route:
    """One way to compute the correlation for one call (image geometry, dtype, kernel).

    The band routes keep a padded band of rows as one flat buffer whose rows are
    ``padded_elems`` long (the padded width times the channels): the kernel cell
    ``(dy, dx)`` is then the contiguous slice starting at ``dy * padded_elems + dx * C``,
    and every pass is one 1-D numpy loop. The last ``kw - 1`` columns of each result
    row are waste, dropped when the band is stored.
    """

    name = ""
    parallel = True  # whether bands may be shared between threads
    thread_gain = tuning.THREAD_GAIN  # what a second thread adds
    thread_min_ns = tuning.THREAD_MIN_NS  # the estimated time from which threads are used
    carry = 0  # padded rows a band hands on to the next, not filled again (see run)
    spreads = False  # whether a NaN or an infinity would spread over a whole tile or band

    @staticmethod
    def applicable(info: KernelInfo, dtype: np.dtype, delta: float, float_output: bool = False) -> str | None:
        """None when the route can run such a call, else why not (every route can, but a few)."""
        return None

    def __init__(self, info: KernelInfo, shape: tuple[int, int, int], dtype: np.dtype,
                 spec: CorrelationSpec, float_output: bool, threads: int = 1) -> None:
        self.info, self.spec = info, spec
        self.threads = threads  # the most threads the call may use
        self.height, self.width, self.channels = shape
        self.dtype = dtype
        self.float_output = float_output
        self.maxval = None if float_output or dtype.kind == "f" else integer_max(dtype)
        self.kh, self.kw = info.weights.shape
        self.delta = float(spec.delta)
        self.row_elems = self.width * self.channels
        self.padded_elems = (self.width + self.kw - 1) * self.channels
        self.faithful = False
        self.rows = 1
        self._padder: Padder | None = None
        self._needs_replay: bool | None = None
        self._tolerance: float | None = None
        self._bounds: tuple[float, float] | None = None

    def band_rows(self, itemsize: int) -> int:
        """Rows per band: about ``tuning.BAND_BYTES`` of accumulator, bands of equal height
        (in the first ``tuning.PLAN_ROWS`` rows: a band of a taller image is cut alike)."""
        height = min(self.height, tuning.PLAN_ROWS)
        most = int(max(1, min(height, tuning.BAND_BYTES // (self.padded_elems * itemsize))))
        return -(-height // -(-height // most))

    def flat_band(self, work: np.dtype, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """A flat band buffer for ``rows`` output rows, and its 3-D view to fill.

        The buffer runs ``(kw - 1) * C`` elements past the last padded row, so that the
        last row's shifted slices stay inside it; those are zeroed, so that the wasted
        columns computed from them are finite.
        """
        n = rows + self.kh - 1
        flat = scratch("band", n * self.padded_elems + (self.kw - 1) * self.channels, work)
        flat[n * self.padded_elems :] = 0
        return flat, flat[: n * self.padded_elems].reshape(n, self.width + self.kw - 1, self.channels)

    def cell_at(self, size: int) -> Callable[[np.ndarray, tuple[int, int]], np.ndarray]:
        """``at(base, (dy, dx))``: the ``size`` elements of the flat band ``base`` that kernel
        cell ``(dy, dx)`` multiplies (a contiguous slice: see the class docstring)."""
        S, C = self.padded_elems, self.channels

        def at(base: np.ndarray, key: tuple[int, int]) -> np.ndarray:
            start = key[0] * S + key[1] * C
            return base[start : start + size]

        return at

    def padder(self) -> Padder:
        """The padding geometry of this call (computed once per plan)."""
        if self._padder is None:
            self._padder = Padder((self.height, self.width, self.channels), self.dtype, self.spec)
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
            and not exact_in_float32(self.info, self.dtype, self.spec)
        )

    def replays(self) -> bool:
        """:meth:`needs_replay`, computed once."""
        if self._needs_replay is None:
            self._needs_replay = self.needs_replay()
        return self._needs_replay

    def replay(self, image: np.ndarray, pad: Padder) -> Replay | None:
        return Replay(self, image, pad) if self.replays() else None

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
                     replay: Replay | None = None, y0: int = 0, x0: int = 0,
                     stride: int | None = None, channel: int | None = None) -> None:
        """Float sums ``acc`` (delta included) -> ``out``: rounded and saturated, or as is.

        ``acc`` is a flat band with rows of ``stride`` elements (channels interleaved, or
        one ``channel``), or (``stride`` None) shaped like ``out``; it is clobbered. With
        a ``replay``, the pixels near a rounding boundary are noted (``y0, x0``: the image
        position of ``acc``'s first).
        """
        width = self.row_elems if channel is None else self.width
        if self.maxval is None:
            np.copyto(out, valid_part(acc, stride, width), casting="unsafe")
            return
        if replay is None:  # saturate, then round straight into the output
            lo, hi = self.value_bounds()
            if lo < 0 or hi > self.maxval:
                kind = acc.dtype.type
                np.clip(acc, kind(0), kind(self.maxval), out=acc)
            np.rint(valid_part(acc, stride, width), out=out, casting="unsafe")
            return
        else:
            rounded = np.rint(acc, out=scratch)
            np.subtract(acc, rounded, out=acc)
            np.abs(acc, out=acc)
            replay.collect(acc if stride is None else acc.reshape(-1, stride), y0, x0, channel)
        store(rounded, valid_part(rounded, stride, width), out, *self.value_bounds(), self.maxval)

    def scaled(self, source: np.ndarray, at, buf: np.ndarray) -> Scaled | None:  # noqa: ANN001
        """Scaled views for :func:`combine` on float32 images (their values can near
        float32's limit), else None."""
        return Scaled(source, at, buf) if self.dtype == np.float32 else None

    def cost(self) -> float:
        raise NotImplementedError

    def band_cost(self, itemsize: int) -> float:
        """The estimated ns of a band route: :meth:`passes` over the padded image in
        elements of ``itemsize`` bytes, each band's fixed cost, and the replay's."""
        n = self.height * self.padded_elems
        bands = -(-self.height // self.rows)
        return n * self.passes() * tuning.OP_NS[itemsize] + bands * tuning.BAND_NS + self.replay_cost()

    def replay_cost(self) -> float:
        """Estimated ns of replaying OpenCV's arithmetic (:class:`Replay`) for the values
        within its tolerance of a ``.5``: a fraction of about twice the tolerance, each
        ``tuning.REPLAY_TERM_NS`` per weight (the passes that find them count in :meth:`passes`)."""
        if not self.replays():
            return 0.0
        share = min(1.0, 2 * max(0.0, self.replay_tolerance()))
        return self.height * self.row_elems * share * len(self.info.terms) * tuning.REPLAY_TERM_NS

    def describe(self) -> str:
        raise NotImplementedError

    def row_chunk(self) -> int:
        """Rows a thread's share must be a multiple of (the band height)."""
        return self.rows

    def chunks(self, threads: int) -> list[tuple[int, int, int, int]]:
        """Shares of the output for ``threads`` threads: ``(y0, y1, x0, x1)`` each."""
        chunk = self.row_chunk()
        height = min(self.height, tuning.PLAN_ROWS)  # shares begin where a band's would: at multiples
        per = -(-(-(-height // chunk)) // threads) * chunk
        return [(y, min(self.height, y + per), 0, self.width) for y in range(0, self.height, per)]

    def workers(self, tall: bool = False) -> int:
        """How many threads this call is worth (1 for small images and BLAS routes;
        ``tall``: as for an image taller than ``tuning.PLAN_ROWS``, always worth them)."""
        if not self.parallel or self.threads <= 1 or (not tall and self.cost() < self.thread_min_ns):
            return 1
        return min(self.threads, len(self.chunks(self.threads)))

    def wall_time(self, tall: bool = False) -> float:
        """Estimated ns with :meth:`workers` threads (each further core counts for
        :attr:`thread_gain`)."""
        return self.cost() / (1 + self.thread_gain * (self.workers(tall) - 1))

    def run(self, image: np.ndarray, out: np.ndarray, y0: int, y1: int, x0: int = 0,
            x1: int | None = None) -> None:
        """Compute output rows ``y0 .. y1-1`` into ``out`` (the FFT route: only columns
        ``x0 .. x1-1``): the one band loop of every route.

        For each band of :meth:`row_chunk` output rows: the replay, if any, notes the rows'
        tails; the band's padded source rows are filled (but the first :attr:`carry`, from
        the second band on); the route computes the band (:meth:`bands`). At the end the
        replay recomputes the values it collected with OpenCV's arithmetic.
        """
        pad = self.padder()
        replay = self.replay(image, pad)
        padded, compute = self.bands(out, replay, x0, x1)
        step = self.row_chunk()
        carried = 0
        for r0 in range(y0, y1, step):
            h = min(step, y1 - r0)
            if replay:
                replay.start_rows(r0, r0 + h)
            pad.fill(padded[carried:], image, r0 + carried, r0 + h + self.kh - 1)
            compute(r0, h, carried)
            carried = self.carry
        if replay:
            replay.apply(out)

    def bands(self, out: np.ndarray, replay: Replay | None, x0: int,
              x1: int | None) -> tuple[np.ndarray, Callable[[int, int, int], None]]:
        """What each route does differently in :meth:`run`: its buffers for this call.

        Returns the padded band that :meth:`run` fills (padded rows x padded width x
        channels) and ``compute(r0, h, carried)``, which computes output rows
        ``r0 .. r0+h-1`` into ``out`` from the band's first ``h + kh - 1`` rows (the first
        ``carried`` of them not filled again: the route kept what it made of them).
        """
        raise NotImplementedError


class IntegerFinish:
    """Turning an exact ``sum(ints * pixel)`` into the result: scale, delta, rounding."""

    def __init__(self, route: Route) -> None:
        info = route.info
        self.route = route
        self.shift = info.shift
        self.lo, self.hi, self.offset = sum_bounds(info, route.dtype, route.delta)
        # a power-of-two scale with delta a whole number of scale units: all in integers
        self.exact = self.offset is not None
        if self.exact:
            lo, hi = info.int_bound(integer_max(route.dtype))
            self.out_bounds = ((lo + self.offset) // 2**self.shift, -(-(hi + self.offset) // 2**self.shift))

    def passes(self) -> int:
        if not self.exact:
            return 6
        return (self.offset != 0) + (5 if self.shift and not self.route.float_output else 0) + 1

    def __call__(self, acc: np.ndarray, tmp: np.ndarray, out: np.ndarray, *, replay: Replay | None = None,
                 y0: int = 0, x0: int = 0, stride: int | None = None, channel: int | None = None) -> None:
        """``out`` from the exact sums ``acc`` (whole numbers; ``tmp``: scratch like ``acc``).

        The other arguments as for :meth:`Route.finish_float`.
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
                    np.multiply(valid_part(acc, stride, width), unit, out=out, casting="unsafe")
                    return
                np.multiply(acc, unit, out=acc)
                np.rint(acc, out=acc)
            else:
                round_shift(acc, self.shift, tmp)
            store(acc, valid_part(acc, stride, width), out, *self.out_bounds, route.maxval)
            return
        # float64 (also for float32 sums): an exact product, one rounding
        values = np.multiply(valid_part(acc, stride, width), route.info.scale, dtype=np.float64)
        if route.delta:
            values += route.delta
        if stride is None:
            route.finish_float(values, out, replay=replay, y0=y0, x0=x0)
        else:
            route.finish_float(values.reshape(-1), out, replay=replay, y0=y0, x0=x0, stride=width,
                               channel=channel)
