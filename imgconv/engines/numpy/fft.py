"""The FFT route: overlap-save in tiles, for large kernels that are not separable."""

from __future__ import annotations

import bisect
import functools
import math

import numpy as np

from ..analysis import CV2_DFT_AREA
from . import tuning
from .bands import scratch
from .integer import IntegerRoute
from .route import IntegerFinish, Route

__all__ = ["FFTRoute"]


def _smooth_numbers(limit: int) -> list[int]:
    """All numbers up to ``limit`` whose only prime factors are 2, 3 and 5, sorted."""
    found = [1]
    for p in (2, 3, 5):
        found = [m * p**k for m in found for k in range(int(math.log(limit, p)) + 2) if m * p**k <= limit]
    return sorted(set(found))


_SMOOTH = _smooth_numbers(1 << 14)


def _fast_len(n: int) -> int:
    """The smallest ``m >= n`` whose only prime factors are 2, 3 and 5.

    (Not 7: numpy's transforms with a factor 7 are slower per pixel; docs/numpy-engine.md.)

    >>> [_fast_len(n) for n in (1, 11, 97, 257, 1000)]
    [1, 12, 100, 270, 1000]
    """
    if n <= _SMOOTH[-1]:
        return _SMOOTH[bisect.bisect_left(_SMOOTH, n)]
    return 1 << (n - 1).bit_length()


# numpy's transforms of these lengths (2**a times 1, 3 or 5) are the fastest per pixel;
# not lengths with factors 7 or 9 (docs/numpy-engine.md)
_TILE_LENGTHS = tuple(sorted(m << a for m in (1, 3, 5) for a in range(5, 11) if 64 <= m << a <= 1024))


