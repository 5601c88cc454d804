"""A picture of what a kernel does (``imgconv kernels show KERNEL --plot FILE.png``).

One row of three panels for each kernel (the kernel itself; each part of a combined kernel;
each channel's kernel of a per-channel one; the composed kernel of a chain):

* its weights, colour-mapped (inferno, the heat map's; the values written in the cells of
  kernels up to 7x7), the anchor outlined;
* the magnitude of its frequency response ``|H(u, v)|`` (:mod:`imgconv.kernels.response`:
  the kernel zero-padded to 128x128, ``fftshift``-ed, ``u`` and ``v`` from -0.5 to 0.5
  cycles per pixel, the centre 0), with a colour bar;
* ``|H|`` along the horizontal (``v = 0``) and vertical (``u = 0``) axes, and the
  half-power level where the DC gain is not 0;

then a last row: a zone plate (:func:`zone_plate`, every frequency and direction, 0 at the
centre, 0.5 cycles per pixel at the middle of each edge), the kernel applied to it by
:func:`imgconv.apply` (a zero-sum kernel with ``post="shift"``: 0 is mid-grey), and the
response's numbers. Drawn with OpenCV, with :func:`imgconv.report.colour_bar`, the heat
map's colour bar. The figure is :data:`WIDTH` pixels wide and :data:`ROW` pixels a row.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._cv import cv2
from .filtering import apply
from .kernels import ChannelKernels, CombinedKernel, Kernel
from .kernels.response import axis_response, dilate, frequency_response, response_summary
from .report import BACKGROUND, INK, colour_bar

__all__ = ["kernel_figure", "zone_plate", "zone_result", "panel_origin", "compose_chain", "WIDTH", "ROW", "PANEL"]

PANEL = 256
"""The side of each square panel, in pixels."""
COLUMN = 384
"""The width of each of the three columns (a panel, its colour bar, margins)."""
WIDTH = 3 * COLUMN
ROW = PANEL + 56
"""The height of a row: a title line, the panel, a caption line."""
_TOP = 30  # the title line above a panel
_LEFT = 16
_ANCHOR = (255, 255, 0)  # BGR cyan: the anchor's outline
_CURVES = {"horizontal": (0, 165, 255), "vertical": (255, 200, 60)}  # BGR orange, light blue


def zone_plate(size: int = PANEL) -> np.ndarray:
    """A ``size`` x ``size`` uint8 zone plate: ``cos(pi r^2 / size)`` around mid-grey, whose
    local frequency is ``r / size`` cycles per pixel at ``r`` pixels from the centre: 0 at the
    centre, 0.5 (Nyquist) at the middle of each edge, beyond it (aliased) in the corners.

    >>> z = zone_plate(8)
    >>> z.dtype, z.shape, int(z[4, 4])
    (dtype('uint8'), (8, 8), 255)
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - size / 2
    return np.rint(127.5 + 127.5 * np.cos(np.pi * (x * x + y * y) / size)).astype(np.uint8)


def compose_chain(kernels: Sequence[Kernel]) -> np.ndarray:
    """The one kernel a chain of plain kernels amounts to (away from the borders, and but
    for the rounding between steps): their weights convolved, full size.

    >>> compose_chain([Kernel([[1, 1]]), Kernel([[1, 1]])]).tolist()
    [[1.0, 2.0, 1.0]]
    """
    total = np.ones((1, 1))
    for kernel in kernels:
        weights = np.asarray(kernel.effective, np.float64)
        out = np.zeros((total.shape[0] + weights.shape[0] - 1, total.shape[1] + weights.shape[1] - 1))
        for (y, x), w in np.ndenumerate(weights):
            if w:
                out[y : y + total.shape[0], x : x + total.shape[1]] += w * total
        total = out
    return total


