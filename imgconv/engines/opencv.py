"""The OpenCV engine: ``cv2.filter2D``, with what it lacks added by composition.

``filter2D`` has no wrap border and no border value (its constant border is 0). For those
the engine pads the image itself (:meth:`imgconv.borders.Border.pad`) by exactly the
kernel's reach, filters, and crops: the cropped pixels never read beyond the padding, so
the result is the filter with that border.

Separable kernels go through ``cv2.sepFilter2D`` where its result is bit-identical to
filter2D's (see :func:`_separable`), several times as fast (``benchmarks/engines.py``
measures it):

* whole numbers times a power of two (Sobel, Scharr, Prewitt, the binomial Gaussians):
  both routes compute exact sums. The power of two goes with one factor only: were both
  factors smoothing ones, OpenCV's 8-bit fixed-point path would round ties up where
  filter2D rounds them to even;
* box blurs and other whole-number kernels over an odd divisor, on rounded results:
  their sums are never ties, and both routes' errors stay far enough from one.

Other fractional factors (sampled Gaussians) keep filter2D: float noise decides near
``.5``, differently in each.
"""

from __future__ import annotations

import functools

import numpy as np

from .._cv import cv2
from ..dtypes import float_type, integer_max
from ..weights import integer_form, sum_reach
from .analysis import CV2_DFT_AREA, exact_separable, odd_denominator_separable
from .base import NO_TILES, CorrelationSpec, RowTiles

__all__ = ["OpenCVEngine", "sum_may_wrap"]

_DEPTHS = {np.dtype(np.uint8): "CV_8U", np.dtype(np.uint16): "CV_16U", np.dtype(np.float32): "CV_32F",
           np.dtype(np.float64): "CV_64F"}


class OpenCVEngine:
    """Correlation by ``cv2.filter2D`` (see :class:`~imgconv.engines.base.Engine`)."""

    name = "cv2"

    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        if image.ndim == 3 and image.shape[2] == 1:  # OpenCV drops a single channel axis
            return self.correlate(image[:, :, 0], spec, float_output=float_output)[:, :, None]
        cv = cv2()
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        if not float_output and sum_may_wrap(image.dtype, kernel, spec.delta):
            # filter2D saturates an integer result through an int32 conversion: a sum past
            # 2**31 wraps to INT_MIN and comes out 0 (black) where the maximum is due
            values = self.correlate(image, spec, float_output=True)
            top = float(integer_max(image.dtype))
            return np.clip(np.rint(values), 0, top).astype(image.dtype)
        # float results in float32; a float64 image's in float64 (its sums are float64 too)
        ddepth = getattr(cv, _DEPTHS[float_type(image.dtype) if float_output else image.dtype])
        if not _needs_padding(spec):
            return self._filter(image, ddepth, kernel, spec, spec.border.opencv)
        top, bottom, left, right = spec.padding()
        padded = spec.border.pad(image, top, bottom, left, right, spec.border_value)
        out = self._filter(padded, ddepth, kernel, spec, cv.BORDER_REFLECT_101)
        return np.ascontiguousarray(out[top : top + image.shape[0], left : left + image.shape[1]])

    def explain(
        self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, *, float_output: bool = False
    ) -> str:
        """One line: which OpenCV function this correlation goes through, and why."""
        route = _separable(np.dtype(dtype), spec.kernel, spec.delta, float_output)
        padded = " after padding the image itself" if _needs_padding(spec) else ""
        if route is None:
            return f"cv2: cv2.filter2D{padded}"
        column, row, divisor = route
        if divisor == 1:
            return f"cv2: cv2.sepFilter2D{padded} (exact separable factors {_show(column)} x {_show(row)})"
        return (f"cv2: cv2.sepFilter2D{padded} (separable factors {_show(column, divisor)} x {_show(row)}: "
                f"sums over an odd {divisor} are never ties, so it rounds them as filter2D does)")

    def work(self, dtype: np.dtype, spec: CorrelationSpec, *, float_output: bool = False) -> tuple[str, int, bool]:
        """What :meth:`correlate` runs below filter2D's DFT size, for a cost model: the function
        (``sepFilter2D`` or ``filter2D``), its multiply-adds per element (the taps of both
        passes; the non-zero weights), and whether the image is padded first."""
        dtype = np.dtype(dtype)
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        padded = _needs_padding(spec)
        if _separable(dtype, kernel, spec.delta, float_output) is not None:
            return "sepFilter2D", sum(kernel.shape), padded
        return "filter2D", max(1, int(np.count_nonzero(kernel))), padded

    def row_tiles(
        self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, *, float_output: bool = False
    ) -> RowTiles:
        """filter2D's DFT (kernels of 130 cells and more on 8-bit results and float32 images,
        50 on the others, float64 ones included) goes through ``crossCorr``, which transforms the image in tiles
        of a height set by the kernel's alone (for images taller than a tile).

        >>> from imgconv.borders import get_border
        >>> spec = CorrelationSpec(np.full((31, 31), 1 / 961, np.float32), (15, 15), get_border("reflect101"))
        >>> OpenCVEngine().row_tiles((4000, 4000), np.uint8, spec)
        RowTiles(period=226, first=0, min_rows=226)
        """
        dtype = np.dtype(dtype)
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        if not float_output and sum_may_wrap(dtype, kernel, spec.delta):
            float_output = True  # correlate() then runs filter2D to float32
        if _separable(dtype, kernel, spec.delta, float_output) is not None:
            return NO_TILES
        native = (dtype == np.uint8 and not float_output) or dtype == np.float32  # OpenCV's dftFilter2D
        rows, cols = kernel.shape
        if rows * cols < (130 if native else 50):
            return NO_TILES
        top, bottom = spec.padding()[:2] if _needs_padding(spec) else (0, 0)
        period = _dft_tile_rows(rows, image_shape[0] + top + bottom)
        return RowTiles(period, -top, period)  # a shorter image would get shorter tiles

    @staticmethod
    def _filter(image, ddepth, kernel, spec, border_flag):  # noqa: ANN001, ANN205
        channels = image.shape[2] if image.ndim == 3 else 1
        cv = cv2()
        if channels <= 4:
            route = _separable(image.dtype, kernel, spec.delta, ddepth == cv.CV_32F)
            if route is not None:
                column, row, _ = route
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


