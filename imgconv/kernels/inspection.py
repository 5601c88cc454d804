"""What ``imgconv kernels show --json`` says of a kernel beyond its JSON form."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..geometry import parse_pair
from .kernel import ChannelKernels, CombinedKernel, Kernel
from .response import dilate, response_summary
from .spec import load_kernel
from .validate import jsonable

__all__ = ["inspect_kernel", "kernel_response"]


def inspect_kernel(kernel: Any, dilation: Any = 1) -> dict[str, Any]:
    """What ``imgconv kernels show --json`` prints: the kernel file keys and what they mean.

    Adds to :meth:`Kernel.to_dict`: ``factors`` (``{"column", "row", "exact"}`` when
    separable, see :meth:`Kernel.factors`), ``symmetric`` (equal to its 180-degree rotation,
    so ``--mode convolve`` changes nothing) and ``symmetry`` (:meth:`Kernel.symmetry`),
    ``zero_sum`` (an edge/derivative kernel: flat areas give 0) and ``sums_to_one`` (a
    smoothing kernel: flat areas keep their value), ``dilation`` and ``effective_size``:
    the rows and columns the kernel spans with its taps ``dilation`` apart,
    ``d * (k - 1) + 1``, and ``response``: the dilated kernel's DC gain, Nyquist gains and
    half-power frequencies (:func:`kernel_response`). Per-channel and combined kernels have
    null for the first four.

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
        "response": kernel_response(kernel, (dy, dx)),
    }
    return info


def kernel_response(kernel: Kernel, dilation: tuple[int, int] = (1, 1)) -> dict[str, Any] | list[dict[str, Any]]:
    """:func:`~imgconv.kernels.response.response_summary` of the kernel dilated by
    ``dilation``; for a combined kernel a list, one per part (with its ``name``), and for
    one kernel per channel one per channel (``channel``: red, green, blue, alpha).

    >>> kernel_response(load_kernel("box:size=3"))["nyquist_gain"]
    {'horizontal': 0.333333, 'vertical': 0.333333}
    """
    if isinstance(kernel, CombinedKernel):
        return [{"name": part.name or f"part {i + 1}", **response_summary(dilate(part.effective, dilation))}
                for i, part in enumerate(kernel.parts)]
    if isinstance(kernel, ChannelKernels) and kernel.channels:
        names = ("red", "green", "blue", "alpha")
        return [{"channel": names[i], **response_summary(dilate(k.effective, dilation))}
                for i, k in enumerate(kernel.channels)]
    return response_summary(dilate(kernel.effective, dilation))
