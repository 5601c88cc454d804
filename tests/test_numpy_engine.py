"""The numpy engine against OpenCV: every route, border, depth and channel count.

The oracles are OpenCV itself: the cv2 engine (what ``imgconv.apply(..., engine="cv2")``
runs), ``cv2.filter2D`` called directly, and ``cv2.filter2D`` on float64 images for the
exact value of a sum. Integer results must equal OpenCV's exactly, except where OpenCV
uses its float32 DFT (kernels of 130 cells and more on uint8, 50 and more on uint16), whose
noise decides values within about 1e-6 of the sum of ``|w * x|`` from a ``.5``: there a
difference of one level is allowed on such values only. Float results:
``1e-5 * max(1, |v|)``, plus OpenCV's own float32 noise for kernels whose weights add up
to far more than 1.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgconv
from imgconv.borders import BORDER_NAMES, get_border
from imgconv.engines import ENGINE_NAMES, get_engine
from imgconv.engines.numpy import engine as numpy_engine
from imgconv.engines.numpy import tuning
from imgconv.engines.numpy.fft import FFTRoute
from imgconv.engines.numpy.route import Route
from imgconv.engines.base import CorrelationSpec
from imgconv.engines.numpy import STRATEGIES, NumpyEngine
from imgconv.engines.opencv import OpenCVEngine

CV2 = OpenCVEngine()
DTYPES = (np.uint8, np.uint16, np.float32)
MAXVAL = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
CV2_DFT_AREA = {np.dtype(np.uint8): 130, np.dtype(np.uint16): 50, np.dtype(np.float32): 130}


# -- helpers --------------------------------------------------------------------------
def spec_for(kernel, anchor=None, border="reflect101", value=0.0,  # noqa: ANN001
             delta=0.0) -> CorrelationSpec:
    k = np.asarray(kernel, np.float32)
    if anchor is None:
        anchor = (k.shape[1] // 2, k.shape[0] // 2)
    return CorrelationSpec(k, anchor, get_border(border), border_value=value, delta=delta)


def random_image(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:  # noqa: ANN001
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, MAXVAL[dtype] + 1, shape).astype(dtype)


def border_value(dtype) -> float:  # noqa: ANN001
    return 0.375 if np.dtype(dtype).kind == "f" else 7.0


def exact(image: np.ndarray, spec: CorrelationSpec) -> np.ndarray:
    """The sum in float64 (cv2.filter2D on a float64 copy padded by OpenCV itself)."""
    top, bottom, left, right = spec.padding()
    img = image.astype(np.float64)
    if spec.border.name == "constant":
        widths = ((top, bottom), (left, right)) + ((0, 0),) * (img.ndim - 2)
        padded = np.pad(img, widths, constant_values=float(image.dtype.type(spec.border_value)))
    else:
        padded = cv2.copyMakeBorder(img, top, bottom, left, right, spec.border.opencv)
    padded = padded.reshape(padded.shape[:2] + image.shape[2:])
    channels = [padded] if padded.ndim == 2 else [padded[:, :, i] for i in range(padded.shape[2])]
    kernel = spec.kernel.astype(np.float64)
    out = [
        cv2.filter2D(np.ascontiguousarray(ch), cv2.CV_64F, kernel, anchor=spec.anchor, delta=spec.delta)
        for ch in channels
    ]
    out = [o[top : top + image.shape[0], left : left + image.shape[1]] for o in out]
    return out[0] if image.ndim == 2 else np.dstack(out).reshape(image.shape)


def float_tolerance(image: np.ndarray, spec: CorrelationSpec, reference: np.ndarray) -> np.ndarray:
    """1e-5 * max(1, |v|), plus OpenCV's float32 noise (about 1e-7 of sum |w * x|)."""
    top = float(np.abs(image).max()) if image.dtype.kind == "f" else MAXVAL[image.dtype]
    top = max(top, abs(spec.border_value))
    scale = float(np.abs(spec.kernel).sum()) * top + abs(spec.delta)
    return 1e-5 * np.maximum(1.0, np.abs(reference)) + 1e-6 * scale


