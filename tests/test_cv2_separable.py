"""The cv2 engine's sepFilter2D route must give exactly what cv2.filter2D gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgconv
from imgconv.borders import BORDERS
from imgconv.engines.opencv import OpenCVEngine, _separable

RNG = np.random.default_rng(11)


def direct(image: np.ndarray, kernel: np.ndarray, border: str, ddepth: int = -1) -> np.ndarray:
    return cv2.filter2D(image, ddepth, kernel.astype(np.float32), borderType=BORDERS[border].opencv)


@pytest.mark.parametrize("name", ["sobel-x", "sobel-y", "scharr-x", "prewitt-y", "gaussian", "gaussian:size=9", "box:size=4", "blur", "edge"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("border", ["reflect101", "reflect", "replicate", "constant"])
def test_named_kernels_identical_to_filter2d(name: str, dtype, border: str) -> None:
    top = np.iinfo(dtype).max
    image = RNG.integers(0, top + 1, (61, 67, 3), dtype=dtype)
    kernel = imgconv.load_kernel(name)
    weights = kernel.effective.astype(np.float32)
    assert np.array_equal(imgconv.apply(image, kernel, border=border), direct(image, weights, border))
    raw = imgconv.apply(image, kernel, border=border, depth="float32")
    assert np.array_equal(raw, direct(image, weights, border, cv2.CV_32F))


def test_the_route_is_taken_where_exact_and_only_there() -> None:
    uses = lambda name, dtype: _separable(np.dtype(dtype), imgconv.load_kernel(name).effective.astype(np.float32)) is not None  # noqa: E731
    assert uses("sobel-x", np.uint8) and uses("sobel-x", np.uint16) and uses("scharr-y", np.uint16)
    assert not uses("gaussian", np.uint8)  # fractional factors: OpenCV's 8-bit path rounds ties up
    assert not uses("edge", np.uint8)  # not separable
    assert not uses("blur", np.uint8)  # 1/9 is not dyadic: filter2D's own rounding decides
    assert not uses("sobel-x", np.float32)  # float sums are not exact
    spec_line = OpenCVEngine().explain((64, 64, 3), np.uint8, imgconv.engines.CorrelationSpec(
        imgconv.load_kernel("sobel-x").effective.astype(np.float32), (1, 1), BORDERS["reflect101"]))
    assert spec_line.startswith("cv2: cv2.sepFilter2D")


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.lists(st.integers(-8, 8), min_size=1, max_size=7),
    st.lists(st.integers(-8, 8), min_size=1, max_size=7),
    st.integers(0, 8),
    st.sampled_from([np.uint8, np.uint16]),
    st.sampled_from(["reflect101", "reflect", "replicate", "constant", "wrap"]),
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from([0.0, 0.5, -3.25, 7.0]),
)
def test_random_dyadic_separable_kernels(column, row, shift, dtype, border, height, width, offset) -> None:
    kernel = np.outer(column, row) / 2.0**shift
    image = RNG.integers(0, np.iinfo(dtype).max + 1, (height, width, 3), dtype=dtype)  # colour: the sep route
    out = imgconv.apply(image, imgconv.Kernel(kernel, offset=offset), border=border)
    if border == "wrap":  # filter2D refuses wrap: pad by hand, filter, crop
        rows, cols = kernel.shape
        padded = cv2.copyMakeBorder(image, rows // 2, rows - 1 - rows // 2, cols // 2, cols - 1 - cols // 2, cv2.BORDER_WRAP)
        expect = cv2.filter2D(padded, -1, kernel.astype(np.float32), delta=offset)[rows // 2 : rows // 2 + height, cols // 2 : cols // 2 + width]
    else:
        expect = cv2.filter2D(image, -1, kernel.astype(np.float32), delta=offset, borderType=BORDERS[border].opencv)
    assert np.array_equal(out, expect)
