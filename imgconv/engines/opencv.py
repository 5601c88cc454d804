"""The OpenCV engine: ``cv2.filter2D``, with what it lacks added by composition.

``filter2D`` has no wrap border and no border value (its constant border is 0). For those
the engine pads the image itself (:func:`imgconv.borders.pad`) by exactly the kernel's reach,
filters, and crops: the cropped pixels never read beyond the padding, so the result is the
filter with that border.
"""

from __future__ import annotations

import numpy as np

from .._cv import cv2
from ..borders import pad
from .base import CorrelationSpec

__all__ = ["OpenCVEngine"]

_DEPTHS = {np.dtype(np.uint8): "CV_8U", np.dtype(np.uint16): "CV_16U", np.dtype(np.float32): "CV_32F"}


class OpenCVEngine:
    """Correlation by ``cv2.filter2D`` (see :class:`~imgconv.engines.base.Engine`)."""

    name = "cv2"

    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        if image.ndim == 3 and image.shape[2] == 1:  # OpenCV drops a single channel axis
            return self.correlate(image[:, :, 0], spec, float_output=float_output)[:, :, None]
        cv = cv2()
        ddepth = cv.CV_32F if float_output else getattr(cv, _DEPTHS[image.dtype])
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        needs_padding = spec.border.name == "wrap" or (
            spec.border.name == "constant" and spec.border_value != 0
        )
        if not needs_padding:
            return self._filter(image, ddepth, kernel, spec, spec.border.opencv)
        top, bottom, left, right = spec.padding()
        padded = _pad(image, (top, bottom, left, right), spec)
        out = self._filter(padded, ddepth, kernel, spec, cv.BORDER_REFLECT_101)
        return np.ascontiguousarray(out[top : top + image.shape[0], left : left + image.shape[1]])

    @staticmethod
    def _filter(image, ddepth, kernel, spec, border_flag):  # noqa: ANN001, ANN205
        channels = image.shape[2] if image.ndim == 3 else 1
        cv = cv2()
        if channels <= 4:
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


def _pad(image: np.ndarray, pads: tuple[int, int, int, int], spec: CorrelationSpec) -> np.ndarray:
    return pad(image, *pads, spec.border.name, spec.border_value)
