"""Filtering an image: everything around the engine, once for every engine.

:func:`apply` takes a numpy image and a kernel and does, in order:

1. ``gray``: colour to grey (luma as ``cv2.cvtColor``), alpha kept;
2. alpha split off (2 and 4 channels: the last one is alpha) and left unchanged;
   with ``premultiply`` colour is multiplied by alpha, both are filtered, and colour is
   divided by the filtered alpha again (which becomes the output alpha);
3. ``mode="convolve"`` flips the kernel and mirrors its anchor;
4. the divisor folded into the weights and the offset passed as the engine's delta;
5. the engine's correlation, in the image's depth when nothing else is asked (exactly
   ``cv2.filter2D``), otherwise in float32 followed by ``post`` and ``depth``.

A combined kernel (``sobel``, ``kirsch``: ``"kernels"`` + ``"combine"``) correlates the
image with each part in float32 (same engine, border and geometry), merges the results
pixel by pixel (``magnitude``: ``sqrt(sum of squares)``; ``max``; ``sum``), then applies
``post`` and ``depth`` as above.

The modules: ``planning`` (the decisions and the engine calls, which run and describe
themselves), ``composed`` (stride, dilation, padding, transposition around an engine
call), ``pixels`` (alpha, grey, ``post`` and ``depth``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import DTYPE_NAMES, dtype_of
from ..options import FilterOptions
from .planning import Explanation, Plan

__all__ = ["apply", "explain", "plan", "Plan", "Explanation", "DTYPES"]

DTYPES = {name: dtype_of(name) for name in DTYPE_NAMES}
"""The supported image dtypes by name (see :mod:`imgconv.dtypes`)."""


def apply(image: np.ndarray, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> np.ndarray:
    """Filter ``image`` with ``kernel``.

    Parameters
    ----------
    image : np.ndarray
        H x W or H x W x C (C = 1..4; 2 and 4 carry alpha last), uint8, uint16 or float32.
    kernel : Kernel, str or array_like
        A :class:`~imgconv.kernels.Kernel`, a spec for :func:`~imgconv.kernels.load_kernel`
        (``"edge"``, ``"gaussian:size=7,sigma=1.5"``, ``"k.json"``) or a 2-D matrix.
    options : FilterOptions, optional
        Or the same fields as keyword arguments: ``engine``, ``border``, ``border_value``,
        ``mode``, ``post``, ``depth``, ``gray``, ``premultiply``, ``channel_order``.

    Returns
    -------
    np.ndarray
        The filtered image, same height and width. By default the semantics of
        ``cv2.filter2D``: correlation, ``reflect101`` border, the input's depth, rounded half
        to even and saturated.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 9, 9]], dtype=np.uint8)
    >>> apply(image, [[-1, 0, 1]]).tolist()
    [[0, 9, 9, 0]]
    >>> apply(image, [[-1, 0, 1]], post="shift").tolist()
    [[128, 137, 137, 128]]
    >>> apply(image, [[-1, 0, 1]], mode="convolve", depth="float32").tolist()
    [[0.0, -9.0, -9.0, 0.0]]
    """
    return Plan.make(image, kernel, options, **kwargs).run()


def explain(image: np.ndarray, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> str:
    """One line saying how :func:`apply` would filter ``image``: engine route and extras.

    The route is the engine's own account of each call :func:`apply` makes (the dilated,
    padded or zero-inserted image; each channel's or part's kernel), so it names what runs.

    >>> import numpy as np
    >>> explain(np.zeros((64, 64), np.uint8), "edge", engine="cv2")
    'cv2: cv2.filter2D'
    """
    return Plan.make(image, kernel, options, **kwargs).explain()


def plan(image: np.ndarray, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> Plan:
    """What :func:`apply` decides before the pixels move: say it (``.explanation()``, the
    engine's part alone ``.routes()``), see the result's shape (``.result_like()``), once
    per chain step, without filtering, or filter (``.run()``).

    >>> import numpy as np
    >>> step = plan(np.zeros((64, 64), np.uint8), "sobel-x", engine="numpy", stride=2)
    >>> step.routes(), step.result_like().shape
    ('numpy: separable, two 1-D whole-number passes (3 then 3 taps) in int16, in 64-row bands', (32, 32))
    """
    return Plan.make(image, kernel, options, **kwargs)