def zone_result(kernels: Sequence[Kernel], dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
    """The zone plate filtered by ``kernels`` (a chain: one after the other) as
    :func:`imgconv.apply` filters it: a per-channel kernel gets the plate in three channels,
    a zero-sum result is shown with ``post="shift"`` (0 is mid-grey)."""
    image = zone_plate()
    if any(isinstance(k, ChannelKernels) and k.channels for k in kernels):
        image = np.dstack([image] * 3)
    for kernel in kernels:
        image = apply(image, kernel, dilation=dilation, post="shift" if _zero_sum(kernel) else "clip")
    return image


def panel_origin(row: int, column: int) -> tuple[int, int]:
    """``(y, x)`` of the top-left pixel of the panel in ``row`` and ``column`` (0-based)."""
    return row * ROW + _TOP, column * COLUMN + _LEFT


def kernel_figure(kernels: Sequence[Kernel], *, dilation: tuple[int, int] = (1, 1),
                  title: str = "") -> np.ndarray:
    """The figure of a kernel (a chain: its steps, composed): BGR uint8, :data:`WIDTH` wide,
    :data:`ROW` tall for each kernel row and one for the zone plate (see the module)."""
    rows = _kernel_rows(list(kernels), dilation)
    figure = np.empty((ROW * (len(rows) + 1), WIDTH, 3), np.uint8)
    figure[:] = BACKGROUND
    for r, (name, weights, anchor) in enumerate(rows):
        _weights_panel(figure, r, name, weights, anchor)
        _response_panel(figure, r, weights)
        _sections_panel(figure, r, weights)
    last = len(rows)
    _put(figure, zone_plate()[:, :, None].repeat(3, axis=2), last, 0,
         "zone plate", "0 at the centre, 0.5 cycles/px mid-edge")
    result = zone_result(kernels, dilation)
    shown = result if result.ndim == 3 else result[:, :, None].repeat(3, axis=2)
    zero = any(_zero_sum(k) for k in kernels)
    _put(figure, np.ascontiguousarray(shown[:, :, ::-1]) if shown.shape[2] == 3 else shown, last, 1,
         f"filtered{': ' + title if title else ''}", "post=shift: 0 is mid-grey" if zero else "as imgconv apply")
    _numbers_panel(figure, last, rows)
    return figure


# -- the rows -----------------------------------------------------------------------------
def _kernel_rows(kernels: list[Kernel], dilation: tuple[int, int]) -> list[tuple[str, np.ndarray, tuple[int, int]]]:
    """``(name, weights, anchor)`` of each row: the dilated weights, the anchor on them."""
    dy, dx = dilation
    if len(kernels) > 1:
        if any(isinstance(k, (CombinedKernel, ChannelKernels)) and not k.single for k in kernels):
            raise ValueError("a chain is drawn composed into one kernel: its steps must be plain kernels")
        weights = compose_chain(kernels)
        anchor = tuple(sum(k.anchor[i] for k in kernels) for i in range(2))
        return [(" + ".join(k.name or "kernel" for k in kernels), dilate(weights, (dy, dx)),
                 (anchor[0] * dx, anchor[1] * dy))]
    (kernel,) = kernels
    if isinstance(kernel, CombinedKernel):
        parts = [(part.name or f"part {i + 1}", part) for i, part in enumerate(kernel.parts)]
    elif isinstance(kernel, ChannelKernels) and kernel.channels:
        parts = [(f"{('red', 'green', 'blue', 'alpha')[i]}: {k.name or 'kernel'}", k)
                 for i, k in enumerate(kernel.channels)]
    else:
        parts = [(kernel.name or "kernel", kernel)]
    if (dy, dx) != (1, 1):
        parts = [(f"{name}, dilated {dy}x{dx}", k) for name, k in parts]
    return [(name, dilate(np.asarray(k.effective, np.float64), (dy, dx)), (k.anchor[0] * dx, k.anchor[1] * dy))
            for name, k in parts]


def _zero_sum(kernel: Kernel) -> bool:
    if isinstance(kernel, CombinedKernel):
        return False  # a magnitude or a maximum: never negative
    if isinstance(kernel, ChannelKernels) and kernel.channels:
        return any(_zero_sum(k) for k in kernel.channels)
    weights = np.asarray(kernel.effective, np.float64)
    return abs(float(weights.sum())) <= 1e-9 * max(1.0, float(np.abs(weights).sum()))


def _weights_panel(figure: np.ndarray, row: int, name: str, weights: np.ndarray, anchor: tuple[int, int]) -> None:
    cv = cv2()
    rows, cols = weights.shape
    cell = max(1, PANEL // max(rows, cols))
    low, high = float(min(weights.min(), 0.0)), float(max(weights.max(), 0.0))
    levels = np.zeros_like(weights) if high == low else (weights - low) / (high - low)
    picture = cv.applyColorMap(np.rint(levels * 255).astype(np.uint8), cv.COLORMAP_INFERNO)
    picture = np.repeat(np.repeat(picture, cell, axis=0), cell, axis=1)
    if cell >= 36:  # the values in the cells (kernels up to 7x7)
        tiny = 1e-6 * float(np.abs(weights).max())
        for (y, x), w in np.ndenumerate(weights):
            text = f"{w:.3g}" if abs(w) > tiny else "0"
            scale = min(0.5, 0.9 * cell / (12 * max(3, len(text))))
            ink = (0, 0, 0) if levels[y, x] > 0.6 else INK
            (tw, th), _ = cv.getTextSize(text, cv.FONT_HERSHEY_SIMPLEX, scale, 1)
            cv.putText(picture, text, (x * cell + (cell - tw) // 2, y * cell + (cell + th) // 2),
                       cv.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv.LINE_AA)
    ax, ay = anchor
    cv.rectangle(picture, (ax * cell, ay * cell), (ax * cell + cell - 1, ay * cell + cell - 1), _ANCHOR,
                 max(1, min(2, cell // 8)))
    _put(figure, picture, row, 0, f"{name} ({rows}x{cols})", "weights; anchor outlined",
         bar=colour_bar(PANEL, low, high, "weight"))


def _response_panel(figure: np.ndarray, row: int, weights: np.ndarray) -> None:
    cv = cv2()
    response = frequency_response(weights)
    top = float(response.max())
    levels = np.zeros_like(response) if top <= 0 else response / top
    picture = cv.applyColorMap(np.rint(levels * 255).astype(np.uint8), cv.COLORMAP_INFERNO)
    picture = cv.resize(picture, (PANEL, PANEL), interpolation=cv.INTER_NEAREST if response.shape[0] <= PANEL
                        else cv.INTER_AREA)
    middle = PANEL // 2
    for at in (0, middle, PANEL - 1):  # ticks at -0.5, 0, 0.5 on both axes
        cv.line(picture, (at, PANEL - 6), (at, PANEL - 1), INK, 1)
        cv.line(picture, (0, at), (5, at), INK, 1)
    _put(figure, picture, row, 1, "|H(u, v)|", "u, v: -0.5 .. 0.5 cycles/px, 0 centred",
         bar=colour_bar(PANEL, 0.0, top, "|H|"))


def _sections_panel(figure: np.ndarray, row: int, weights: np.ndarray) -> None:
    cv = cv2()
    picture = np.empty((PANEL, PANEL, 3), np.uint8)
    picture[:] = (25, 25, 25)
    frequencies = np.linspace(-0.5, 0.5, PANEL)
    curves = {axis: axis_response(weights, frequencies, axis) for axis in _CURVES}
    top = max(1e-12, max(float(c.max()) for c in curves.values())) * 1.08
    to_y = lambda value: int(round((PANEL - 1) * (1 - value / top)))  # noqa: E731
    cv.line(picture, (PANEL // 2, 0), (PANEL // 2, PANEL - 1), (80, 80, 80), 1)  # frequency 0
    dc = abs(float(weights.sum()))
    if dc > 1e-9 * float(np.abs(weights).sum()):  # the half-power level
        y = to_y(dc / np.sqrt(2))
        for x in range(0, PANEL, 8):
            cv.line(picture, (x, y), (min(PANEL - 1, x + 3), y), (150, 150, 150), 1)
    for axis, colour in _CURVES.items():  # the horizontal one wider: it shows where they are equal
        points = np.stack([np.arange(PANEL), [to_y(v) for v in curves[axis]]], axis=1).astype(np.int32)
        cv.polylines(picture, [points], False, colour, 4 if axis == "horizontal" else 1, cv.LINE_AA)
    for i, (axis, colour) in enumerate(_CURVES.items()):
        cv.putText(picture, axis, (8, 16 + 16 * i), cv.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv.LINE_AA)
    cv.putText(picture, f"{top / 1.08:.3g}", (PANEL - 60, to_y(top / 1.08) + 14), cv.FONT_HERSHEY_SIMPLEX, 0.4,
               INK, 1, cv.LINE_AA)
    _put(figure, picture, row, 2, "|H| along each axis", "-0.5 .. 0.5 cycles/px; dashed: half power")


def _numbers_panel(figure: np.ndarray, row: int, rows: list[tuple[str, np.ndarray, tuple[int, int]]]) -> None:
    cv = cv2()
    y, x = panel_origin(row, 2)
    lines: list[str] = []
    for name, weights, _ in rows[:4]:
        summary = response_summary(weights)
        half = summary["half_power_frequency"]
        lines += [name, f"  DC gain {summary['dc_gain']:.4g}" + ("  (removes flat areas)"
                                                                  if summary["dc_gain"] == 0 else ""),
                  "  Nyquist gain h {horizontal:.3g}, v {vertical:.3g}".format(**summary["nyquist_gain"]),
                  "  half power h " + _freq(half["horizontal"]) + ", v " + _freq(half["vertical"])]
    for i, line in enumerate(lines[:16]):
        cv.putText(figure, line, (x, y + 14 + 17 * i), cv.FONT_HERSHEY_SIMPLEX, 0.45, INK, 1, cv.LINE_AA)


def _freq(value: Any) -> str:
    return "-" if value is None else f"{value:.3g} c/px"


def _put(figure: np.ndarray, picture: np.ndarray, row: int, column: int, title: str, caption: str, *,
         bar: np.ndarray | None = None) -> None:
    """``picture`` (at most PANEL square) into its place, its title above, caption below."""
    cv = cv2()
    y, x = panel_origin(row, column)
    h, w = picture.shape[:2]
    figure[y : y + h, x : x + w] = picture
    if bar is not None:
        width = min(bar.shape[1], COLUMN - PANEL - _LEFT - 4)
        figure[y : y + PANEL, x + PANEL + 4 : x + PANEL + 4 + width] = bar[:, :width]
    cv.putText(figure, title[:40], (x, y - 9), cv.FONT_HERSHEY_SIMPLEX, 0.5, INK, 1, cv.LINE_AA)
    cv.putText(figure, caption, (x, y + PANEL + 17), cv.FONT_HERSHEY_SIMPLEX, 0.42, (170, 170, 170), 1, cv.LINE_AA)