def assert_matches_cv2(ours: np.ndarray, image: np.ndarray, spec: CorrelationSpec, float_output: bool,
                       what: str = "") -> None:
    """Our result against the cv2 engine's, by the rules in the module docstring."""
    theirs = CV2.correlate(image, spec, float_output=float_output)
    assert ours.shape == theirs.shape == image.shape, what
    assert ours.dtype == theirs.dtype, what
    if float_output or image.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            diff = np.abs(ours.astype(np.float64) - theirs)
        tol = float_tolerance(image, spec, theirs.astype(np.float64))
        bad = ~(diff <= tol) & ~(np.isnan(ours) & np.isnan(theirs))
        assert not bad.any(), f"{what}: {bad.sum()} values off by up to {np.nanmax(diff[bad])}"
        return
    diff = np.abs(ours.astype(np.int64) - theirs)
    if spec.kernel.size < CV2_DFT_AREA[image.dtype]:  # OpenCV's direct sum: identical
        assert not diff.any(), f"{what}: {np.count_nonzero(diff)} pixels differ, up to {diff.max()}"
        return
    # OpenCV's float32 DFT: one level, only where the value is within its noise of .5
    v = exact(image, spec)
    noise = 2e-6 * (float(np.abs(spec.kernel).sum()) * MAXVAL[image.dtype] + abs(spec.delta))
    near_tie = np.abs(np.abs(v - np.floor(v)) - 0.5) <= noise
    assert diff.max(initial=0) <= 1, what
    assert not (diff.astype(bool) & ~near_tie).any(), f"{what}: differs away from a .5 tie"


def strategies_for(spec: CorrelationSpec, dtype, float_output: bool = False) -> list[str]:  # noqa: ANN001
    """The strategies that can run this call (forcing the others raises ValueError)."""
    found = []
    image = np.zeros((4, 4), dtype)
    for name in STRATEGIES:
        try:
            NumpyEngine(name).correlate(image, spec, float_output=float_output)
        except ValueError:
            continue
        found.append(name)
    return found


# -- registration and the public API ----------------------------------------------------
def test_registered_as_numpy_engine():
    assert "numpy" in ENGINE_NAMES
    engine = get_engine("numpy")
    assert isinstance(engine, NumpyEngine)
    assert engine.name == "numpy"


def test_apply_with_numpy_engine_equals_cv2_engine_and_filter2d():
    rng = np.random.default_rng(0)
    image = random_image(rng, (40, 50, 3), np.uint8)
    for kernel in ("sobel-x", "sharpen", "gaussian", "edge", "laplacian", "box:size=4"):
        ours = imgconv.apply(image, kernel, engine="numpy")
        np.testing.assert_array_equal(ours, imgconv.apply(image, kernel, engine="cv2"), err_msg=kernel)
        k = imgconv.load_kernel(kernel)
        direct = cv2.filter2D(image, -1, k.effective.astype(np.float32), anchor=k.anchor)
        np.testing.assert_array_equal(ours, direct, err_msg=kernel)


def test_apply_options_through_numpy_engine():
    rng = np.random.default_rng(1)
    image = random_image(rng, (33, 27, 4), np.uint16)
    for options in (
        {"border": "wrap", "mode": "convolve"},
        {"border": "constant", "border_value": 1000, "post": "abs"},
        {"border": "reflect", "post": "stretch", "depth": "uint8"},
        {"premultiply": True, "border": "replicate"},
        {"depth": "float32", "border": "constant"},
    ):
        smoothing = ("gaussian:size=7,sigma=1.5", "[[1, 2], [3, 4]]")
        for kernel in smoothing if options.get("premultiply") else ("sobel-y", *smoothing):
            ours = imgconv.apply(image, kernel, engine="numpy", **options)
            theirs = imgconv.apply(image, kernel, engine="cv2", **options)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
            if ours.dtype.kind == "f":
                np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3 * 65535,
                                           err_msg=f"{kernel} {options}")
            else:
                assert np.abs(ours.astype(int) - theirs).max() <= 1, f"{kernel} {options}"


