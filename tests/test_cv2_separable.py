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


def uses(name: str, dtype, delta: float = 0.0, float_output: bool = False) -> bool:
    weights = imgconv.load_kernel(name).effective.astype(np.float32)
    return _separable(np.dtype(dtype), weights, delta, float_output) is not None


def test_the_route_is_taken_where_exact_and_only_there() -> None:
    assert uses("sobel-x", np.uint8) and uses("sobel-x", np.uint16) and uses("scharr-y", np.uint16)
    assert uses("gaussian", np.uint8) and uses("gaussian:size=7", np.uint8)  # binomial: dyadic, exact sums
    assert uses("gaussian:size=3", np.uint16) and not uses("gaussian", np.uint16)  # 16 x 16 x 65535 >= 2**22
    assert not uses("gaussian:size=5,sigma=1.3", np.uint8)  # sampled weights: float noise decides near .5
    assert not uses("edge", np.uint8)  # not separable
    assert not uses("sobel-x", np.float32)  # float sums are not exact
    # over an odd divisor: never a tie, and both routes' errors far from one
    assert uses("blur", np.uint8) and uses("box:size=21", np.uint8)
    assert not uses("box:size=23", np.uint8)  # 1/(2*529) is within filter2D's DFT allowance
    assert not uses("blur", np.uint8, float_output=True)  # float results are not rounded
    assert not uses("blur", np.uint8, delta=0.5)  # s/9 + 0.5 can be a tie
    assert uses("blur", np.uint8, delta=2 / 9)
    assert not uses("box:size=15", np.uint16)  # 65535 levels: the errors may reach a rounding boundary
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


# -- box blurs and other whole-number kernels over an odd divisor --------------------------
def exactly_rounded(image: np.ndarray, ints: np.ndarray, divisor: int, border: str, value: float = 0.0) -> np.ndarray:
    """The oracle: whole-number sums (int64, by scipy.ndimage on the padded image), divided
    by ``divisor`` and rounded in integer arithmetic (an odd divisor leaves no ties)."""
    from scipy import ndimage

    kh, kw = ints.shape
    top, left = kh // 2, kw // 2
    flag = {"reflect101": cv2.BORDER_REFLECT_101, "reflect": cv2.BORDER_REFLECT, "replicate": cv2.BORDER_REPLICATE,
            "constant": cv2.BORDER_CONSTANT, "wrap": cv2.BORDER_WRAP}[border]
    padded = cv2.copyMakeBorder(image, top, kh - 1 - top, left, kw - 1 - left, flag, value=[value] * 4)
    padded = padded.reshape(padded.shape[0], padded.shape[1], -1).astype(np.int64)
    h, w = image.shape[:2]
    # ndimage centres the kernel on (kh // 2, kw // 2): the image's pixels sit there in padded
    sums = np.stack([ndimage.correlate(padded[:, :, c], ints, mode="constant")[top : top + h, left : left + w]
                     for c in range(padded.shape[2])], axis=2)
    q, r = np.divmod(sums, divisor)
    rounded = q + (2 * r > divisor)
    return np.clip(rounded, 0, np.iinfo(image.dtype).max).astype(image.dtype).reshape(image.shape)


ODD = [(np.ones((n, n), np.int64), n * n) for n in (3, 5, 9, 11, 15, 21)] + [
    (np.outer([1, 2, 3, 2, 1], [1, 2, 3, 2, 1]), 81),  # a tent
    (np.ones((3, 5), np.int64), 15),  # a rectangle
    (np.ones((1, 15), np.int64), 15),  # a 1-D box
]


