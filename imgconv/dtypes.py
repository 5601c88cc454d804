"""The pixel types imgconv filters: one table, and what each one's white level is.

``uint8`` and ``uint16`` images hold whole numbers from 0 to their maximum (255, 65535);
``float32`` and ``float64`` images hold any float, with white at 1.0 by convention. Results
of an integer depth are rounded half to even and saturated, as OpenCV's ``saturate_cast``.
Float results are taken in float32, or in float64 where the image or the output is float64
(:func:`float_type`): what scikit-image's ``img_as_float`` gives is filtered in float64.
Kept free of a numpy import at module level: the CLI builds its ``--help`` from
:data:`DTYPE_NAMES` without paying for numpy.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError

__all__ = ["DTYPE_NAMES", "dtype_of", "supported", "check_supported", "white_level", "integer_max", "float_type"]

DTYPE_NAMES: tuple[str, ...] = ("uint8", "uint16", "float32", "float64")
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

    >>> supported("uint8"), supported("float64"), supported("int16")
    (True, True, False)
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
            f"{DTYPE_NAMES[-1]} (e.g. image.astype(np.float64))"
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


def float_type(*dtypes: Any):  # noqa: ANN201 - np.dtype
    """The float type sums are taken in for images and outputs of ``dtypes``: float64 when
    one of them is float64, else float32 (OpenCV's ``filter2D`` float type).

    >>> float_type("uint8"), float_type("float64"), float_type("uint16", "float64")
    (dtype('float32'), dtype('float64'), dtype('float64'))
    """
    import numpy as np

    wide = any(np.dtype(d) == np.float64 for d in dtypes)
    return np.dtype(np.float64 if wide else np.float32)