# -- borders ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("border", "before", "length", "after", "expected"),
    [
        # OpenCV's borderInterpolate, worked by hand; wider than the image reflects again
        ("reflect101", 2, 4, 2, [2, 1, 0, 1, 2, 3, 2, 1]),
        ("reflect101", 5, 3, 5, [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]),
        ("reflect101", 3, 1, 3, [0, 0, 0, 0, 0, 0, 0]),
        ("reflect", 2, 4, 2, [1, 0, 0, 1, 2, 3, 3, 2]),
        ("reflect", 5, 2, 5, [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]),
        ("replicate", 3, 2, 3, [0, 0, 0, 0, 1, 1, 1, 1]),
        ("wrap", 2, 4, 2, [2, 3, 0, 1, 2, 3, 0, 1]),
        ("wrap", 5, 2, 3, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]),
        ("constant", 2, 3, 1, [-1, -1, 0, 1, 2, -1]),
    ],
)
def test_border_indices_tables(border, before, length, after, expected):
    assert get_border(border).indices(length, before, after).tolist() == expected


@pytest.mark.parametrize("border", BORDER_NAMES)
def test_border_indices_equal_opencv_border_interpolate(border):
    flag = get_border(border).opencv
    for length, reach in itertools.product(range(1, 7), range(0, 15)):
        ours = get_border(border).indices(length, reach, reach).tolist()
        theirs = [cv2.borderInterpolate(p, length, flag) for p in range(-reach, length + reach)]
        assert ours == theirs, (length, reach)


@pytest.mark.parametrize("border", BORDER_NAMES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (2, 2), (3, 2), (2, 5, 3)])
def test_images_thinner_than_the_kernel(border, shape):
    """7x7 and 6x4 kernels on images smaller than them: OpenCV reflects again and again."""
    rng = np.random.default_rng(sum(shape))
    for dtype, (kernel, anchor) in itertools.product(
        DTYPES, [(rng.integers(-3, 4, (7, 7)), None), (rng.standard_normal((6, 4)), (1, 4))]
    ):
        image = random_image(rng, shape, dtype)
        spec = spec_for(kernel, anchor, border, border_value(dtype), delta=0.5)
        for strategy in strategies_for(spec, dtype):
            ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
            assert_matches_cv2(ours, image, spec, False, f"{strategy} {dtype.__name__}")


# -- parity: every route x dtype x border x channels ----------------------------------------
_RNG = np.random.default_rng(2024)
_G5 = cv2.getGaussianKernel(5, 1.3) @ cv2.getGaussianKernel(5, 1.3).T
KERNELS = {
    "sobel": ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], None),
    "sharpen": ([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], None),
    "binomial5": (np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256, None),
    "box3": (np.ones((3, 3)) / 9, None),
    "gauss5-float": (_G5, None),
    "even-4x6-random": (_RNG.standard_normal((4, 6)), (4, 1)),
    "int-12x12": (_RNG.integers(-2, 3, (12, 12)), (3, 8)),
    "row-1x7": ([[1, 2, 3, 4, 3, 2, 1]], None),
}


def _route_cases() -> list[tuple[str, str]]:
    cases = []
    for name, (kernel, anchor) in KERNELS.items():
        runnable = {s for dtype in DTYPES for s in strategies_for(spec_for(kernel, anchor), dtype)}
        cases += [(name, s) for s in STRATEGIES if s in runnable]
    return cases


@pytest.mark.parametrize(("name", "strategy"), _route_cases())
def test_parity_every_route(name, strategy):
    """Each route that can run a call agrees with OpenCV, for every depth, border, channels."""
    kernel, anchor = KERNELS[name]
    rng = np.random.default_rng(7)
    ran = 0
    for dtype, border, channels, float_output in itertools.product(
        DTYPES, BORDER_NAMES, (1, 3), (False, True)
    ):
        delta = 3.25 if channels == 3 else 0.0
        spec = spec_for(kernel, anchor, border, border_value(dtype), delta)
        image = random_image(rng, (21, 19, 3) if channels == 3 else (21, 19), dtype)
        try:
            ours = NumpyEngine(strategy, threads=1).correlate(image, spec, float_output=float_output)
        except ValueError as e:
            assert "cannot run" in str(e)
            continue
        ran += 1
        what = f"{dtype.__name__} {border} C={channels} float_output={float_output}"
        assert_matches_cv2(ours, image, spec, float_output, what)
    assert ran, f"{strategy} never ran {name}"


