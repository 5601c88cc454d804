"""float64 images (what scikit-image's ``img_as_float`` gives): filtered in float64 by both
engines and returned as float64.

Oracles: ``cv2.filter2D`` on CV_64F itself; below OpenCV's DFT size (50 cells) a float64
sum written out here in OpenCV's order (``delta + w0*x0 + w1*x1 ...``, row-major, zero
weights left out), which must match it bit for bit; ``scipy.ndimage.correlate`` within
float64 rounding everywhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage

import imgconv
from imgconv._cv import cv2
from imgconv.borders import BORDER_NAMES
from imgconv.kernels import kernel_from_json, load_kernel

RNG = np.random.default_rng(64)
RGB = RNG.standard_normal((41, 37, 3)) * 10
GREY = RNG.random((33, 45))
RGBA = np.dstack([RNG.random((29, 31, 3)), RNG.random((29, 31))])
_SCIPY_MODES = {"reflect101": "mirror", "reflect": "reflect", "replicate": "nearest", "wrap": "wrap",
                "constant": "constant"}


def _opencv_order(image: np.ndarray, weights: np.ndarray, anchor: tuple[int, int], delta: float = 0.0) -> np.ndarray:
    """OpenCV's direct float64 sum, by hand: reflect101 border, row-major, zero weights
    skipped; ``anchor`` is ``(x, y)`` as OpenCV's."""
    kh, kw = weights.shape
    ax, ay = anchor
    pad = ((ay, kh - 1 - ay), (ax, kw - 1 - ax)) + ((0, 0),) * (image.ndim - 2)
    padded = np.pad(image, pad, mode="reflect")
    h, w = image.shape[:2]
    total = np.full(image.shape, delta)
    for y in range(kh):
        for x in range(kw):
            if weights[y, x] != 0:
                total = total + np.float64(weights[y, x]) * padded[y : y + h, x : x + w]
    return total


def _reach(image: np.ndarray, weights: np.ndarray, border: str = "reflect101") -> np.ndarray:
    """``sum(|w * x|)`` at every pixel: what float64 rounding is relative to."""
    axes = [np.abs(weights).astype(np.float64)] if image.ndim == 2 else None
    if image.ndim == 2:
        return ndimage.correlate(np.abs(image), axes[0], mode=_SCIPY_MODES[border])
    return np.dstack([_reach(image[:, :, c], weights, border) for c in range(image.shape[2])])


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("spec", ["gaussian:size=7,sigma=1.5", "sobel-x", "sharpen", "laplacian", "emboss",
                                  "box:size=4", "[[0.1, -0.3, 0.7, 0.2, 0.9]]", "motion:length=7,angle=30"])
@pytest.mark.parametrize("image", [RGB, GREY], ids=["rgb", "grey"])
def test_below_the_dft_size_both_engines_sum_in_opencvs_order(engine: str, spec: str, image: np.ndarray) -> None:
    kernel = load_kernel(spec)
    assert kernel.effective.size < 50
    out = imgconv.apply(image, spec, engine=engine)
    assert out.dtype == np.float64 and out.shape == image.shape
    weights = kernel.effective.astype(np.float32)
    expect = _opencv_order(image, weights, kernel.anchor, kernel.offset)
    assert np.array_equal(out, expect)
    assert np.array_equal(out, cv2().filter2D(image, cv2().CV_64F, weights, anchor=kernel.anchor,
                                              delta=kernel.offset, borderType=cv2().BORDER_REFLECT_101))


@pytest.mark.parametrize("border", BORDER_NAMES)
@pytest.mark.parametrize("options", [{}, {"stride": 2}, {"dilation": 2, "padding": "valid"}, {"mode": "convolve"},
                                     {"transposed": True, "stride": "2x3"}, {"padding": "full"}])
