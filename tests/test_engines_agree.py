"""Every pipeline feature goes through both engines alike (the engine only correlates)."""

from __future__ import annotations

import numpy as np
import pytest

import imgconv
from imgconv.kernels import kernel_from_json

RNG = np.random.default_rng(21)
RGBA = RNG.integers(0, 256, (37, 41, 4), dtype=np.uint8)
RGBA16 = RNG.integers(0, 65536, (23, 29, 4), dtype=np.uint16)

CASES = [
    ("sobel-x", {}),
    ("edge", {"border": "wrap"}),
    ("sharpen", {"border": "constant", "border_value": 7.5}),
    ("gaussian", {"stride": "2x3"}),
    ("laplacian", {"post": "shift"}),
    ("sobel-y", {"post": "abs", "depth": "uint16"}),
    ("prewitt-x", {"dilation": 2, "padding": "valid"}),
    ("emboss", {"padding": "full", "border": "reflect"}),
    ("[[1, 2], [3, 4]]", {"transposed": True, "stride": 2}),
    ("roberts", {"mode": "convolve"}),
    ("edge", {"gray": True}),
    ("box:size=4", {"post": "stretch"}),
]


@pytest.mark.parametrize("image", [RGBA, RGBA16], ids=["uint8", "uint16"])
@pytest.mark.parametrize("kernel, options", CASES, ids=[f"{k}-{sorted(o)}" for k, o in CASES])
def test_numpy_engine_equals_cv2_engine(image: np.ndarray, kernel: str, options: dict) -> None:
    a = imgconv.apply(image, kernel, engine="cv2", **options)
    b = imgconv.apply(image, kernel, engine="numpy", **options)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b)


def test_per_channel_and_pointwise_through_both_engines() -> None:
    kernel = kernel_from_json({"channels": ["sobel-x", "sobel-y", "laplacian"], "pointwise": [[1, 1, 1]]})
    a = imgconv.apply(RGBA, kernel, engine="cv2", depth="float32")
    b = imgconv.apply(RGBA, kernel, engine="numpy", depth="float32")
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-4)


def test_float32_images_agree_within_1e_5() -> None:
    image = RNG.standard_normal((31, 33, 3)).astype(np.float32)
    for kernel in ("gaussian:size=7,sigma=1.5", "log:size=9,sigma=1.4", "unsharp"):
        a = imgconv.apply(image, kernel, engine="cv2")
        b = imgconv.apply(image, kernel, engine="numpy")
        assert np.all(np.abs(a - b) <= 1e-5 * np.maximum(1, np.abs(a)))


@pytest.mark.parametrize("image", [RGBA, RGBA16], ids=["uint8", "uint16"])
def test_premultiplied_filtering_agrees_within_one_level(image: np.ndarray) -> None:
    # a float pipeline (colour divided by the filtered alpha): float32 sums that differ in
    # the last bit may round to neighbouring levels, never further apart
    a = imgconv.apply(image, "blur", engine="cv2", premultiply=True).astype(np.int64)
    b = imgconv.apply(image, "blur", engine="numpy", premultiply=True).astype(np.int64)
    assert np.abs(a - b).max() <= 1 and np.count_nonzero(a != b) <= 0.005 * a.size