def test_parity_four_channels_and_premultiply():
    rng = np.random.default_rng(3)
    for dtype, (name, (kernel, anchor)) in itertools.product(DTYPES, KERNELS.items()):
        image = random_image(rng, (17, 23, 4), dtype)
        spec = spec_for(kernel, anchor, "reflect101")
        for strategy in strategies_for(spec, dtype):
            ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
            assert_matches_cv2(ours, image, spec, False, f"{name} {strategy} {dtype.__name__}")
    image = random_image(rng, (30, 30, 4), np.uint8)
    for kernel in ("gaussian", "sharpen"):
        ours = imgconv.apply(image, kernel, engine="numpy", premultiply=True)
        theirs = imgconv.apply(image, kernel, engine="cv2", premultiply=True)
        assert np.abs(ours.astype(int) - theirs).max() <= 1


def test_non_contiguous_images():
    rng = np.random.default_rng(4)
    base = random_image(rng, (50, 60, 4), np.uint8)
    views = [base[::2, ::-1, :3], base[5:40, 3:50, 1], base.transpose(1, 0, 2)[:, :, :3]]
    for view, (name, (kernel, anchor)) in itertools.product(views, KERNELS.items()):
        spec = spec_for(kernel, anchor, "reflect")
        for strategy in strategies_for(spec, view.dtype):
            ours = NumpyEngine(strategy).correlate(view, spec, float_output=False)
            assert_matches_cv2(ours, np.ascontiguousarray(view), spec, False, f"{name} {strategy}")


@pytest.mark.parametrize("border", ["constant", "reflect101"])
@pytest.mark.parametrize("limit", [0, 2**29])  # int64 indices (images of 2**29 elements on), int32
def test_replay_indices_in_either_width(monkeypatch, border, limit):
    """The replay's source indices, int32 or int64, reach the right pixels (a sparse
    float kernel on uint8: OpenCV's own arithmetic decides its roundings)."""
    monkeypatch.setattr(tuning, "INT32_INDICES", limit)
    rng = np.random.default_rng(23)
    image = random_image(rng, (40, 30, 3), np.uint8)
    kernel = rng.standard_normal((5, 4)) * (rng.random((5, 4)) < 0.6)
    spec = spec_for(kernel, border=border, value=border_value(np.uint8))
    for strategy in ("shift", "fft"):
        ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
        assert_matches_cv2(ours, image, spec, False, f"{strategy} {border} limit {limit}")


def test_many_bands_and_threads(monkeypatch):
    """Tiny bands (the separable routes carry rows from band to band; the matmul route's
    column pass in products of a few rows, with a remainder) and two threads."""
    monkeypatch.setattr(tuning, "BAND_BYTES", 3000)
    monkeypatch.setattr(tuning, "MATMUL_ROWS", 5)
    monkeypatch.setattr(tuning, "MATMUL_COL_ROWS", 2)  # two products of 2 rows and one of 1 per band
    monkeypatch.setattr(Route, "thread_min_ns", 0)
    monkeypatch.setattr(FFTRoute, "thread_min_ns", 0)
    monkeypatch.setattr(tuning, "FFT_THREAD_MIN_NS", 0)
    monkeypatch.setattr(numpy_engine, "_PLANS", {})
    rng = np.random.default_rng(5)
    for dtype, channels, (name, (kernel, anchor)) in itertools.product(DTYPES, (1, 3), KERNELS.items()):
        image = random_image(rng, (61, 37, channels) if channels > 1 else (61, 37), dtype)
        spec = spec_for(kernel, anchor, "wrap", delta=1.0)
        for strategy in strategies_for(spec, dtype):
            ours = NumpyEngine(strategy, threads=2).correlate(image, spec, float_output=False)
            assert_matches_cv2(ours, image, spec, False, f"{name} {strategy} {dtype.__name__} C={channels}")