def test_the_numpy_engine_equals_the_cv2_engine_bit_for_bit(border: str, options: dict) -> None:
    for spec in ("gaussian:size=3,sigma=0.8", "sobel-y", "[[1, 2], [3, 4.5]]"):  # dilated: under 50 cells
        a = imgconv.apply(RGB, spec, engine="cv2", border=border, border_value=0.25, **options)
        b = imgconv.apply(RGB, spec, engine="numpy", border=border, border_value=0.25, **options)
        assert a.dtype == b.dtype == np.float64
        assert np.array_equal(a, b), (spec, border, options)


@pytest.mark.parametrize("border", ["reflect101", "reflect", "replicate", "wrap"])
@pytest.mark.parametrize("spec", ["gaussian:size=15,sigma=3", "box:size=9", "log:size=9,sigma=1.4"])
def test_from_the_dft_size_on_both_engines_agree_with_scipy_to_float64_rounding(border: str, spec: str) -> None:
    kernel = load_kernel(spec)
    weights = kernel.effective.astype(np.float32).astype(np.float64)
    assert weights.size >= 50 and weights.shape[0] % 2 == 1 and weights.shape[1] % 2 == 1  # centred anchor
    bound = 1e-13 * _reach(GREY, weights, border)
    expect = ndimage.correlate(GREY, weights, mode=_SCIPY_MODES[border])
    for engine in ("cv2", "numpy"):
        out = imgconv.apply(GREY, spec, engine=engine, border=border)
        assert out.dtype == np.float64
        assert np.all(np.abs(out - expect) <= bound), engine


def test_integer_images_to_float64_are_opencvs_64f_results() -> None:
    image = RNG.integers(0, 65536, (37, 29, 3), dtype=np.uint16)
    weights = load_kernel("gaussian:size=5,sigma=1.2").effective.astype(np.float32)
    expect = cv2().filter2D(image, cv2().CV_64F, weights, borderType=cv2().BORDER_REFLECT_101)
    for engine in ("cv2", "numpy"):
        out = imgconv.apply(image, "gaussian:size=5,sigma=1.2", engine=engine, depth="float64")
        assert out.dtype == np.float64 and np.array_equal(out, expect)  # the input's units kept


def test_depths_from_float64_follow_the_float32_rules() -> None:
    image = np.array([[0.0, 0.25, 0.5, 2.0, -1.0]])
    identity = [[1.0]]
    assert imgconv.apply(image, identity, depth="float32").dtype == np.float32
    # float to an integer type saturates without rescaling, as from float32
    assert imgconv.apply(image, identity, depth="uint8").tolist() == [[0, 0, 0, 2, 0]]
    assert imgconv.apply(image, identity, post="shift").tolist() == [[0.5, 0.75, 1.0, 2.5, -0.5]]
    stretched = imgconv.apply(image, identity, post="stretch")
    assert stretched.dtype == np.float64
    np.testing.assert_allclose(stretched, [[1 / 3, 1.25 / 3, 1.5 / 3, 1.0, 0.0]], rtol=1e-15, atol=0)


def test_values_beyond_float32_stay_float64() -> None:
    image = np.array([[1e300, 1e-300, 1.0 + 2.0**-40]])  # none of them survives float32
    out = imgconv.apply(image, [[0, 1, 0]], engine="numpy")
    assert out.tolist() == image.tolist()
    assert np.array_equal(out, imgconv.apply(image, [[0, 1, 0]], engine="cv2"))


def test_nan_spreads_as_in_opencvs_direct_sum() -> None:
    image = GREY.copy()
    image[10, 10] = np.nan
    a = imgconv.apply(image, "blur", engine="cv2")
    b = imgconv.apply(image, "blur", engine="numpy")
    assert np.array_equal(np.isnan(a), np.isnan(b)) and np.isnan(a).sum() == 9
    assert np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)])