@pytest.mark.parametrize("ints, divisor", ODD, ids=lambda v: "x".join(map(str, v.shape)) if hasattr(v, "shape") else str(v))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("border", ["reflect101", "replicate", "constant"])
def test_odd_divisor_kernels_round_exactly_as_filter2d_does(ints: np.ndarray, divisor: int, channels: int, border: str) -> None:
    # window sums of noise fall in every residue mod the divisor: about 2 in divisor of
    # them lie one step from a .5, the hardest cases (counted below)
    shape = (96, 101) if channels == 1 else (96, 101, channels)
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    weights = (ints / divisor).astype(np.float32)
    spec = imgconv.engines.CorrelationSpec(weights, (ints.shape[1] // 2, ints.shape[0] // 2), BORDERS[border])  # (x, y)
    engine = OpenCVEngine()
    assert "sepFilter2D" in engine.explain(image.shape, np.uint8, spec)
    got = engine.correlate(image, spec, float_output=False)
    assert np.array_equal(got, exactly_rounded(image, ints, divisor, border))
    assert np.array_equal(got, direct(image, weights, border).reshape(image.shape))
    # the hard cases were there: sums one step below or above a .5
    from scipy import ndimage

    sums = ndimage.correlate(image.reshape(96, 101, -1)[:, :, 0].astype(np.int64), ints, mode="mirror")
    near = np.isin(sums % divisor, [(divisor - 1) // 2, (divisor + 1) // 2])
    assert near.sum() >= 20


@pytest.mark.parametrize("border, value", [("wrap", 0.0), ("constant", 200.0)])
def test_odd_divisor_kernels_with_borders_filter2d_lacks(border: str, value: float) -> None:
    image = RNG.integers(0, 256, (64, 70, 3), dtype=np.uint8)
    for ints, divisor in ODD[:5]:
        kernel = imgconv.Kernel(ints.astype(float), divisor=divisor)
        got = imgconv.apply(image, kernel, border=border, border_value=value)
        assert np.array_equal(got, exactly_rounded(image, ints, divisor, border, value)), ints.shape


def test_box_blurs_through_the_cli_options_agree_with_the_numpy_engine() -> None:
    image = cv2.imread(str(imgconv_samples() / "coffee.png"), cv2.IMREAD_UNCHANGED)
    for name in ("blur", "box:size=9", "box:size=15"):
        cv2_out = imgconv.apply(image, name, engine="cv2")
        assert np.array_equal(cv2_out, imgconv.apply(image, name, engine="numpy")), name
        assert np.array_equal(cv2_out, direct(image, imgconv.load_kernel(name).effective, "reflect101")), name


def imgconv_samples():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize("kernel", [
    np.array([[0.5], [0.5]]),  # both factors would be smoothing ones: [.5, .5] and [1]
    np.array([[0.0, 0.25, 0.0], [0.0, 0.5, 0.0], [0.0, 0.25, 0.0]]),  # [1,2,1]/4 x a single 1
    np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256,
    np.outer([1, 2, 1], [1, 2, 1]) / 16,
])
@pytest.mark.parametrize("channels", [1, 3])
def test_dyadic_smoothing_kernels_keep_filter2d_s_ties_to_even(kernel: np.ndarray, channels: int) -> None:
    # sepFilter2D's 8-bit fixed-point path, taken when both factors smooth (no negative
    # weight, sum 1), rounds .5 up; the engine's factors avoid it, and these images have
    # many exact ties (filter2D rounds them to even)
    from imgconv.engines.analysis import exact_separable

    column, row = exact_separable(kernel, 255)
    assert not (column.min() >= 0 and row.min() >= 0 and abs(column.sum() - 1) < 1e-7 and abs(row.sum() - 1) < 1e-7)
    # (OpenCV's fixed-point rounding showed at widths such as 451 and 600, not at 90 or 512)
    shape = (64, 451) if channels == 1 else (64, 451, channels)
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    weights = kernel.astype(np.float32)
    spec = imgconv.engines.CorrelationSpec(weights, (kernel.shape[1] // 2, kernel.shape[0] // 2), BORDERS["reflect101"])
    engine = OpenCVEngine()
    assert "sepFilter2D" in engine.explain(image.shape, np.uint8, spec)
    exact = cv2.filter2D(image.astype(np.float64), cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT_101)
    ties = np.count_nonzero(exact % 1 == 0.5)
    assert ties > 20
    expect = np.rint(exact).astype(np.uint8)  # half to even, from float64 sums (exact here)
    got = engine.correlate(image, spec, float_output=False)
    assert np.array_equal(got, expect)
    assert np.array_equal(got, direct(image, weights, "reflect101").reshape(image.shape))


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.lists(st.integers(-4, 4), min_size=1, max_size=7),
    st.lists(st.integers(-4, 4), min_size=1, max_size=7),
    st.integers(1, 60).map(lambda k: 2 * k + 1),  # odd divisors 3 to 121
    st.sampled_from(["reflect101", "reflect", "replicate", "constant"]),
    st.sampled_from([1, 3]),
    st.integers(0, 4),
)
def test_random_kernels_over_an_odd_divisor_round_as_filter2d(column, row, divisor, border, channels, offset_steps) -> None:
    ints = np.outer(column, row)
    if not ints.any():
        return
    weights = (ints / divisor).astype(np.float32)
    delta = offset_steps / divisor  # a whole number of 1/D steps: still never a tie
    spec = imgconv.engines.CorrelationSpec(weights, (len(row) // 2, len(column) // 2), BORDERS[border], delta=delta)
    engine = OpenCVEngine()
    shape = (37, 451) if channels == 1 else (37, 451, channels)
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    got = engine.correlate(image, spec, float_output=False)
    expect = cv2.filter2D(image, -1, weights, anchor=spec.anchor, delta=delta, borderType=BORDERS[border].opencv)
    assert np.array_equal(got, expect.reshape(got.shape)), engine.explain(image.shape, np.uint8, spec)


@pytest.mark.parametrize("shape", [(5, 10), (7, 8), (8, 8), (1, 64), (6, 9)])
@pytest.mark.parametrize("shift", [6, 8])
def test_uint16_dyadic_kernels_from_50_cells_keep_filter2d(shape: tuple[int, int], shift: int) -> None:
    # filter2D sums 16-bit images through its DFT from 50 cells on (8-bit: 130): a
    # separable pass's exact sums then round ties differently on hundreds of pixels
    kernel = (np.ones(shape) / 2.0**shift).astype(np.float32)
    image = RNG.integers(0, 65536, (60, 451, 3), dtype=np.uint16)
    spec = imgconv.engines.CorrelationSpec(kernel, (shape[1] // 2, shape[0] // 2), BORDERS["reflect101"])
    engine = OpenCVEngine()
    assert engine.explain(image.shape, np.uint16, spec) == "cv2: cv2.filter2D"
    expect = cv2.filter2D(image, -1, kernel, anchor=spec.anchor, borderType=cv2.BORDER_REFLECT_101)
    assert np.array_equal(engine.correlate(image, spec, float_output=False), expect)
