"""What a kernel does to each frequency: its frequency response, and the numbers that sum it up.

A kernel ``w`` (correlation, as imgconv applies it) multiplies the image's component of
frequency ``(u, v)`` (cycles per pixel, -0.5 to 0.5 along x and y) by

    H(u, v) = sum over y, x of w[y, x] * exp(-2 pi i (u x + v y)),

whose magnitude ``|H|`` says how much of that frequency passes: 1 keeps it, 0 removes it.
The anchor only shifts the phase, never ``|H|``. ``H(0, 0)``, the sum of the weights, is
the DC gain (a flat area's factor: 1 for a blur, 0 for an edge kernel); ``|H|`` at 0.5 is
the gain at the Nyquist frequency, the finest pattern a pixel grid holds (one pixel on,
one off). The half-power (-3 dB) frequency is where ``|H|`` first falls to the DC gain
over sqrt(2): a blur's cut-off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["dilate", "frequency_response", "axis_response", "response_summary", "RESPONSE_SIZE"]

RESPONSE_SIZE = 128
"""The frequency grid of :func:`frequency_response`: the kernel zero-padded to 128 x 128."""


def dilate(weights: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """``weights`` with ``dilation - 1`` zeros between its taps (rows, columns), as
    ``--dilation`` applies it.

    >>> dilate(np.array([[1.0, 2.0]]), (1, 3)).tolist()
    [[1.0, 0.0, 0.0, 2.0]]
    """
    dy, dx = dilation
    rows, cols = weights.shape
    out = np.zeros(((rows - 1) * dy + 1, (cols - 1) * dx + 1), np.float64)
    out[::dy, ::dx] = weights
    return out


def frequency_response(weights: np.ndarray, size: int = RESPONSE_SIZE) -> np.ndarray:
    """``|H(u, v)|`` on a ``size`` x ``size`` grid (at least the kernel's side, a power of
    two), ``fftshift``-ed: row ``i`` is ``v = (i - size/2) / size``, column ``j`` is
    ``u = (j - size/2) / size`` cycles per pixel, so the centre is ``(0, 0)``.

    >>> r = frequency_response(np.full((3, 3), 1 / 9))
    >>> r.shape, round(float(r[64, 64]), 6)
    ((128, 128), 1.0)
    """
    weights = np.asarray(weights, np.float64)
    size = max(size, 1 << math.ceil(math.log2(max(weights.shape))))
    return np.fft.fftshift(np.abs(np.fft.fft2(weights, s=(size, size))))


def axis_response(weights: np.ndarray, frequencies: np.ndarray, axis: str) -> np.ndarray:
    """``|H|`` along one axis at ``frequencies`` (cycles per pixel): ``"horizontal"``,
    ``H(u, 0)``, or ``"vertical"``, ``H(0, v)``, evaluated exactly, not on a grid.

    >>> axis_response(np.array([[1.0, 1.0]]) / 2, np.array([0.0, 0.25, 0.5]), "horizontal").round(6).tolist()
    [1.0, 0.707107, 0.0]
    """
    weights = np.asarray(weights, np.float64)
    taps = weights.sum(axis=0) if axis == "horizontal" else weights.sum(axis=1)  # v = 0: the rows add up
    positions = np.arange(taps.size)
    phases = np.exp(-2j * np.pi * np.outer(np.asarray(frequencies, np.float64), positions))
    return np.abs(phases @ taps)


def response_summary(weights: np.ndarray) -> dict[str, Any]:
    """The numbers ``kernels show --json`` gives of the response: ``dc_gain`` (the sum of
    the weights), ``nyquist_gain`` (``|H|`` at 0.5 cycles per pixel along each axis) and
    ``half_power_frequency`` (along each axis, where ``|H|`` first falls to
    ``|dc_gain| / sqrt(2)``; null where it never does, or the DC gain is 0).

    >>> summary = response_summary(np.array([[1, 2, 1]]) / 4)
    >>> summary["dc_gain"], summary["nyquist_gain"], summary["half_power_frequency"]["horizontal"]
    (1.0, {'horizontal': 0.0, 'vertical': 1.0}, 0.182)
    """
    weights = np.asarray(weights, np.float64)
    dc = float(weights.sum())
    scale = max(1e-300, float(np.abs(weights).sum()))
    summary: dict[str, Any] = {"dc_gain": _rounded(dc, scale), "nyquist_gain": {}, "half_power_frequency": {}}
    for axis in ("horizontal", "vertical"):
        summary["nyquist_gain"][axis] = _rounded(float(axis_response(weights, np.array([0.5]), axis)[0]), scale)
        summary["half_power_frequency"][axis] = _half_power(weights, axis, abs(dc), scale)
    return summary


def _rounded(value: float, scale: float) -> float:
    """``value`` to 6 significant digits of the kernel's scale (float noise below is 0)."""
    if abs(value) < 1e-12 * scale:
        return 0.0
    return float(f"{value:.6g}")


def _half_power(weights: np.ndarray, axis: str, dc: float, scale: float) -> float | None:
    """The first frequency in (0, 0.5] where ``|H|`` falls to ``dc / sqrt(2)``, to 1e-6."""
    if dc < 1e-9 * scale:
        return None
    level = dc / math.sqrt(2)
    grid = np.linspace(0.0, 0.5, 2049)
    below = np.nonzero(axis_response(weights, grid, axis) <= level)[0]
    if below.size == 0:
        return None
    low, high = float(grid[below[0] - 1]), float(grid[below[0]])
    for _ in range(40):  # bisection within the grid step
        middle = (low + high) / 2
        if axis_response(weights, np.array([middle]), axis)[0] <= level:
            high = middle
        else:
            low = middle
    return round(high, 4)
