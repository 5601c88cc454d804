"""The shift-and-add routes: float (``shift``) and whole-number (``integer``) sums of shifted views."""

from __future__ import annotations

import functools

import numpy as np

from .bands import scratch
from .kernel_info import KernelInfo, float_work, int_type, sum_bounds
from .route import IntegerFinish, Route
from .sums import combine, groups, ops, passes_text

__all__ = ["ShiftRoute", "IntegerRoute"]


class ShiftRoute(Route):
    """Banded shift-and-add in float32 (float64 for uint16 and float64 images); ``faithful``:
    OpenCV's own arithmetic on every pixel, for the uint16 calls whose roundings it decides
    and float64 images below OpenCV's DFT size (``docs/numpy-engine.md``, "Exactness")."""

    name = "shift"

    def __init__(self, *args, faithful: bool = False, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.faithful = faithful
        self.work = np.dtype(np.float64 if faithful else float_work(self.dtype))
        self.itemsize = self.work.itemsize
        self.rows = self.band_rows(self.itemsize)
        self.groups = groups([((y, x), w) for y, x, w in self.info.terms])

    def relative_error(self) -> float:
        if self.faithful:
            return 0.0
        eps = float(np.finfo(self.work).eps)
        if self.dtype.kind != "u":
            return (ops(self.groups) + 3) * eps
        # integer pixels: the sums of a group's views are exact; what rounds (by at most
        # u = eps / 2 each) is a group's product, its addition, each view added on its
        # own (factor 1), and the offset
        return (len(self.info.terms) + 2 * len(self.groups) + 3) * eps / 2

    def passes(self) -> float:
        pad = (self.rows + self.kh - 1) / self.rows
        if self.faithful:
            return pad + 3 * len(self.info.terms) + 3
        return pad + ops(self.groups) + (self.delta != 0) + 2 + 4 * self.needs_replay()

    def cost(self) -> float:
        return self.band_cost(self.itemsize)

    def describe(self) -> str:
        if self.faithful and self.dtype == np.float64:
            how = f"{len(self.info.terms)} float64 multiply-adds (OpenCV's order)"
        elif self.faithful:
            how = f"{len(self.info.terms)} float64 multiply-adds rounded to float32 (OpenCV's order)"
        else:
            how = f"{len(self.info.terms)} weights in {passes_text(ops(self.groups), self.work.name)}"
        return f"shift-and-add, {how}, in {self.rows}-row bands"

    def bands(self, out, replay, x0, x1):  # noqa: ANN001, ANN201 - see Route.bands
        rows, kh, C, S = self.rows, self.kh, self.channels, self.padded_elems
        work = self.work
        flat, band = self.flat_band(work, rows)
        acc = scratch("acc", rows * S, np.float32 if self.faithful and self.dtype != np.float64 else work)
        tmp = scratch("tmp", (rows + kh - 1) * S + (self.kw - 1) * C, work)  # a band: see Scaled

        def compute(r0: int, h: int, carried: int) -> None:
            size = h * S
            at = self.cell_at(size)
            view = functools.partial(at, flat)
            a, t = acc[:size], tmp[:size]
            if self.faithful and a.dtype == t.dtype:  # a float64 image: OpenCV's float64 sums
                np.multiply(view(self.info.terms[0][:2]), self.info.terms[0][2], out=t)
                np.add(t, self.delta, out=a)
                for dy, dx, w in self.info.terms[1:]:
                    np.multiply(view((dy, dx)), w, out=t)
                    np.add(a, t, out=a)
            elif self.faithful:
                first = True
                for dy, dx, w in self.info.terms:
                    np.multiply(view((dy, dx)), w, out=t)
                    np.add(t, self.delta if first else a, out=t)
                    np.copyto(a, t, casting="same_kind")
                    first = False
            else:
                source = flat[: (kh - 1) * S + (self.kw - 1) * C + size]
                combine(self.groups, view, a, t, work.type, self.scaled(source, at, tmp))
                if self.delta:
                    np.add(a, work.type(self.delta), out=a)
            self.finish_float(a, out[r0 : r0 + h].reshape(h, -1), scratch=t if t.dtype == a.dtype else None,
                              replay=replay, y0=r0, stride=S)

        return band, compute


class IntegerRoute(Route):
    """``sum(ints * pixel)`` in integers over shifted slices of a padded band."""

    name = "integer"

    @staticmethod
    def applicable(info: KernelInfo, dtype: np.dtype, delta: float, float_output: bool = False) -> str | None:
        """None when the route can run, else why not."""
        if dtype.kind != "u":
            return "it needs a uint8 or uint16 image"
        if info.ints is None:
            return "the kernel is not a scale times whole numbers"
        if int_type(*sum_bounds(info, dtype, delta)[:2]) is None:
            return "the kernel's whole numbers are too large for int32 sums"
        return None

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.finisher = IntegerFinish(self)
        self.acc_type = int_type(self.finisher.lo, self.finisher.hi)
        self.rows = self.band_rows(self.acc_type.itemsize)
        ints = self.info.ints
        self.groups = groups([((y, x), int(ints[y, x])) for y, x, _ in self.info.terms])

    def passes(self) -> float:
        pad = (self.rows + self.kh - 1) / self.rows
        return pad + ops(self.groups) + self.finisher.passes() + 4 * self.needs_replay()

    def cost(self) -> float:
        return self.band_cost(self.acc_type.itemsize)

    def describe(self) -> str:
        return (
            f"integer, {len(self.info.terms)} whole-number weights in "
            f"{passes_text(ops(self.groups), self.acc_type.name)}, in {self.rows}-row bands"
        )

    def bands(self, out, replay, x0, x1):  # noqa: ANN001, ANN201 - see Route.bands
        rows, S = self.rows, self.padded_elems
        flat, band = self.flat_band(self.acc_type, rows)
        acc = scratch("acc", rows * S, self.acc_type)
        tmp = scratch("tmp", rows * S, self.acc_type)

        def compute(r0: int, h: int, carried: int) -> None:
            size = h * S
            view = functools.partial(self.cell_at(size), flat)
            combine(self.groups, view, acc[:size], tmp[:size], int)
            target = out[r0 : r0 + h].reshape(h, -1)
            self.finisher(acc[:size], tmp[:size], target, replay=replay, y0=r0, stride=S)

        return band, compute
