"""Checks of the values a kernel is made of: matrices, numbers, anchors.

Every check raises a :class:`~imgconv.errors.KernelError` naming what is wrong (and the file
it came from, ``origin``), so that a hostile or mistyped kernel file fails in one line.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..errors import KernelError

MAX_KERNEL_SIDE = 512
"""The largest kernel accepted, in rows and in columns."""
FLOAT32_MAX = float(np.finfo(np.float32).max)
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
"""A decimal number as kernel texts write it (``float()`` alone also takes ``1_1``, ``inf``)."""


def number_text(value: float) -> str:
    """A number as a person writes it: ``2`` not ``2.0``, ``0.25`` not ``0.25000``."""
    value = float(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def jsonable(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value



def finite(value: Any, what: str, origin: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise KernelError(f"{what} must be a number, not {json_type(value)}", origin)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
        raise KernelError(f"{what} {short(value)} is not a finite float32 number", origin)
    return number


def short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:10] + "..." + text[-6:] + f" ({len(text)} digits)"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value[:20]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (int, float)):
        return f"a number ({short(value)})"
    return type(value).__name__


def validate_matrix(weights: Any, origin: str | None) -> np.ndarray:
    """A validated float64 copy of a 2-D weight matrix, or a :class:`KernelError`."""
    if isinstance(weights, np.ndarray):
        if weights.ndim != 2:
            raise KernelError(f"kernel must be 2-D, got {weights.ndim}-D", origin)
        if weights.size == 0:
            raise KernelError("kernel is empty", origin)
        if weights.dtype.kind not in "biuf":
            raise KernelError(f"kernel must hold numbers, not {weights.dtype}", origin)
        check_side(weights.shape, origin)
        array = weights.astype(np.float64)
        if not np.all(np.isfinite(array)) or np.abs(array).max() > FLOAT32_MAX:
            raise KernelError("kernel holds a number that is not a finite float32", origin)
        return array
    if not isinstance(weights, (list, tuple)):
        raise KernelError(
            f"kernel must be a list of rows like [[0,1,0],[1,-4,1],[0,1,0]], not {json_type(weights)}",
            origin,
        )
    if not weights:
        raise KernelError("kernel is empty", origin)
    if not all(isinstance(row, (list, tuple)) for row in weights):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in weights):
            raise KernelError(
                "kernel must be 2-D (a list of rows); for a single row write [[1, 2, 1]]", origin
            )
        first = next(i for i, row in enumerate(weights) if not isinstance(row, (list, tuple)))
        raise KernelError(f"kernel row {first + 1} is {json_type(weights[first])}, not a list", origin)
    check_side((len(weights), max(len(row) for row in weights)), origin)
    cols = len(weights[0])
    for r, row in enumerate(weights, 1):
        if not row:
            raise KernelError(f"kernel row {r} is empty", origin)
        if len(row) != cols:
            raise KernelError(
                f"kernel is not rectangular: row 1 has {cols} numbers, row {r} has {len(row)}",
                origin,
            )
    values = []
    for r, row in enumerate(weights, 1):
        for c, value in enumerate(row, 1):
            if isinstance(value, (list, tuple)):
                raise KernelError(
                    f"kernel must be 2-D; row {r} column {c} is a list (3-D or deeper)", origin
                )
            values.append(finite(value, f"kernel row {r} column {c}", origin))
    return np.array(values, dtype=np.float64).reshape(len(weights), cols)


def check_side(shape: tuple[int, int], origin: str | None) -> None:
    rows, cols = shape
    if rows > MAX_KERNEL_SIDE or cols > MAX_KERNEL_SIDE:
        raise KernelError(
            f"kernel is {rows}x{cols}; the largest accepted is "
            f"{MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}",
            origin,
        )


def validate_anchor(anchor: Any, rows: int, cols: int, origin: str | None) -> tuple[int, int]:
    if (
        not isinstance(anchor, (list, tuple))
        or len(anchor) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in anchor)
    ):
        raise KernelError(f"anchor must be [x, y], two whole numbers, not {anchor!r}", origin)
    x, y = int(anchor[0]), int(anchor[1])
    if not (0 <= x < cols and 0 <= y < rows):
        raise KernelError(
            f"anchor [{x}, {y}] lies outside the {rows}x{cols} kernel "
            f"(x must be 0..{cols - 1}, y 0..{rows - 1})",
            origin,
        )
    return (x, y)

