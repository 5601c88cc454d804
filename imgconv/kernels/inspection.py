"""What ``imgconv kernels show --json`` says of a kernel beyond its JSON form."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..geometry import parse_pair
from .spec import load_kernel
from .validate import jsonable

__all__ = ["inspect_kernel"]


def inspect_kernel(kernel: Any, dilation: Any = 1) -> dict[str, Any]:
    """What ``imgconv kernels show --json`` prints: the kernel file keys and what they mean.

    Adds to :meth:`Kernel.to_dict`: ``factors`` (``{"column", "row", "exact"}`` when
    separable, see :meth:`Kernel.factors`), ``symmetric`` (equal to its 180-degree rotation,
    so ``--mode convolve`` changes nothing) and ``symmetry`` (:meth:`Kernel.symmetry`),
    ``zero_sum`` (an edge/derivative kernel: flat areas give 0) and ``sums_to_one`` (a
    smoothing kernel: flat areas keep their value), ``dilation`` and ``effective_size``:
    the rows and columns the kernel spans with its taps ``dilation`` apart,
    ``d * (k - 1) + 1``. Per-channel and combined kernels have null for the first four.

    >>> info = inspect_kernel("sobel-x", dilation=2)
    >>> info["factors"], info["symmetric"], info["effective_size"]
    ({'column': [1, 2, 1], 'row': [-1, 0, 1], 'exact': True}, False, [5, 5])
    """
    kernel = load_kernel(kernel)
    dy, dx = parse_pair(dilation, "dilation")
    rows, cols = kernel.shape
    info = kernel.to_dict()
    factors = kernel.factors()
    symmetry = kernel.symmetry()
    total = kernel.sum
    tiny = 1e-12 * max(1.0, float(np.abs(kernel.effective).sum()))
    info |= {
        "factors": None
        if factors is None
        else {
            "column": [jsonable(v) for v in factors.column],
            "row": [jsonable(v) for v in factors.row],
            "exact": factors.exact,
        },
        "symmetric": None if symmetry is None else symmetry["centre"] == "even",
        "symmetry": symmetry,
        "zero_sum": abs(total) <= tiny if kernel.single else None,
        "sums_to_one": abs(total - 1) <= tiny if kernel.single else None,
        "dilation": [dy, dx],
        "effective_size": [dy * (rows - 1) + 1, dx * (cols - 1) + 1],
    }
    return info
