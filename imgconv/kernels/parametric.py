"""Parametric kernels: families built from ``name:key=value`` (``gaussian:size=7,sigma=1.5``).

Each family says where its numbers come from; ``gaussian`` samples and normalises exactly
as ``cv2.getGaussianKernel``, so the engines can reproduce OpenCV's Gaussian blur.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import KernelError
from .kernel import Kernel
from .validate import FLOAT32_MAX, MAX_KERNEL_SIDE, NUMBER

__all__ = ["PARAMETRIC", "Parametric", "Param", "gaussian_1d"]


@dataclass(frozen=True)
class Param:
    name: str
    kind: type  # int or float
    default: Any
    help: str


@dataclass(frozen=True)
class Parametric:
    """A kernel family built from parameters: ``name:key=value,...``."""

    name: str
    params: tuple[Param, ...]
    build: Callable[..., Kernel]
    description: str
    source: str

    def __call__(self, text: str = "") -> Kernel:
        values = self.parse(text)
        return self.build(**values)

    def parse(self, text: str) -> dict[str, Any]:
        known = {p.name: p for p in self.params}
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))) if text else ():
            key, eq, raw = (s.strip() for s in item.partition("="))
            if not eq or not raw or not key:
                raise KernelError(
                    f"{self.name}: expected key=value, got {item!r} "
                    f"(e.g. {self.name}:{self.params[0].name}={self.params[0].default})"
                )
            if key not in known:
                raise KernelError(
                    f"{self.name}: unknown parameter {key!r}; expected one of: {', '.join(known)}"
                )
            if key in values:
                raise KernelError(f"{self.name}: parameter {key!r} given twice")
            values[key] = _parse_param(self.name, known[key], raw)
        return values

    def signature(self) -> str:
        return ",".join(f"{p.name}={p.default}" for p in self.params)


def _parse_param(family: str, param: Param, raw: str) -> Any:
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is not None and not math.isfinite(value):
        raise KernelError(f"{family}: {param.name} must be finite, not {raw!r}")
    if value is None or not NUMBER.fullmatch(raw):  # float() also takes '1_1'
        raise KernelError(f"{family}: {param.name} must be a number, not {raw!r}")
    if param.kind is int:
        if not value.is_integer():
            raise KernelError(f"{family}: {param.name} must be a whole number, not {raw!r}")
        return int(value)
    return value


def _check_size(family: str, what: str, size: int, *, odd: bool = False) -> None:
    if not 1 <= size <= MAX_KERNEL_SIDE:
        raise KernelError(f"{family}: {what} must be 1..{MAX_KERNEL_SIDE}, got {size}")
    if odd and size % 2 == 0:
        raise KernelError(f"{family}: {what} must be odd so the kernel has a centre, got {size}")


# OpenCV's small_gaussian_tab (modules/imgproc/src/smooth.dispatch.cpp): the kernels
# cv2.getGaussianKernel returns for sigma <= 0 and these sizes, as integers over a power of 2.
_SMALL_GAUSSIAN: dict[int, tuple[list[int], int]] = {
    1: ([1], 1),
    3: ([1, 2, 1], 4),
    5: ([1, 4, 6, 4, 1], 16),
    7: ([2, 7, 14, 18, 14, 7, 2], 64),
    9: ([4, 13, 30, 51, 60, 51, 30, 13, 4], 256),
}


def gaussian_1d(size: int, sigma: float = 0.0) -> tuple[np.ndarray, float]:
    """1-D Gaussian weights and their divisor, sampled and normalised as ``cv2.getGaussianKernel``.

    ``sigma <= 0`` means OpenCV's default ``0.3*((size-1)*0.5 - 1) + 0.8``; for sizes
    1, 3, 5, 7 and 9 OpenCV then uses a fixed table of dyadic fractions, and so do we
    (returned as integers with a power-of-two divisor, so they stay exact).

    >>> gaussian_1d(5)
    (array([1., 4., 6., 4., 1.]), 16.0)
    """
    if sigma <= 0 and size in _SMALL_GAUSSIAN:
        weights, divisor = _SMALL_GAUSSIAN[size]
        return np.array(weights, dtype=np.float64), float(divisor)
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size, dtype=np.float64) - (size - 1) * 0.5
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    if not np.isfinite(g).all() or g.sum() == 0:  # sigma so small that sigma^2 underflows
        g = (x == 0).astype(np.float64) if size % 2 else np.abs(x) == 0.5
    return g / g.sum(), 1.0


def _gaussian(size: int | None = None, sigma: float = 0.0) -> Kernel:
    if sigma < 0:
        raise KernelError(f"gaussian: sigma must be >= 0 (0 means from the size), got {sigma:g}")
    if size is None:
        if sigma * 6 + 1 > MAX_KERNEL_SIDE:
            raise KernelError(
                f"gaussian: sigma {sigma:g} needs a kernel wider than {MAX_KERNEL_SIDE}; "
                f"the largest sigma is {(MAX_KERNEL_SIDE - 1) / 6:g}"
            )
        size = 5 if sigma == 0 else (int(round(sigma * 6 + 1)) | 1)  # as cv2.GaussianBlur
    _check_size("gaussian", "size", size, odd=True)
    g, d = gaussian_1d(size, sigma)
    name = "gaussian" if (size == 5 and sigma == 0) else f"gaussian-{size}-{sigma:g}"
    return Kernel(
        np.outer(g, g),
        divisor=d * d,
        name=name,
        description=f"{size}x{size} Gaussian blur, sigma {sigma:g}" + (" (auto)" if sigma == 0 else ""),
        source="sampled and normalised as cv2.getGaussianKernel (outer product of two 1-D kernels)",
    )


def _box(size: int = 3) -> Kernel:
    _check_size("box", "size", size)
    return Kernel(
        np.ones((size, size)),
        divisor=size * size,
        name="box" if size == 3 else f"box-{size}",
        description=f"{size}x{size} mean filter",
        source="1/size^2 everywhere, as cv2.blur",
    )


def _log(size: int = 5, sigma: float = 0.5) -> Kernel:
    _check_size("log", "size", size, odd=True)
    if sigma <= 0:
        raise KernelError(f"log: sigma must be > 0, got {sigma:g}")
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    x2 = r[None, :] ** 2 + r[:, None] ** 2
    sigma64 = np.float64(sigma)  # overflow gives inf (checked below), not an OverflowError
    with np.errstate(all="ignore"):
        h = np.exp(-x2 / (2 * sigma64 * sigma64))
        h /= h.sum()
        h1 = h * (x2 - 2 * sigma64 * sigma64) / sigma64**4
        weights = h1 - h1.sum() / h1.size  # zero sum: flat areas give 0
    if not (np.all(np.abs(weights) <= FLOAT32_MAX) and (weights.any() or size == 1)):
        raise KernelError(
            f"log: sigma {sigma:g} is too {'small' if sigma < 1 else 'large'} for a {size}x{size} kernel "
            f"(its weights {'overflow' if sigma < 1 else 'vanish'} in floating point)"
        )
    return Kernel(
        weights,
        name="log" if (size, sigma) == (5, 0.5) else f"log-{size}-{sigma:g}",
        description=f"{size}x{size} Laplacian of Gaussian, sigma {sigma:g} (negative centre, zero sum)",
        source="MATLAB fspecial('log', size, sigma): sampled LoG, shifted to sum to zero",
    )


def _motion(length: int = 9, angle: float = 0.0) -> Kernel:
    _check_size("motion", "length", length)
    size = length if length % 2 else length + 1
    c = (size - 1) / 2
    theta = math.radians(angle)
    dx, dy = math.cos(theta), -math.sin(theta)  # image rows grow downwards
    half = (length - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) - c
    t = np.clip(xs * dx + ys * dy, -half, half)  # the nearest point of the segment
    distance = np.hypot(xs - t * dx, ys - t * dy)
    weights = np.clip(1.0 - distance, 0.0, None)  # a one-pixel-wide anti-aliased line
    return Kernel(
        weights,
        divisor=float(weights.sum()),
        name="motion" if (length, angle) == (9, 0) else f"motion-{length}-{angle:g}",
        description=f"motion blur along a {length}-pixel line at {angle:g} degrees (counter-clockwise)",
        source="an anti-aliased line segment (weight 1 - distance to the segment), normalised to sum 1",
    )


PARAMETRIC: dict[str, Parametric] = {
    p.name: p
    for p in (
        Parametric(
            "gaussian",
            (
                Param("size", int, 5, "odd side length; default from sigma (6*sigma+1) or 5"),
                Param("sigma", float, 0, "standard deviation; 0 = OpenCV's default for the size"),
            ),
            _gaussian,
            "Gaussian blur",
            "cv2.getGaussianKernel",
        ),
        Parametric("box", (Param("size", int, 3, "side length"),), _box, "mean filter", "cv2.blur"),
        Parametric(
            "log",
            (Param("size", int, 5, "odd side length"), Param("sigma", float, 0.5, "standard deviation")),
            _log,
            "Laplacian of Gaussian",
            "MATLAB fspecial('log')",
        ),
        Parametric(
            "motion",
            (Param("length", int, 9, "line length in pixels"), Param("angle", float, 0, "degrees, counter-clockwise")),
            _motion,
            "motion blur",
            "anti-aliased line",
        ),
    )
}