def sum_may_wrap(dtype: np.dtype, kernel: np.ndarray, delta: float) -> bool:
    """Whether a weighted sum can leave int32's range (only with weights of millions)."""
    if dtype.kind != "u":
        return False
    return _sums_may_wrap_cached(dtype.str, kernel.tobytes(), kernel.shape, float(delta))


@functools.lru_cache(maxsize=64)  # 15 us uncached: a tenth of a 512x512 Sobel's sepFilter2D
def _sums_may_wrap_cached(dtype_str: str, data: bytes, shape: tuple[int, int], delta: float) -> bool:
    kernel = np.frombuffer(data, np.float32).reshape(shape)
    return sum_reach(kernel, integer_max(dtype_str), delta) >= 2.0**31


def _dft_tile_rows(kernel_rows: int, rows: int) -> int:
    """Output rows per tile of OpenCV's ``crossCorr`` (imgproc/src/templmatch.cpp) for an
    image of ``rows`` rows: a block of 4.5 kernel heights, at least 256 rows with the
    kernel, grown to the DFT size OpenCV prefers."""
    block = min(max(round(kernel_rows * 4.5), 256 - kernel_rows + 1), rows)
    size = cv2().getOptimalDFTSize(block + kernel_rows - 1)
    return min(size - kernel_rows + 1, rows)


def _needs_padding(spec: CorrelationSpec) -> bool:
    return not spec.border.filter2d_extends(spec.border_value)


def _separable(dtype: np.dtype, kernel: np.ndarray, delta: float,
               float_output: bool) -> tuple[np.ndarray, np.ndarray, int] | None:
    """float32 ``(column, row, divisor)`` for ``cv2.sepFilter2D`` on integer images where
    its result is bit-identical to filter2D's, else None.

    * divisor 1: both routes compute exact sums (see :func:`~imgconv.engines.analysis.exact_separable`):
      Sobel, Scharr, Prewitt, the binomial Gaussians, power-of-two boxes; not at
      filter2D's DFT sizes, where its sums are not exact;
    * an odd divisor, on rounded results: both round the same sums to the same integers
      (see :func:`~imgconv.engines.analysis.odd_denominator_separable`): box blurs to 21x21.

    Float images and other kernels keep ``filter2D``.
    """
    if dtype.kind != "u":
        return None
    kernel = np.ascontiguousarray(kernel, np.float32)
    return _separable_cached(dtype.str, kernel.tobytes(), kernel.shape, float(delta), float_output)


@functools.lru_cache(maxsize=64)  # the analysis costs up to 0.3 ms, as much as a 3x3 filter
def _separable_cached(dtype_str: str, data: bytes, shape: tuple[int, int], delta: float,
                      float_output: bool) -> tuple[np.ndarray, np.ndarray, int] | None:
    dtype = np.dtype(dtype_str)
    kernel = np.frombuffer(data, np.float32).reshape(shape)
    top = float(integer_max(dtype))
    if not float_output:
        odd = odd_denominator_separable(kernel, top, delta)
        if odd is not None:
            return odd
    if kernel.size >= CV2_DFT_AREA[dtype]:
        return None
    factors = exact_separable(kernel, top)
    if factors is None:
        return None
    return factors[0], factors[1], 1


def _show(vector: np.ndarray, divisor: int | None = None) -> str:
    """``[1,2,1]``, ``[1,4,6,4,1]/256`` (whole numbers over ``divisor``, or over a power of
    two found in the vector), a long one ``[1,1,1,...,1]/225 (15 taps)``."""
    if divisor is None:
        scale, ints, shift = integer_form(vector)
        if ints is not None and shift is not None and shift > 0:
            vector, divisor = ints, 1 << shift
    elif divisor > 1:
        vector = np.rint(np.asarray(vector, np.float64) * divisor)
    shown = [f"{v:g}" for v in vector]
    over = f"/{divisor}" if divisor and divisor > 1 else ""
    if len(shown) <= 9:
        return "[" + ",".join(shown) + "]" + over
    return "[" + ",".join(shown[:3]) + ",...," + shown[-1] + "]" + over + f" ({len(shown)} taps)"
