"""Kernels: the :class:`Kernel` value, the spec grammar, and strict JSON loading.

One parser, :func:`load_kernel`, reads every kernel spec the CLI and the API accept:

* a registered name: ``edge``, ``sobel-x``, ``sharpen`` ... (the JSON files of the
  top-level ``kernels/`` folder, plus the parametric kernels below);
* a name with parameters: ``gaussian:size=7,sigma=1.5``, ``box:size=5``,
  ``log:size=9,sigma=1.4``, ``motion:length=15,angle=30``;
* an inline matrix: ``[[0,-1,0],[-1,5,-1],[0,-1,0]]`` (JSON);
* a path to a kernel JSON file: anything ending in ``.json``, containing a ``/``, or naming
  an existing file that is not a registered name;
* an ImageMagick kernel string: ``3x3: -1,-1,-1,-1,8,-1,-1,-1,-1``, ``WxH+X+Y: ...`` (the
  origin ``+X+Y`` becomes the anchor), ``W: ...`` for a square; ``nan`` or a lone ``-``
  ("not part of the neighbourhood") becomes a weight of 0;
* a libvips matrix file ``*.mat`` (first line ``W H [scale [offset]]``, then H rows of W
  numbers; scale is the divisor), or ``*.con``, the same text with whole numbers only.

Combined kernels (``"kernels": [...]`` with ``"combine": "magnitude" | "max" | "sum"``)
correlate the image with each part and combine the results pixel by pixel: ``sobel`` is
the gradient magnitude ``sqrt(gx**2 + gy**2)``, ``kirsch`` the maximum of 8 compass kernels.

A kernel's result pixel is ``sum(weights * pixels) / divisor + offset``, computed as a
correlation (no flip) like ``cv2.filter2D``; the anchor is ``(x, y)`` = (column, row),
by default ``(cols // 2, rows // 2)`` as in OpenCV, also for even sizes.

The modules: ``kernel`` (the value types), ``spec`` (the grammar and the named kernels),
``files`` (strict JSON), ``foreign`` (ImageMagick, libvips), ``parametric``,
``inspection`` (``kernels show``), ``validate`` (the checks).

Limits (so that a hostile file cannot exhaust memory): at most
``MAX_KERNEL_SIDE`` rows and columns, kernel files of at most ``MAX_KERNEL_FILE_BYTES``.
"""

from __future__ import annotations

from .files import DERIVED_KEYS, JSON_KEYS, MAX_KERNEL_FILE_BYTES, kernel_from_json, load_kernel_file
from .foreign import VIPS_SUFFIXES, kernel_from_magick, kernel_from_vips_matrix
from .inspection import inspect_kernel
from .kernel import COMBINE_HELP, COMBINE_MODES, MAX_PARTS, ChannelKernels, CombinedKernel, Factors, Kernel
from .parametric import PARAMETRIC, gaussian_1d
from .spec import kernel_names, kernels_dir, load_kernel, load_kernel_chain, named_kernels
from .validate import MAX_KERNEL_SIDE

__all__ = [
    "Kernel",
    "ChannelKernels",
    "CombinedKernel",
    "load_kernel",
    "load_kernel_chain",
    "load_kernel_file",
    "kernel_from_json",
    "kernel_from_magick",
    "kernel_from_vips_matrix",
    "kernel_names",
    "named_kernels",
    "kernels_dir",
    "PARAMETRIC",
    "COMBINE_MODES",
    "COMBINE_HELP",
    "Factors",
    "gaussian_1d",
    "inspect_kernel",
    "JSON_KEYS",
    "DERIVED_KEYS",
    "MAX_KERNEL_SIDE",
    "MAX_KERNEL_FILE_BYTES",
    "MAX_PARTS",
    "VIPS_SUFFIXES",
]
