"""The pixel types imgconv filters: one table, and what each one's white level is.

``uint8`` and ``uint16`` images hold whole numbers from 0 to their maximum (255, 65535);
``float32`` images hold any finite float, with white at 1.0 by convention. Results of an
integer depth are rounded half to even and saturated, as OpenCV's ``saturate_cast``.
Kept free of a numpy import at module level: the CLI builds its ``--help`` from
:data:`DTYPE_NAMES` without paying for numpy.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError

__all__ = ["DTYPE_NAMES", "dtype_of", "supported", "check_supported", "white_level", "integer_max"]

DTYPE_NAMES: tuple[str, ...] = ("uint8", "uint16", "float32")
"""The supported pixel types, narrowest first."""


def dtype_of(name: str):  # noqa: ANN201 - np.dtype
    """The numpy dtype called ``name`` (one of :data:`DTYPE_NAMES`).

    >>> dtype_of("uint16").itemsize
    2
    """
    import numpy as np

    if name not in DTYPE_NAMES:
        raise UsageError(f"unknown pixel type {name!r}; expected one of: {', '.join(DTYPE_NAMES)}")
    return np.dtype(name)


def supported(dtype: Any) -> bool:
    """True when imgconv filters images of ``dtype``.

    >>> supported("uint8"), supported("float64")
    (True, False)
    """
    import numpy as np

    try:
        return np.dtype(dtype).name in DTYPE_NAMES
    except TypeError:
        return False


def check_supported(dtype: Any) -> None:
    """A :class:`UsageError` naming the supported types unless ``dtype`` is one of them."""
    if not supported(dtype):
        raise UsageError(
            f"image dtype {dtype} is not supported; use {', '.join(DTYPE_NAMES[:-1])} or "
            f"{DTYPE_NAMES[-1]} (e.g. image.astype(np.float32))"
        )


def integer_max(dtype: Any) -> int:
    """The largest value of an integer pixel type: 255, 65535.

    >>> integer_max("uint8")
    255
    """
    import numpy as np

    return int(np.iinfo(np.dtype(dtype)).max)


def white_level(dtype: Any) -> float:
    """The value of white: 255, 65535, or 1.0 for float images.

    >>> white_level("uint16"), white_level("float32")
    (65535.0, 1.0)
    """
    import numpy as np

    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0
