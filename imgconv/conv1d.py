"""One-dimensional convolution of a list of numbers: the concept behind every image filter.

>>> conv1d([1, 2, 3, 4, 5], [1, 0, -1])
[2, 2, 2, 2, -4]
>>> conv1d([1, 2, 3], [1, 1], padding="full")
[1, 3, 5, 3]
"""

from __future__ import annotations

import re
from typing import Sequence

from .borders import get_border
from .errors import UsageError
from .options import MODES, check_choice

__all__ = ["conv1d", "parse_numbers"]

_SEPARATORS = re.compile(r"[\s,;]+")


def parse_numbers(text: str, what: str = "signal") -> list[int | float]:
    """``"1,2, 3 4"`` -> ``[1, 2, 3, 4]``: commas, spaces, semicolons or newlines between.

    Integers stay integers; anything else is a float. Not-a-number and infinities are refused.
    """
    values: list[int | float] = []
    for token in filter(None, _SEPARATORS.split(text.strip())):
        try:
            values.append(int(token))
            continue
        except ValueError:
            pass
        try:
            value = float(token)
        except ValueError:
            raise UsageError(f"{what}: {token!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise UsageError(f"{what}: {token!r} is not a finite number")
        values.append(value)
    if not values:
        raise UsageError(f"{what} is empty; give numbers such as 1,2,3")
    return values


def conv1d(
    signal: Sequence[int | float],
    kernel: Sequence[int | float],
    *,
    mode: str = "convolve",
    padding: str = "same",
    border: str = "constant",
    border_value: float = 0,
) -> list[int | float]:
    """Convolve (default: the mathematical convolution, kernel flipped) or correlate.

    ``padding``: ``same`` (one output per input, the kernel's centre ``k // 2`` on each —
    after the flip for ``convolve``, as images do), ``valid`` (only where the kernel fits) or
    ``full`` (wherever they overlap). Beyond the ends: ``border`` (default zeros). All-integer
    inputs give integers, computed exactly.
    """
    check_choice("mode", mode, MODES)
    check_choice("padding", padding, ("same", "valid", "full"))
    get_border(border)
    if not signal or not kernel:
        raise UsageError("signal and kernel must each hold at least one number")
    taps = list(kernel)[::-1] if mode == "convolve" else list(kernel)
    k, n = len(taps), len(signal)
    anchor = k // 2 if mode == "correlate" else k - 1 - k // 2
    if padding == "same":
        before, count = anchor, n
    elif padding == "valid":
        before, count = 0, n - k + 1
    else:
        before, count = k - 1, n + k - 1
    if count < 1:
        raise UsageError(f"valid padding needs a signal at least as long as the kernel ({n} < {k})")
    exact = all(isinstance(v, int) for v in (*signal, *kernel)) and float(border_value).is_integer()
    fill = int(border_value) if exact else float(border_value)
    out: list[int | float] = []
    for i in range(count):
        total: int | float = 0
        for j, weight in enumerate(taps):
            index = _source(i - before + j, n, border)
            total += weight * (signal[index] if index >= 0 else fill)
        out.append(total)
    return out


def _source(index: int, n: int, border: str) -> int:
    from .borders import get_border

    if 0 <= index < n:
        return index
    before = -index if index < 0 else 0
    after = index - n + 1 if index >= n else 0
    table = get_border(border).indices(n, before, after)
    return int(table[0] if index < 0 else table[-1])