def test_grey_alpha_premultiply_combined_and_per_channel_kernels() -> None:
    grey = imgconv.apply(RGBA, [[1.0]], gray=True)
    luma = 0.299 * RGBA[:, :, 0] + 0.587 * RGBA[:, :, 1] + 0.114 * RGBA[:, :, 2]
    assert grey.dtype == np.float64 and np.allclose(grey[:, :, 0], luma, rtol=0, atol=1e-15)
    assert np.array_equal(grey[:, :, 1], RGBA[:, :, 3])  # alpha kept as it was

    kept = imgconv.apply(RGBA, "blur")
    assert np.array_equal(kept[:, :, 3], RGBA[:, :, 3])
    assert np.array_equal(kept[:, :, :3], _opencv_order(RGBA[:, :, :3], np.full((3, 3), np.float32(1 / 9)), (1, 1)))

    pre = imgconv.apply(RGBA, "blur", premultiply=True)
    weights = np.full((3, 3), 1 / 9)
    alpha = ndimage.correlate(RGBA[:, :, 3], weights, mode="mirror")
    colour = np.dstack([ndimage.correlate(RGBA[:, :, c] * RGBA[:, :, 3], weights, mode="mirror") for c in range(3)])
    assert pre.dtype == np.float64
    np.testing.assert_allclose(pre[:, :, 3], alpha, rtol=1e-7)  # the kernel's weights are float32's 1/9
    np.testing.assert_allclose(pre[:, :, :3], colour / alpha[:, :, None], rtol=1e-12)

    sobel = imgconv.apply(RGB, "sobel", engine="numpy")
    gx = ndimage.correlate(RGB, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)[:, :, None], mode="mirror")
    gy = ndimage.correlate(RGB, np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float)[:, :, None], mode="mirror")
    assert sobel.dtype == np.float64
    np.testing.assert_allclose(sobel, np.hypot(gx, gy), rtol=1e-14, atol=1e-12)

    mixed = kernel_from_json({"channels": ["identity", "sobel-x", "blur"], "pointwise": [[0.5, 0.25, 0.25]]})
    channels = imgconv.apply(RGB, mixed)
    parts = [RGB[:, :, 0], _opencv_order(RGB[:, :, 1], load_kernel("sobel-x").effective.astype(np.float32), (1, 1)),
             _opencv_order(RGB[:, :, 2], load_kernel("blur").effective.astype(np.float32), (1, 1))]
    assert channels.dtype == np.float64 and channels.shape == RGB.shape[:2]
    np.testing.assert_allclose(channels, 0.5 * parts[0] + 0.25 * parts[1] + 0.25 * parts[2], rtol=1e-14, atol=1e-13)


def test_a_float64_tiff_through_the_cli_and_streamed(tmp_path: Path) -> None:
    image = RNG.standard_normal((700, 300))  # 1.6 MiB: streamed in bands under --max-memory 1M
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, image)
    expect = imgconv.apply(image, "gaussian:size=7,sigma=1.5")
    for name, extra in (("memory.tif", []), ("streamed.tif", ["--max-memory", "1M", "--explain"])):
        proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", "gaussian:size=7,sigma=1.5", str(source),
                               "-o", str(tmp_path / name), *extra], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert ("stream" in proc.stdout + proc.stderr) == bool(extra), proc.stdout + proc.stderr
        out = tifffile.imread(tmp_path / name)
        assert out.dtype == np.float64 and np.array_equal(out, expect), name
    proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", "blur", str(source), "-o",
                           str(tmp_path / "out.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "float64" in proc.stderr and not (tmp_path / "out.png").exists()


def test_a_lazy_dask_float64_array() -> None:
    da = pytest.importorskip("dask.array")
    out = imgconv.apply(da.from_array(RGB, chunks=(7, 11, 3)), "gaussian:size=7,sigma=1.5")
    assert out.dtype == np.float64
    assert np.array_equal(out.compute(), imgconv.apply(RGB, "gaussian:size=7,sigma=1.5"))