# -- exactness ------------------------------------------------------------------------------
def test_binomial_ties_are_rounded_half_to_even_like_opencv():
    """The 5x5 binomial over 256 puts ~0.4% of values exactly on .5; all must match."""
    rng = np.random.default_rng(6)
    image = random_image(rng, (256, 256), np.uint8)
    spec = spec_for(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256)
    v = exact(image, spec)
    ties = np.count_nonzero(v - np.floor(v) == 0.5)
    assert 0.002 * v.size < ties < 0.01 * v.size
    direct = cv2.filter2D(image, -1, spec.kernel)
    for strategy in strategies_for(spec, np.uint8):
        ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
        np.testing.assert_array_equal(ours, direct, err_msg=strategy)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_and_dyadic_kernels_identical_to_filter2d(dtype):
    rng = np.random.default_rng(8)
    image = random_image(rng, (128, 96, 3), dtype)
    kernels = [
        [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256,
        np.outer([1, 2, 1], [1, 2, 1]) / 16,
        np.ones((4, 4)) / 16,
        rng.integers(-4, 5, (5, 7)),
    ]
    for kernel, delta in itertools.product(kernels, (0.0, 128.0, -3.5)):
        spec = spec_for(kernel, delta=delta)
        direct = cv2.filter2D(image, -1, spec.kernel, delta=delta)
        for strategy in strategies_for(spec, dtype):
            ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
            np.testing.assert_array_equal(ours, direct, err_msg=f"{strategy} delta={delta}")


def test_float_kernels_on_uint8_mismatch_rate():
    """Kernels OpenCV sums inexactly: at most 1 level, on at most 1e-4 of the pixels."""
    rng = np.random.default_rng(9)
    image = random_image(rng, (256, 256), np.uint8)
    g13 = cv2.getGaussianKernel(13, 2.5)
    kernels = (_G5, g13 @ g13.T, rng.random((11, 11)) / 60, np.ones((15, 15)) / 225, rng.standard_normal((9, 9)) / 9)
    for kernel in kernels:
        spec = spec_for(kernel)
        direct = cv2.filter2D(image, -1, spec.kernel).astype(int)
        for strategy in strategies_for(spec, np.uint8):
            diff = np.abs(NumpyEngine(strategy).correlate(image, spec, float_output=False) - direct)
            assert diff.max() <= 1, strategy
            assert np.count_nonzero(diff) <= 1e-4 * diff.size, f"{strategy}: {np.count_nonzero(diff)}"


def test_saturation_and_float_output_of_uint16():
    rng = np.random.default_rng(10)
    image = random_image(rng, (40, 40), np.uint16)
    for kernel, both_ends in (([[0, -3, 0], [-3, 13, -3], [0, -3, 0]], True), (np.full((3, 3), 0.5), False)):
        spec = spec_for(kernel, delta=-100.0)
        for strategy in strategies_for(spec, np.uint16):
            for float_output in (False, True):
                ours = NumpyEngine(strategy).correlate(image, spec, float_output=float_output)
                assert_matches_cv2(ours, image, spec, float_output, strategy)
        out = NumpyEngine().correlate(image, spec, float_output=False)
        assert out.max() == 65535 and (out.min() == 0 or not both_ends)  # saturated, not wrapped


def test_float_output_of_uint16_is_the_exact_sum_rounded_once():
    """uint16 float results: the float64 sum rounded to float32, on every route.

    OpenCV's own DFT of 16-bit images is float64 from 50 cells on; in float32 a zero-sum
    kernel's small results near a flat area carried errors of ~0.005 (float32 rounding
    of sums of terms up to 65535)."""
    rng = np.random.default_rng(12)
    image = cv2.GaussianBlur(random_image(rng, (70, 90), np.uint16), (0, 0), 3)  # smooth: sums cancel
    log = imgconv.load_kernel("log:size=9,sigma=1.4").effective
    g = cv2.getGaussianKernel(31, 4)
    for kernel in (log, [[0.1, -0.3, 0.05], [0.25, -0.05, 0.0], [0.0, 0.2, -0.25]], g @ g.T, rng.standard_normal((13, 13))):
        spec = spec_for(kernel)
        truth = exact(image, spec)
        ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
        for strategy in strategies_for(spec, np.uint16, float_output=True):
            ours = NumpyEngine(strategy).correlate(image, spec, float_output=True).astype(np.float64)
            assert np.all(np.abs(ours - truth) <= ulp + 1e-9 * np.abs(spec.kernel).sum() * 65535), strategy


def test_zero_kernel_and_non_finite_float_input():
    rng = np.random.default_rng(11)
    image = random_image(rng, (30, 40), np.float32)
    image[5, 7], image[20, 30] = np.nan, np.inf
    for kernel in (np.zeros((3, 3)), [[0, 0, 0], [0, 1, 0], [0, 0, 0.5]], rng.standard_normal((5, 4))):
        spec = spec_for(kernel, delta=2.0)
        for strategy in STRATEGIES:
            try:
                ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
            except ValueError:
                continue
            theirs = CV2.correlate(image, spec, float_output=False)
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=strategy)
            finite = np.isfinite(theirs)
            np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-5, atol=1e-4, err_msg=strategy)


