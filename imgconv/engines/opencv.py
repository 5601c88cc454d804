"""The OpenCV engine: ``cv2.filter2D``, with what it lacks added by composition.

``filter2D`` has no wrap border and no border value (its constant border is 0). For those
the engine pads the image itself (:func:`imgconv.borders.pad`) by exactly the kernel's reach,
filters, and crops: the cropped pixels never read beyond the padding, so the result is the
filter with that border.

Kernels with whole-number separable factors (Sobel, Scharr, Prewitt) go through
``cv2.sepFilter2D`` where it was measured faster (colour uint8: 1.3x, uint16: 1.1-1.2x at
2048x2048; grey uint8 is faster with filter2D): both routes then compute exact sums and
return the very same numbers. Fractional factors do not: on uint8 OpenCV's separable
fixed-point path rounds ties up where filter2D rounds them to even, and elsewhere it was
not faster.
"""

from __future__ import annotations

import numpy as np

from .._cv import cv2
from ..borders import pad
from .analysis import exact_separable, sum_reach
from .base import CorrelationSpec

__all__ = ["OpenCVEngine"]

# From this kernel area on, filter2D correlates through a DFT, whose float noise a separable
# pass does not reproduce bit for bit.
_DFT_AREA = 121

_DEPTHS = {np.dtype(np.uint8): "CV_8U", np.dtype(np.uint16): "CV_16U", np.dtype(np.float32): "CV_32F"}


class OpenCVEngine:
    """Correlation by ``cv2.filter2D`` (see :class:`~imgconv.engines.base.Engine`)."""

    name = "cv2"

    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        if image.ndim == 3 and image.shape[2] == 1:  # OpenCV drops a single channel axis
            return self.correlate(image[:, :, 0], spec, float_output=float_output)[:, :, None]
        cv = cv2()
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        if not float_output and _sum_may_wrap(image.dtype, kernel, spec.delta):
            # filter2D saturates an integer result through an int32 conversion: a sum past
            # 2**31 wraps to INT_MIN and comes out 0 (black) where the maximum is due
            values = self.correlate(image, spec, float_output=True)
            top = float(np.iinfo(image.dtype).max)
            return np.clip(np.rint(values), 0, top).astype(image.dtype)
        ddepth = cv.CV_32F if float_output else getattr(cv, _DEPTHS[image.dtype])
        if not _needs_padding(spec):
            return self._filter(image, ddepth, kernel, spec, spec.border.opencv)
        top, bottom, left, right = spec.padding()
        padded = _pad(image, (top, bottom, left, right), spec)
        out = self._filter(padded, ddepth, kernel, spec, cv.BORDER_REFLECT_101)
        return np.ascontiguousarray(out[top : top + image.shape[0], left : left + image.shape[1]])

    def explain(
        self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, *, float_output: bool = False
    ) -> str:
        """One line: which OpenCV function this correlation goes through, and why."""
        grey_uint8 = np.dtype(dtype) == np.uint8 and (len(image_shape) == 2 or image_shape[2] == 1)
        factors = None if grey_uint8 else _separable(np.dtype(dtype), spec.kernel)
        padded = " after padding the image itself" if _needs_padding(spec) else ""
        if factors is not None:
            return f"cv2: cv2.sepFilter2D{padded} (exact separable factors {_show(factors[0])} x {_show(factors[1])})"
        return f"cv2: cv2.filter2D{padded}"

    @staticmethod
    def _filter(image, ddepth, kernel, spec, border_flag):  # noqa: ANN001, ANN205
        channels = image.shape[2] if image.ndim == 3 else 1
        cv = cv2()
        if channels <= 4:
            factors = _separable(image.dtype, kernel) if channels > 1 or image.dtype != np.uint8 else None
            if factors is not None:
                column, row = factors
                out = cv.sepFilter2D(
                    image, ddepth, row, column, anchor=spec.anchor, delta=spec.delta, borderType=border_flag
                )
            else:
                out = cv.filter2D(
                    image, ddepth, kernel, anchor=spec.anchor, delta=spec.delta, borderType=border_flag
                )
            return out.reshape(image.shape[:2] + image.shape[2:])
        # filter2D handles at most 4 channels at a time: go through the rest in groups
        return np.dstack(
            [
                OpenCVEngine._filter(image[:, :, i : i + 4], ddepth, kernel, spec, border_flag)
                for i in range(0, channels, 4)
            ]
        )


def _sum_may_wrap(dtype: np.dtype, kernel: np.ndarray, delta: float) -> bool:
    """Whether a weighted sum can leave int32's range (only with weights of millions)."""
    if dtype.kind != "u":
        return False
    return sum_reach(kernel, np.iinfo(dtype).max, delta) >= 2.0**31


def _needs_padding(spec: CorrelationSpec) -> bool:
    return spec.border.name == "wrap" or (spec.border.name == "constant" and spec.border_value != 0)


def _separable(dtype: np.dtype, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact float32 factors for ``cv2.sepFilter2D`` on integer images, else None.

    Only where both routes compute exact sums (see :func:`~imgconv.engines.analysis.exact_separable`)
    and so give bit-identical results: Sobel, Scharr, Prewitt, the binomial Gaussians,
    power-of-two boxes. Float images and other kernels keep ``filter2D``.
    """
    if dtype.kind != "u" or kernel.size >= _DFT_AREA:
        return None
    factors = exact_separable(kernel, float(np.iinfo(dtype).max))
    if factors is None or not all(np.all(f == np.round(f)) for f in factors):
        return None
    return factors


def _show(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{v:g}" for v in vector) + "]"


def _pad(image: np.ndarray, pads: tuple[int, int, int, int], spec: CorrelationSpec) -> np.ndarray:
    return pad(image, *pads, spec.border.name, spec.border_value)
