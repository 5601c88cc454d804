"""The separable routes: two 1-D passes, by shift-and-add (``separable``) or BLAS products (``matmul``)."""

from __future__ import annotations

import functools

import numpy as np

from ...dtypes import integer_max
from . import tuning
from .bands import scratch
from .integer import IntegerRoute
from .kernel_info import KernelInfo, factor_error, float_work, int_type
from .route import IntegerFinish, Route
from .sums import combine, groups, ops

__all__ = ["SeparableRoute", "MatmulRoute"]


class SeparableRoute(Route):
    """Two 1-D passes: rows (``r``) then columns (``c``), integer or float32."""

    name = "separable"

    @staticmethod
    def applicable(info: KernelInfo, dtype: np.dtype, delta: float,
                   float_output: bool = False) -> str | None:
        """None when the route can run, else why not."""
        if info.factors is None:
            return "the kernel is not separable (rank 1)"
        if dtype == np.float64:
            return "float64 images are summed in float64 by the shift and fft routes"
        if dtype == np.uint16 and not float_output and not info.factors_exact:
            return "its 1-D factors give the kernel only to float32 precision, too coarse for uint16 results"
        return None

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        info = self.info
        whole = IntegerRoute.applicable(info, self.dtype, self.delta) is None
        self.integer = info.int_factors is not None and whole
        if self.integer:
            c, r = info.int_factors
            maxval = integer_max(self.dtype)
            self.finisher = IntegerFinish(self)
            rlo, rhi = int(r[r < 0].sum()) * maxval, int(r[r > 0].sum()) * maxval
            self.work = int_type(min(self.finisher.lo, rlo), max(self.finisher.hi, rhi))
            self.row_groups = groups([(x, int(v)) for x, v in enumerate(r) if v])
            self.col_groups = groups([(y, int(v)) for y, v in enumerate(c) if v])
            self.cast = int
        else:
            self.work = np.dtype(float_work(self.dtype))
            c, r = (f.astype(self.work) for f in info.factors)
            self.row_groups = groups([(x, float(v)) for x, v in enumerate(r) if v])
            self.col_groups = groups([(y, float(v)) for y, v in enumerate(c) if v])
            self.cast = self.work.type
        self.rows = max(self.band_rows(self.work.itemsize), min(self.height, 2 * (self.kh - 1)))
        self.carry = self.kh - 1  # a band's last padded rows are the next's first: their row pass is kept
        self.row_identity = self.kw == 1 and self.row_groups[0].factor == 1
        self.col_identity = self.kh == 1 and self.col_groups[0].factor == 1

    def relative_error(self) -> float:
        if self.integer:
            return 0.0
        return factor_error(self.info, self.work)

    def passes(self) -> float:
        halo = (self.rows + self.kh - 1) / self.rows
        n = halo + (0 if self.row_identity else ops(self.row_groups))  # row pass: carried over
        n += 0 if self.col_identity else ops(self.col_groups)
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

    def bands(self, out, replay, x0, x1):  # noqa: ANN001, ANN201 - see Route.bands
        rows, kh, C, S = self.rows, self.kh, self.channels, self.padded_elems
        flat, band = self.flat_band(self.work, rows)
        hpass = scratch("hpass", (rows + kh - 1) * S, self.work)
        acc = scratch("acc", rows * S, self.work)
        tmp = scratch("tmp", (rows + kh - 1) * S + (self.kw - 1) * C, self.work)  # see Scaled

        def compute(r0: int, h: int, carried: int) -> None:
            n = (h + kh - 1) * S
            size = h * S
            if self.row_identity:
                horizontal = flat[:n]
            else:
                horizontal = hpass[:n]
                first = carried * S

                def at_row(base, dx, m=n - first):  # noqa: ANN001, ANN202
                    return base[dx * C : dx * C + m]

                source = flat[first : n + (self.kw - 1) * C]
                combine(self.row_groups, functools.partial(at_row, source), horizontal[first:],
                        tmp[: n - first], self.cast, self.scaled(source, at_row, tmp))
            if self.col_identity:
                a = horizontal[:size]
            else:
                a = acc[:size]

                def at_col(base, dy, size=size):  # noqa: ANN001, ANN202
                    return base[dy * S : dy * S + size]

                source = horizontal[:n]
                combine(self.col_groups, functools.partial(at_col, source), a, tmp[:size], self.cast,
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

        return band, compute


class MatmulRoute(Route):
    """Two 1-D passes as products with banded (Toeplitz) matrices, run by BLAS.

    Rows: each block of ``tuning.MATMUL_BLOCK`` output columns is the product of the padded
    rows' window (``block + kw - 1`` columns) with a matrix holding ``r`` on its
    diagonals; numpy's batched matmul runs all blocks of a band in one call. Columns:
    each ``tuning.MATMUL_COL_ROWS`` output rows are a ``rows x (rows + kh - 1)`` matrix holding
    ``c`` times the horizontal result. BLAS does about ``block + kw + col_rows + kh``
    multiply-adds per pixel where shift-and-add does ``kw + kh``, but runs them so much
    faster that it wins for long kernels. Sums of whole numbers stay exact (below 2**24).
    """

    name = "matmul"
    spreads = True
    applicable = staticmethod(SeparableRoute.applicable)  # the same kernels as the separable route

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        info = self.info
        self.exact = False
        if self.dtype.kind == "u" and info.int_factors is not None:
            lo, hi = info.int_bound(integer_max(self.dtype))
            whole = IntegerRoute.applicable(info, self.dtype, self.delta) is None
            self.exact = max(-lo, hi) < 2**24 and whole
        self.work = np.dtype(np.float32 if self.exact else float_work(self.dtype))
        c, r = (info.int_factors if self.exact else info.factors)
        c, r = np.asarray(c, self.work), np.asarray(r, self.work)
        if self.exact:
            self.finisher = IntegerFinish(self)
        self.block = block = tuning.MATMUL_BLOCK
        kh, kw = self.kh, self.kw
        height = min(self.height, tuning.PLAN_ROWS)  # a band of a taller image is cut alike
        self.rows = min(height, tuning.MATMUL_ROWS)
        self.rows = -(-height // -(-height // self.rows))
        # no rows carried from band to band: every band's row pass is one product of the
        # same shape, as BLAS rounds a value differently in products of other shapes; so a
        # result does not depend on where a thread's share (or a streamed band) begins
        self.carry = 0
        # column blocks of the column pass: each product small enough (M*N*K at most
        # tuning.BLAS_SINGLE) that OpenBLAS runs it on one thread. Its own threads spin while
        # they wait, and stall whenever another program takes a core; the engine's threads
        # share out the bands instead.
        self.col_rows = cr = min(self.rows, tuning.MATMUL_COL_ROWS)
        fits = tuning.BLAS_SINGLE // (cr * (cr + kh - 1) * block)
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
        return factor_error(self.info, self.work)

    def cost(self) -> float:
        h = self.rows
        flops = 2 * (self.block + self.kw - 1) * (h + self.kh - 1) / h + 2 * (self.col_rows + self.kh - 1)
        n = self.height * self.columns * self.channels
        passes = (h + self.kh - 1) / h + 4 + 4 * self.needs_replay()
        bands = -(-self.height // h)
        speed = tuning.MATMUL_GFLOPS * 4 / self.work.itemsize
        per_element = flops / speed + passes * tuning.OP_NS[self.work.itemsize]
        if self.channels > 1:
            per_element *= tuning.MATMUL_CHANNELS
        return n * per_element + bands * self.channels * tuning.BAND_NS + self.replay_cost()

    def describe(self) -> str:
        kind = "whole-number float32" if self.exact else self.work.name
        return (
            f"matmul, two 1-D {kind} passes ({self.kw} then {self.kh} taps) as banded matrix "
            f"products (BLAS), in {self.rows}-row bands"
        )

    def bands(self, out, replay, x0, x1):  # noqa: ANN001, ANN201 - see Route.bands
        rows, kh, kw, C = self.rows, self.kh, self.kw, self.channels
        columns, pw = self.columns, self.plane_width
        n = rows + kh - 1
        work = self.work
        planes = scratch("mm-planes", C * n * pw, work).reshape(C, n, pw)
        planes[:, :, self.width + kw - 1 :] = 0  # columns past the padding: finite waste
        band = planes[:, :, : self.width + kw - 1].transpose(1, 2, 0)  # filled as rows x cols x C
        hpass = scratch("mm-rows", C * n * columns, work).reshape(C, n, columns)
        acc = scratch("mm-acc", rows * columns, work).reshape(rows, columns)
        tmp = scratch("mm-tmp", rows * columns, work).reshape(rows, columns)

        def compute(r0: int, h: int, carried: int) -> None:
            m = h + kh - 1
            for ch in range(C):
                a = self._products(planes[ch], hpass[ch], acc[:h], carried, h)
                target = out[r0 : r0 + h, :, ch]
                flat, spare = a.reshape(-1), tmp[:h].reshape(-1)
                if self.exact:
                    self.finisher(flat, spare, target, replay=replay, y0=r0, stride=columns, channel=ch)
                else:
                    if self.delta:
                        np.add(flat, work.type(self.delta), out=flat)
                    self.finish_float(flat, target, scratch=spare, replay=replay, y0=r0, stride=columns,
                                      channel=ch)
        return band, compute

    def _products(self, plane: np.ndarray, hpass: np.ndarray, a: np.ndarray, carried: int, h: int) -> np.ndarray:
        """One channel's band: the row pass of its new padded rows into ``hpass``, then the
        column pass of ``h`` output rows into ``a``, both as batched matrix products."""
        kh, kw, block, columns, item = self.kh, self.kw, self.block, self.columns, plane.itemsize
        m = h + kh - 1
        windows = np.lib.stride_tricks.as_strided(
            plane[carried:], shape=(self.blocks, m - carried, block + kw - 1),
            strides=(block * item, self.plane_width * item, item),
        )
        new_rows = hpass[carried:m].reshape(m - carried, self.blocks, block).transpose(1, 0, 2)
        np.matmul(windows, self.row_matrix, out=new_rows)
        cb, cr = self.col_block, self.col_rows
        for y, rs in ((0, h - h % cr), (h - h % cr, h % cr)):  # whole blocks of cr rows, the rest
            if not rs:
                continue
            nb = -(-rs // cr)
            k = min(rs, cr)
            sources = np.lib.stride_tricks.as_strided(
                hpass[y:], shape=(nb, columns // cb, k + kh - 1, cb),
                strides=(cr * columns * item, cb * item, columns * item, item),
            )
            results = a[y : y + rs].reshape(nb, k, columns // cb, cb).transpose(0, 2, 1, 3)
            np.matmul(self.col_matrix[:k, : k + kh - 1], sources, out=results)
        return a