@pytest.mark.parametrize("name", ["box:size=3", "box:size=15", "gaussian", "gaussian:size=9", "gaussian:size=31"])
def test_smoothing_float32_values_near_the_float32_limit_stay_finite_like_opencv(name):
    """Smoothing kernels on float32 values up to 3e37 and 3e38: OpenCV's terms ``w * x``
    never exceed the largest value, so its results are finite, and every route's must be
    too (summing a 15x15 box's 15 equal values before multiplying by 1/225 overflowed)."""
    rng = np.random.default_rng(17)
    k = imgconv.load_kernel(name)
    spec = spec_for(k.effective, k.anchor)
    for top in (3e37, 3e38):
        image = (rng.random((40, 50)) * top).astype(np.float32)
        theirs = cv2.filter2D(image, -1, spec.kernel, anchor=spec.anchor, borderType=cv2.BORDER_REFLECT_101)
        assert np.isfinite(theirs).all()
        for strategy in [None, *strategies_for(spec, np.float32)]:
            ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
            what = f"{name} up to {top:g}, strategy {strategy}"
            assert np.isfinite(ours).all(), f"{what}: {np.count_nonzero(~np.isfinite(ours))} not finite"
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6 * top, err_msg=what)


def test_nan_reaches_only_the_kernel_footprint():
    """Large kernels (FFT by default) on an image with NaN: the NaN spreads only as far as
    the non-zero weights reach (OpenCV's own DFT path spreads it everywhere)."""
    rng = np.random.default_rng(13)
    image = random_image(rng, (70, 90), np.float32)
    image[10, 20] = image[50, 60] = np.nan
    kernel = rng.standard_normal((15, 15)) * (rng.random((15, 15)) < 0.5)
    spec = spec_for(kernel, (3, 11))

    def footprint(img: np.ndarray) -> np.ndarray:  # where a NaN is under a non-zero weight
        mask, reach = np.isnan(img).astype(np.float32), (spec.kernel != 0).astype(np.float32)
        return cv2.filter2D(mask, -1, reach, anchor=spec.anchor, borderType=cv2.BORDER_REFLECT_101) > 0.5

    for strategy in ("fft", "shift"):
        ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
        np.testing.assert_array_equal(np.isnan(ours), footprint(image), err_msg=strategy)
    big = np.tile(image, (4, 4))
    assert "fft" in NumpyEngine().explain(big.shape, big.dtype, spec)
    ours = NumpyEngine().correlate(big, spec, float_output=False)
    np.testing.assert_array_equal(np.isnan(ours), footprint(big))


# -- properties (hypothesis) ----------------------------------------------------------------
@st.composite
def calls(draw, separable=False, whole=False):  # noqa: ANN001, ANN201
    rows, cols = draw(st.integers(1, 15)), draw(st.integers(1, 15))
    if separable:
        c = draw(st.lists(st.integers(-4, 4), min_size=rows, max_size=rows))
        r = draw(st.lists(st.integers(-4, 4), min_size=cols, max_size=cols))
        kernel = np.outer(c, r).astype(np.float64)
        if not whole and draw(st.booleans()):
            kernel = kernel / draw(st.sampled_from([16.0, 7.0, 1000.0]))
    elif whole or draw(st.booleans()):
        values = draw(st.lists(st.integers(-5, 5), min_size=rows * cols, max_size=rows * cols))
        kernel = np.array(values, float)
        kernel = kernel.reshape(rows, cols) / (1 if whole else draw(st.sampled_from([1.0, 8.0, 256.0])))
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        kernel = np.random.default_rng(seed).standard_normal((rows, cols)) / np.sqrt(rows * cols)
    anchor = (draw(st.integers(0, cols - 1)), draw(st.integers(0, rows - 1)))
    dtype = np.dtype(draw(st.sampled_from([np.uint8, np.uint16]) if whole else st.sampled_from(DTYPES)))
    border = draw(st.sampled_from(BORDER_NAMES))
    spec = spec_for(kernel, anchor, border, border_value(dtype), draw(st.sampled_from([0.0, 0.5, 17.0])))
    height, width = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    channels = draw(st.sampled_from([1, 3]))
    shape = (height, width) if channels == 1 else (height, width, channels)
    image = random_image(np.random.default_rng(draw(st.integers(0, 2**32 - 1))), shape, dtype)
    return image, spec


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calls())
def test_property_automatic_route_matches_opencv(call):
    image, spec = call
    for float_output in (False, True):
        ours = NumpyEngine().correlate(image, spec, float_output=float_output)
        route = NumpyEngine().explain(image.shape, image.dtype, spec)
        assert_matches_cv2(ours, image, spec, float_output, route)


