"""imgconv: image convolution from the shell and from Python.

>>> import imgconv
>>> k = imgconv.load_kernel("gaussian:size=5,sigma=1")
>>> out = imgconv.apply(image, k, border="reflect101")        # doctest: +SKIP
>>> imgconv.write_image("out.png", out)                       # doctest: +SKIP

The names below are imported on first use, so that ``imgconv --help`` starts without
loading numpy and OpenCV.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_kernel": "imgconv.kernels",
    "Kernel": "imgconv.kernels",
    "kernel_names": "imgconv.kernels",
    "apply": "imgconv.lazy",
    "apply_files": "imgconv.batch",
    "FilterOptions": "imgconv.options",
    "read_image": "imgconv.imageio",
    "write_image": "imgconv.imageio",
    "decode_image": "imgconv.imageio",
    "ReadOptions": "imgconv.imageio",
    "encode_image": "imgconv.imageio",
    "ImgconvError": "imgconv.errors",
    "UsageError": "imgconv.errors",
    "KernelError": "imgconv.errors",
    "ImageReadError": "imgconv.errors",
    "ImageWriteError": "imgconv.errors",
    "OutputExistsError": "imgconv.errors",
    "BORDER_NAMES": "imgconv.borders",
    "diff": "imgconv.metrics",
    "within_tolerance": "imgconv.metrics",
    "ssim": "imgconv.metrics",
    "ImageMismatchError": "imgconv.metrics",
    "heatmap": "imgconv.report",
    "html_report": "imgconv.report",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imgconv' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