def _tile_cost(height: int, width: int, channels: int, kh: int, kw: int, lh: int, lw: int,
               itemsize: int = 8) -> float:
    """Estimated ns of overlap-save with ``lh x lw`` transforms of ``itemsize`` floats,
    the two passes that finish the output included."""
    th, tw = lh - kh + 1, lw - kw + 1
    tiles = -(-height // th) * -(-width // tw)
    per_tile = channels * (tuning.FFT_NS[itemsize] * lh * lw * math.log2(lh * lw) + 3 * lh * lw * tuning.OP_NS[itemsize])
    return tiles * (per_tile + tuning.TILE_NS) + height * width * channels * 2 * tuning.OP_NS[itemsize]


@functools.lru_cache(maxsize=256)
def _choose_tiles(height: int, width: int, channels: int, kh: int, kw: int,
                  threads: int = 1, itemsize: int = 8) -> tuple[int, int, float]:
    """The cheapest transform size ``(lh, lw, estimated ns)`` for an image and kernel.

    With several threads, a size that gives each thread a tile can beat one big tile, but
    only where the call is large enough to be shared out at all: where even its cheapest
    size is estimated at ``tuning.FFT_THREAD_MIN_NS`` or more (:meth:`Route.workers` then agrees,
    as the size chosen costs at least that). Below, the tiles run on one thread and the
    cheapest size is best (the measurements: docs/numpy-engine.md).
    """
    if threads > 1 and _choose_tiles(height, width, channels, kh, kw, 1, itemsize)[2] < tuning.FFT_THREAD_MIN_NS:
        threads = 1
    need_h, need_w = _fast_len(height + kh - 1), _fast_len(width + kw - 1)
    heights = sorted({min(m, need_h) for m in _TILE_LENGTHS if m >= min(2 * kh, need_h)} | {need_h})
    widths = sorted({min(m, need_w) for m in _TILE_LENGTHS if m >= min(2 * kw, need_w)} | {need_w})
    best = None
    for lh in heights:
        for lw in widths:
            if lh * lw > 1 << 20 and (lh, lw) != (heights[0], widths[0]):
                continue
            # float32 transforms of all channels together slow down once they outgrow the
            # L2 cache: tuning.FFT_TILE_ELEMS
            if itemsize == 4 and channels * lh * lw > tuning.FFT_TILE_ELEMS and (lh, lw) != (heights[0], widths[0]):
                continue
            cost = _tile_cost(height, width, channels, kh, kw, lh, lw, itemsize)
            tiles = -(-height // (lh - kh + 1)) * -(-width // (lw - kw + 1))
            wall = cost / (1 + tuning.FFT_THREAD_GAIN * (min(threads, tiles) - 1))
            if best is None or wall < best[3]:
                best = (lh, lw, cost, wall)
    assert best is not None
    return best[:3]


class FFTRoute(Route):
    """Overlap-save with real FFTs in tiles, float32 or float64 (``docs/numpy-engine.md``
    says which, and why)."""

    name = "fft"
    spreads = True
    thread_gain = tuning.FFT_THREAD_GAIN
    thread_min_ns = tuning.FFT_THREAD_MIN_NS

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        info = self.info
        # integer images and a kernel that is a scale times whole numbers: transform the
        # whole numbers, snap the result to whole numbers (exact), then scale as the
        # integer route does (float64 noise is far below 0.5 for any int32 sum)
        self.snap = self.dtype.kind == "u" and IntegerRoute.applicable(info, self.dtype, self.delta) is None
        if self.snap:
            self.finisher = IntegerFinish(self)
        # float32 transforms where OpenCV's own result comes from its float32 DFT: 8-bit
        # results of a kernel that is not whole numbers, at or above OpenCV's DFT size.
        # Their noise (about 1e-7 of sum(|w * x|)) is then of the size of OpenCV's, and
        # they run faster than float64. Ties (snapping), uint16, float results and the
        # replayed range below the DFT size keep float64.
        self.work = np.dtype(np.float64)
        if (self.dtype == np.uint8 and not self.snap and not self.float_output
                and info.area >= CV2_DFT_AREA[self.dtype]):
            self.work = np.dtype(np.float32)
        self.complex = np.result_type(self.work, np.complex64)
        # numpy casts float32 transforms to float64 and back (slower than float64 ones)
        # unless the scale factor is a float32; "ortho" passes one and, forward and
        # inverse together, scales exactly as the default does
        self.norm = "ortho" if self.work == np.float32 else None
        self._spectrum: np.ndarray | None = None
        # chosen as for at most tuning.PLAN_ROWS rows, so that a band is tiled as its image
        self.tile_h, self.tile_w, _ = _choose_tiles(
            min(self.height, tuning.PLAN_ROWS), self.width, self.channels, self.kh, self.kw, self.threads,
            self.work.itemsize,
        )
        self._cost = _tile_cost(self.height, self.width, self.channels, self.kh, self.kw, self.tile_h,
                                self.tile_w, self.work.itemsize)

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

    def bands(self, out, replay, x0, x1):  # noqa: ANN001, ANN201 - see Route.bands
        lh, lw, kh, kw, C = self.tile_h, self.tile_w, self.kh, self.kw, self.channels
        th, tw = lh - kh + 1, lw - kw + 1
        spectrum = self.spectrum()
        wp = self.width + kw - 1
        band = scratch("fft-band", lh * wp * C, self.dtype).reshape(lh, wp, C)
        # beyond a tile's data (a partial tile at the image's end) the block is zeroed:
        # leftovers only reach dropped outputs in exact arithmetic (the transforms are
        # circular), but their rounding noise reaches every output (a float image of 1e30
        # filtered before once made a later 16-bit call off by up to 65535)
        work, cplx, norm = self.work, self.complex, self.norm
        block = scratch(f"fft-block-{work}", C * lh * lw, work).reshape(C, lh, lw)
        # the transforms write into reused buffers (fresh ones cost as much as the FFTs),
        # in place: the spectrum in one, the result in the block (two buffers of a tile,
        # not four, so that larger tiles fit: tuning.FFT_TILE_ELEMS)
        freq = scratch(f"fft-freq-{work}", C * lh * (lw // 2 + 1), cplx).reshape(C, lh, lw // 2 + 1)
        result = block.reshape(-1)[: C * th * lw].reshape(C, th, lw)

        def compute(r0: int, h: int, carried: int) -> None:
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

        return band, compute