@PROPERTY
@given(calls(), st.sampled_from(["shift", "fft"]))
def test_property_shift_and_fft_routes_match_opencv(call, strategy):
    image, spec = call
    ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
    assert_matches_cv2(ours, image, spec, False, strategy)


@PROPERTY
@given(calls(whole=True))
def test_property_integer_route_matches_opencv(call):
    image, spec = call
    ours = NumpyEngine("integer").correlate(image, spec, float_output=False)
    assert_matches_cv2(ours, image, spec, False)


@PROPERTY
@given(calls(separable=True), st.sampled_from(["separable", "matmul"]))
def test_property_separable_routes_match_opencv(call, strategy):
    image, spec = call
    try:
        ours = NumpyEngine(strategy).correlate(image, spec, float_output=False)
    except ValueError as e:  # float factors on uint16, or an all-zero outer product
        assert image.dtype == np.uint16 or not spec.kernel.any(), str(e)
        return
    assert_matches_cv2(ours, image, spec, False, strategy)


# -- strategy choice and its explanation ------------------------------------------------------
@pytest.mark.parametrize(
    ("kernel", "shape", "route"),
    [
        ("sobel-x", (512, 512), "separable"),
        ("sharpen", (2048, 2048, 3), "integer"),
        ("gaussian", (2048, 2048), "separable"),
        ("box:size=15", (2048, 2048), "separable"),
        ("gaussian:size=31", (2048, 2048), "matmul"),
        # the replay's cost counted: forced, the separable route took 3.8 ms on 2 threads
        # and matmul 6.1 ms, which an estimate without it chose
        ("gaussian:size=5,sigma=1", (512, 512, 3), "separable"),
        ("box:size=9", (512, 512, 3), "separable"),
    ],
)
def test_explain_names_the_route(kernel, shape, route):
    k = imgconv.load_kernel(kernel)
    spec = spec_for(k.effective, k.anchor)
    text = NumpyEngine().explain(shape, np.uint8, spec)
    assert text.startswith(f"numpy: {route}, "), text


def test_explain_large_random_kernel_uses_fft():
    spec = spec_for(np.random.default_rng(12).standard_normal((31, 31)))
    assert NumpyEngine().explain((2048, 2048), np.uint8, spec).startswith("numpy: fft, overlap-save")
    assert "NaN" in NumpyEngine().explain((2048, 2048), np.float32, spec)


def test_large_float_kernel_on_uint8_uses_float32_transforms_within_the_spec():
    """A 31x31 random kernel on an 8-bit photo-sized image takes the float32 FFT: its
    noise is of the size of OpenCV's own DFT, so at most 1e-4 of the pixels may land one
    level from the exactly rounded sum, and only next to a .5 tie."""
    rng = np.random.default_rng(31)
    spec = spec_for(rng.standard_normal((31, 31)) / 31)
    image = random_image(rng, (517, 611, 3), np.uint8)
    assert "float32 transforms" in NumpyEngine().explain(image.shape, image.dtype, spec)
    ours = NumpyEngine().correlate(image, spec, float_output=False)
    assert_matches_cv2(ours, image, spec, False, "auto")
    v = exact(image, spec)
    rounded = np.clip(np.rint(v), 0, 255)
    off = np.abs(ours - rounded)
    assert off.max() <= 1
    assert np.count_nonzero(off) <= 1e-4 * ours.size
    # ties matter for whole-number kernels and for uint16: those keep float64
    whole = spec_for(np.ones((31, 31)))
    assert "float64 transforms" in NumpyEngine("fft").explain(image.shape, np.uint8, whole)
    assert "float64 transforms" in NumpyEngine("fft").explain(image.shape, np.uint16, spec)
    assert "float64 transforms" in NumpyEngine("fft").explain(image.shape, np.uint8, spec, float_output=True)


def test_forced_strategies_that_cannot_run_say_why():
    spec = spec_for(_G5)
    with pytest.raises(ValueError, match="'integer' cannot run this call: it needs a uint8 or uint16"):
        NumpyEngine("integer").correlate(np.zeros((4, 4), np.float32), spec, float_output=False)
    with pytest.raises(ValueError, match="not separable"):
        NumpyEngine("separable").correlate(np.zeros((4, 4), np.uint8), spec_for([[1, 2], [3, 5]]),
                                          float_output=False)
    with pytest.raises(ValueError, match="unknown strategy 'fast'; expected one of: shift, integer"):
        NumpyEngine("fast")


def test_fft_route_is_not_disturbed_by_what_an_earlier_call_left_in_its_buffers():
    """The FFT route reuses its buffers from call to call. Beyond a partial tile's data
    their old contents only reach dropped outputs in exact arithmetic, but their rounding
    noise reaches all of them: a float image of 1e30 left 867 of a later 16-bit call's
    pixels wrong, by up to 65535."""
    sobel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    engine = NumpyEngine("fft", threads=1)  # one thread: this thread's buffers throughout
    rng = np.random.default_rng(1)
    for before in (np.full((40, 40, 3), 1e30, np.float32), rng.random((64, 64, 3), np.float32) * 3e38):
        engine.correlate(before, spec_for(sobel), float_output=False)
        for shape in ((21, 19, 3), (37, 23, 3), (21, 19)):
            image = rng.integers(0, 65536, shape).astype(np.uint16)
            spec = spec_for(sobel, delta=3.25)
            ours = engine.correlate(image, spec, float_output=False)
            assert np.array_equal(ours, CV2.correlate(image, spec, float_output=False)), shape


def test_fft_tiles_for_threads_only_where_the_call_is_shared_out():
    """A call too small for threads (``Route.workers`` is 1) gets the tiles that are
    best on one thread, not ones cut so that two threads would each have some."""
    rng = np.random.default_rng(13)
    spec = spec_for(rng.random((31, 31)) / 480)
    for shape in ((384, 384), (300, 420), (200, 200, 3)):
        one = NumpyEngine("fft", threads=1)._plan(shape, np.dtype(np.uint8), spec, False)[0]
        two, workers = NumpyEngine("fft", threads=2)._plan(shape, np.dtype(np.uint8), spec, False)
        if workers == 1:
            assert (two.tile_h, two.tile_w) == (one.tile_h, one.tile_w), shape
        else:
            assert two.cost() >= tuning.FFT_THREAD_MIN_NS


# -- values that do not depend on threads or on where a band of the image begins -----------------
@pytest.mark.parametrize("strategy", ["separable", "matmul", "fft", "shift"])
def test_values_do_not_depend_on_threads_or_on_where_the_image_begins(strategy):
    """The same pixel gets the same value whether the call runs on one thread or two, and
    in a band of the image that begins on the route's grid of rows (RowTiles): a cluster's
    workers with other CPU counts write the same bytes, and streamed bands equal the whole."""
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (1700, 200, 3), dtype=np.uint8)
    k = imgconv.load_kernel("gaussian:size=15,sigma=3")
    spec = CorrelationSpec(k.effective.astype(np.float32), k.anchor, get_border("reflect101"))
    for float_output in (True, False):
        one = NumpyEngine(strategy, threads=1).correlate(image, spec, float_output=float_output)
        two = NumpyEngine(strategy, threads=2).correlate(image, spec, float_output=float_output)
        assert np.array_equal(one, two), float_output
        period = NumpyEngine(strategy, threads=2).row_tiles(image.shape, image.dtype, spec,
                                                           float_output=float_output).period
        # a band from a row on the grid, tall enough to be planned as the image: from its
        # second tile of rows on (its first reads the rows the band borders itself), up to
        # a tile that ends before the band does
        p = max(period, 20)
        rows = max(2 * p + 20, tuning.PLAN_ROWS + 1)
        band = NumpyEngine(strategy, threads=2).correlate(image[p : p + rows], spec, float_output=float_output)
        assert np.array_equal(band[p : 2 * p], one[2 * p : 3 * p]), float_output
