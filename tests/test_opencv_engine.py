"""The OpenCV engine against an independent oracle.

The oracle is ``scipy.ndimage.correlate`` in float64 on the kernel's effective weights
(weights / divisor, rounded to float32 as OpenCV does, then widened to float64), plus the
offset, rounded half to even (``np.rint``) and saturated for integer images. It is itself
checked against hand-computed tables and against a plain ``np.pad`` + sum, so that a
mistake in the oracle's border or anchor mapping cannot hide a mistake in the engine.

Anchor mapping (checked by ``test_oracle_reproduces_hand_tables``): OpenCV's anchor
``(x, y)`` reads ``src[i + j - anchor]`` for kernel cell ``j``; scipy reads
``src[i + j - (size // 2 + origin)]``, so ``origin = anchor - size // 2`` on each axis,
for odd and even sizes alike. ``scipy.ndimage.convolve`` with the same ``origin`` is the
mathematical convolution anchored at ``anchor`` (see ``test_convolve_*``).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

import imgconv
from imgconv.borders import BORDERS

# -- the oracle ---------------------------------------------------------------------------

# Written out by hand from the border table (and checked against it below), so that a wrong
# entry in imgconv.borders cannot make the oracle agree with a wrong engine.
SCIPY_MODES = {
    "reflect101": "mirror",
    "reflect": "reflect",
    "replicate": "nearest",
    "constant": "constant",
    "wrap": "wrap",
}
NUMPY_MODES = {
    "reflect101": "reflect",
    "reflect": "symmetric",
    "replicate": "edge",
    "constant": "constant",
    "wrap": "wrap",
}


def effective_weights(weights, divisor=1.0) -> np.ndarray:
    """What OpenCV multiplies by: weights / divisor as float32, widened to float64."""
    return (np.asarray(weights, dtype=np.float64) / divisor).astype(np.float32).astype(np.float64)


def default_anchor(weights) -> tuple[int, int]:
    rows, cols = np.asarray(weights).shape
    return cols // 2, rows // 2


def _planes(image: np.ndarray) -> list[np.ndarray]:
    if image.ndim == 2:
        return [image]
    return [image[:, :, c] for c in range(image.shape[2])]


def _restack(planes: list[np.ndarray], like: np.ndarray) -> np.ndarray:
    return planes[0] if like.ndim == 2 else np.stack(planes, axis=2)


def oracle(image, weights, *, divisor=1.0, offset=0.0, anchor=None, border="reflect101", border_value=0.0):
    """Unrounded float64 correlation by scipy.ndimage (the expected values before rounding)."""
    w = effective_weights(weights, divisor)
    rows, cols = w.shape
    ax, ay = default_anchor(w) if anchor is None else anchor
    origin = (ay - rows // 2, ax - cols // 2)
    mode = BORDERS[border].scipy
    planes = [
        ndi.correlate(p.astype(np.float64), w, mode=mode, cval=float(border_value), origin=origin) + offset
        for p in _planes(image)
    ]
    return _restack(planes, image)


def oracle_convolve(image, weights, *, anchor=None, border="reflect101", border_value=0.0):
    """Unrounded float64 mathematical convolution by scipy.ndimage.convolve (it flips)."""
    w = effective_weights(weights)
    rows, cols = w.shape
    ax, ay = default_anchor(w) if anchor is None else anchor
    origin = (ay - rows // 2, ax - cols // 2)
    planes = [
        ndi.convolve(p.astype(np.float64), w, mode=SCIPY_MODES[border], cval=float(border_value), origin=origin)
        for p in _planes(image)
    ]
    return _restack(planes, image)


def _extended(plane: np.ndarray, pad: int, border: str, border_value: float) -> np.ndarray:
    extra = {"constant_values": border_value} if border == "constant" else {}
    return np.pad(plane.astype(np.float64), pad, mode=NUMPY_MODES[border], **extra)


def direct_correlate(plane, weights, anchor, border, border_value=0.0) -> np.ndarray:
    """From the definition: out[y, x] = sum w[r, c] * ext[y + r - ay, x + c - ax]."""
    w = np.asarray(weights, dtype=np.float64)
    rows, cols = w.shape
    ax, ay = anchor
    pad = max(rows, cols)
    ext = _extended(plane, pad, border, border_value)
    height, width = plane.shape
    out = np.zeros((height, width))
    for r in range(rows):
        for c in range(cols):
            out += w[r, c] * ext[pad + r - ay : pad + r - ay + height, pad + c - ax : pad + c - ax + width]
    return out


def direct_convolve(plane, weights, anchor, border, border_value=0.0) -> np.ndarray:
    """The mathematical convolution, pixel by pixel: out[y, x] = sum w[r, c] * ext[y + ay - r, x + ax - c]."""
    w = np.asarray(weights, dtype=np.float64)
    rows, cols = w.shape
    ax, ay = anchor
    pad = max(rows, cols)
    ext = _extended(plane, pad, border, border_value)
    height, width = plane.shape
    out = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            total = 0.0
            for r in range(rows):
                for c in range(cols):
                    total += w[r, c] * ext[pad + y + ay - r, pad + x + ax - c]
            out[y, x] = total
    return out


def rounded(values: np.ndarray, dtype) -> np.ndarray:
    """Round half to even and saturate, as cv2.saturate_cast."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return values.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max).astype(dtype)


def assert_matches_oracle(out: np.ndarray, expected: np.ndarray, *, exact: bool) -> None:
    """The contract's exactness rules.

    Integer images with integer or dyadic kernels (``exact``): equal to the rounded oracle.
    Integer images with other kernels: at most 1 level off, and only where the oracle's
    unrounded value is within 1e-3 (uint16: or a relative 1e-6) of a .5 tie.
    float32: |out - expected| <= 1e-5 * max(1, |expected|).
    """
    assert out.shape == expected.shape
    if out.dtype == np.float32:
        error = np.abs(out.astype(np.float64) - expected)
        bound = 1e-5 * np.maximum(1.0, np.abs(expected))
        bad = error > bound
        assert not bad.any(), (
            f"{bad.sum()} float values off by more than 1e-5 relative; worst at "
            f"{np.unravel_index(np.argmax(error - bound), error.shape)}: "
            f"got {out[bad][:5]}, expected {expected[bad][:5]}"
        )
        return
    want = rounded(expected, out.dtype)
    diff = np.abs(out.astype(np.int64) - want.astype(np.int64))
    if exact:
        bad = np.argwhere(diff != 0)
        assert bad.size == 0, (
            f"{len(bad)} pixels differ from the rounded oracle, e.g. at {bad[:5].tolist()}: "
            f"got {out[tuple(bad[:5].T)].tolist()}, expected {want[tuple(bad[:5].T)].tolist()} "
            f"(unrounded {expected[tuple(bad[:5].T)].tolist()})"
        )
        return
    distance_to_tie = np.abs(expected - (np.floor(expected) + 0.5))
    tolerance = 1e-3 if out.dtype == np.uint8 else np.maximum(1e-3, 1e-6 * np.abs(expected))
    near_tie = distance_to_tie <= tolerance
    assert diff.max() <= 1, f"a difference of {diff.max()} levels from the oracle"
    bad = np.argwhere((diff != 0) & ~near_tie)
    assert bad.size == 0, (
        f"{len(bad)} pixels differ away from a .5 tie, e.g. at {bad[:5].tolist()}: "
        f"got {out[tuple(bad[:5].T)].tolist()}, expected {want[tuple(bad[:5].T)].tolist()} "
        f"(unrounded {expected[tuple(bad[:5].T)].tolist()})"
    )


# -- the oracle checks itself against hand-computed values ------------------------------

ROW = np.array([[1, 2, 3, 4, 5]])
WEIGHTS_1_10_100 = [[1, 10, 100]]

# ROW correlated with [[1, 10, 100]], anchor (1, 0): out[i] = in[i-1] + 10 in[i] + 100 in[i+1].
# Only in[-1] and in[5] come from the border:
#   reflect101 in[-1]=2 in[5]=4; reflect, replicate in[-1]=1 in[5]=5;
#   constant v in[-1]=in[5]=v; wrap in[-1]=5 in[5]=1.
CORRELATE_ROW_TABLE = [
    ("reflect101", 0, [212, 321, 432, 543, 454]),
    ("reflect", 0, [211, 321, 432, 543, 554]),
    ("replicate", 0, [211, 321, 432, 543, 554]),
    ("constant", 0, [210, 321, 432, 543, 54]),
    ("constant", 7, [217, 321, 432, 543, 754]),
    ("wrap", 0, [215, 321, 432, 543, 154]),
]

# A 3x3 image and the 2x2 kernel [[1, 2], [4, 8]], constant border 0.
IMAGE_3X3 = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
WEIGHTS_2X2 = [[1, 2], [4, 8]]
# default anchor (1, 1): out[y, x] = 1 in[y-1, x-1] + 2 in[y-1, x] + 4 in[y, x-1] + 8 in[y, x]
TABLE_2X2_DEFAULT = [[8, 20, 32], [34, 61, 76], [64, 106, 121]]
# anchor (0, 0): out[y, x] = 1 in[y, x] + 2 in[y, x+1] + 4 in[y+1, x] + 8 in[y+1, x+1]
TABLE_2X2_ANCHOR_00 = [[61, 76, 27], [106, 121, 42], [23, 26, 9]]


@pytest.mark.parametrize("border, value, expected", CORRELATE_ROW_TABLE)
def test_oracle_reproduces_hand_tables(border, value, expected):
    got = oracle(ROW, WEIGHTS_1_10_100, border=border, border_value=value)
    assert got.tolist() == [expected]
    got = direct_correlate(ROW, WEIGHTS_1_10_100, (1, 0), border, value)
    assert got.tolist() == [expected]


def test_oracle_anchor_sign_on_hand_tables():
    assert oracle(IMAGE_3X3, WEIGHTS_2X2, border="constant").tolist() == TABLE_2X2_DEFAULT
    assert oracle(IMAGE_3X3, WEIGHTS_2X2, border="constant", anchor=(0, 0)).tolist() == TABLE_2X2_ANCHOR_00
    assert direct_correlate(IMAGE_3X3, WEIGHTS_2X2, (0, 0), "constant").tolist() == TABLE_2X2_ANCHOR_00


def test_border_table_maps_to_the_scipy_modes_the_oracle_expects():
    assert {name: b.scipy for name, b in BORDERS.items()} == SCIPY_MODES


@pytest.mark.parametrize("border", list(SCIPY_MODES))
@pytest.mark.parametrize("anchor", [(2, 1), (0, 0), (4, 2), (0, 2)])
def test_oracle_agrees_with_a_plain_padded_sum(border, anchor):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 50, size=(4, 6)).astype(np.float64)
    weights = rng.integers(-4, 5, size=(3, 5))
    got = oracle(image, weights, anchor=anchor, border=border, border_value=3)
    want = direct_correlate(image, weights, anchor, border, 3)
    np.testing.assert_array_equal(got, want)


# -- hand-computed tables through the engine --------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("border, value, expected", CORRELATE_ROW_TABLE)
def test_row_correlation_table(dtype, border, value, expected):
    out = imgconv.apply(ROW.astype(dtype), WEIGHTS_1_10_100, engine="cv2", border=border, border_value=value)
    assert out.dtype == dtype
    saturated = [min(v, 255) for v in expected] if dtype == np.uint8 else expected
    assert out.tolist() == [saturated]


def test_two_by_two_kernel_table_with_default_and_corner_anchor():
    image = IMAGE_3X3.astype(np.uint16)
    out = imgconv.apply(image, WEIGHTS_2X2, engine="cv2", border="constant")
    assert out.tolist() == TABLE_2X2_DEFAULT
    out = imgconv.apply(image, imgconv.Kernel(WEIGHTS_2X2, anchor=(0, 0)), engine="cv2", border="constant")
    assert out.tolist() == TABLE_2X2_ANCHOR_00


# ROW convolved (mathematical convolution) with [[1, 10, 100]], reflect101
# (in[-1] = 2, in[-2] = 3, in[5] = 4, in[6] = 3).
# default anchor 1: out[i] = in[i+1] + 10 in[i] + 100 in[i-1]
CONVOLVE_ROW_DEFAULT = [212, 123, 234, 345, 454]
# anchor 0: out[i] = in[i] + 10 in[i-1] + 100 in[i-2]
CONVOLVE_ROW_ANCHOR_0 = [321, 212, 123, 234, 345]
# anchor 0 with correlation: out[i] = in[i] + 10 in[i+1] + 100 in[i+2]
CORRELATE_ROW_ANCHOR_0 = [321, 432, 543, 454, 345]


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_row_convolution_table(dtype):
    image = ROW.astype(dtype)
    out = imgconv.apply(image, WEIGHTS_1_10_100, engine="cv2", mode="convolve")
    assert out.tolist() == [CONVOLVE_ROW_DEFAULT]
    k = imgconv.Kernel(WEIGHTS_1_10_100, anchor=(0, 0))
    assert imgconv.apply(image, k, engine="cv2", mode="convolve").tolist() == [CONVOLVE_ROW_ANCHOR_0]
    assert imgconv.apply(image, k, engine="cv2", mode="correlate").tolist() == [CORRELATE_ROW_ANCHOR_0]
    # the first-principles definitions and scipy agree with the hand values
    assert direct_convolve(ROW, WEIGHTS_1_10_100, (1, 0), "reflect101").tolist() == [CONVOLVE_ROW_DEFAULT]
    assert direct_convolve(ROW, WEIGHTS_1_10_100, (0, 0), "reflect101").tolist() == [CONVOLVE_ROW_ANCHOR_0]
    assert oracle_convolve(ROW, WEIGHTS_1_10_100, anchor=(0, 0)).tolist() == [CONVOLVE_ROW_ANCHOR_0]


def test_rounding_is_half_to_even_and_saturating():
    image = np.array([[1, 3, 5, 7, 250, 255]], dtype=np.uint8)
    # x * 0.5 = 0.5 1.5 2.5 3.5 125 127.5 -> 0 2 2 4 125 128
    assert imgconv.apply(image, [[0.5]], engine="cv2").tolist() == [[0, 2, 2, 4, 125, 128]]
    assert imgconv.apply(image, [[2]], engine="cv2").tolist() == [[2, 6, 10, 14, 255, 255]]
    assert imgconv.apply(image, [[-1]], engine="cv2").tolist() == [[0, 0, 0, 0, 0, 0]]
    wide = np.array([[1, 3, 65535]], dtype=np.uint16)
    assert imgconv.apply(wide, [[0.5]], engine="cv2").tolist() == [[0, 2, 32768]]
    assert imgconv.apply(wide, [[1.5]], engine="cv2").tolist() == [[2, 4, 65535]]


# -- the engine against the oracle ------------------------------------------------------

RNG_KERNELS = np.random.default_rng(20240601)
ASYM_3X5 = RNG_KERNELS.integers(-4, 5, size=(3, 5)).astype(np.float64)
EVEN_4X4 = RNG_KERNELS.integers(-3, 4, size=(4, 4)).astype(np.float64)
SMALL_2X3 = RNG_KERNELS.integers(-3, 4, size=(2, 3)).astype(np.float64)
GAUSS_1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
SMOOTH_3X3 = np.array([[1.0, 2.0, 1.0], [2.0, 3.0, 2.0], [1.0, 2.0, 1.0]])


class Case:
    """A kernel as imgconv is given it, and the same kernel spelled out for the oracle."""

    def __init__(self, id, spec, weights, *, divisor=1.0, offset=0.0, anchor=None, exact=True):
        self.id, self.spec, self.weights = id, spec, np.asarray(weights, dtype=np.float64)
        self.divisor, self.offset, self.anchor, self.exact = divisor, offset, anchor, exact

    def expected(self, image, border, border_value):
        return oracle(
            image, self.weights, divisor=self.divisor, offset=self.offset, anchor=self.anchor,
            border=border, border_value=border_value,
        )


# Weights spelled out from CONTRACT.md, not read from the library.
CASES = [
    Case("sobel-x", "sobel-x", [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    Case("sharpen", "sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    Case("edge", "edge", [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    Case("blur", "blur", np.ones((3, 3)), divisor=9, exact=False),
    Case("gaussian5", "gaussian:size=5", np.outer(GAUSS_1D, GAUSS_1D), divisor=256),
    Case("asym3x5", ASYM_3X5, ASYM_3X5),
    Case("asym3x5-anchor(4,0)", imgconv.Kernel(ASYM_3X5, anchor=(4, 0)), ASYM_3X5, anchor=(4, 0)),
    Case("even4x4-default", EVEN_4X4, EVEN_4X4),
    Case("even4x4-anchor(0,3)", imgconv.Kernel(EVEN_4X4, anchor=(0, 3)), EVEN_4X4, anchor=(0, 3)),
    Case("2x3-anchor(2,1)", imgconv.Kernel(SMALL_2X3, anchor=(2, 1)), SMALL_2X3, anchor=(2, 1)),
    Case("1x1-half", [[0.5]], [[0.5]]),
    Case("1x1-int", [[3]], [[3]]),
    # divisor 16 and offset -3.5 are dyadic: every value is exact, ties included
    Case(
        "div16-offset",
        imgconv.Kernel(SMOOTH_3X3, divisor=16, offset=-3.5),
        SMOOTH_3X3, divisor=16, offset=-3.5,
    ),
    Case(
        "div3-offset",
        imgconv.Kernel(ASYM_3X5, divisor=3, offset=20),
        ASYM_3X5, divisor=3, offset=20, exact=False,
    ),
]

# border name, and the constant border value per dtype (None: 0)
BORDER_CASES = [
    ("reflect101", None),
    ("reflect", None),
    ("replicate", None),
    ("constant", None),
    ("constant", "nonzero"),
    ("wrap", None),
]
NONZERO_BORDER_VALUE = {np.uint8: 37.0, np.uint16: 1234.0, np.float32: 0.75}


def make_image(dtype, channels, shape=(9, 11), seed=0):
    """Random full-range integer images (so saturation happens) or floats in -0.5..1.5."""
    rng = np.random.default_rng(seed + 31 * channels + {np.uint8: 1, np.uint16: 2, np.float32: 3}[dtype])
    full = shape if channels == 0 else shape + (channels,)
    if dtype == np.float32:
        return rng.uniform(-0.5, 1.5, size=full).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, size=full, endpoint=True).astype(dtype)


def _border_value(which, dtype):
    return NONZERO_BORDER_VALUE[dtype] if which == "nonzero" else 0.0


def check_against_oracle(image, case, border, value, **kwargs):
    out = imgconv.apply(image, case.spec, engine="cv2", border=border, border_value=value, **kwargs)
    assert out.dtype == image.dtype
    assert out.shape == image.shape
    if image.ndim == 3 and image.shape[2] in (2, 4):
        np.testing.assert_array_equal(out[:, :, -1], image[:, :, -1], err_msg="alpha changed")
        colour, got = image[:, :, :-1], out[:, :, :-1]
    else:
        colour, got = image, out
    assert_matches_oracle(got, case.expected(colour, border, value), exact=case.exact)


@pytest.mark.parametrize("channels", [0, 1, 3, 4], ids=["HxW", "1ch", "3ch", "4ch-alpha"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32], ids=["uint8", "uint16", "float32"])
@pytest.mark.parametrize("border, which", BORDER_CASES, ids=[f"{b}-{w or 0}" for b, w in BORDER_CASES])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engine_matches_oracle(case, border, which, dtype, channels):
    image = make_image(dtype, channels)
    check_against_oracle(image, case, border, _border_value(which, dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32], ids=["uint8", "uint16", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_two_channel_gray_alpha(case, dtype):
    image = make_image(dtype, 2, shape=(6, 7))
    check_against_oracle(image, case, "reflect101", 0.0)


ONE_HOT_7X7 = np.pad([[1.0]], ((0, 6), (0, 6)))  # reads in[y-3, x-3]
BIG_7X7 = np.random.default_rng(5).integers(-2, 3, size=(7, 7)).astype(np.float64)
BIG_CASES = [
    Case("7x7-default", BIG_7X7, BIG_7X7),
    Case("7x7-anchor(6,0)", imgconv.Kernel(BIG_7X7, anchor=(6, 0)), BIG_7X7, anchor=(6, 0)),
    Case("7x7-anchor(0,6)", imgconv.Kernel(BIG_7X7, anchor=(0, 6)), BIG_7X7, anchor=(0, 6)),
    Case("7x7-one-hot-corner", ONE_HOT_7X7, ONE_HOT_7X7),
]


@pytest.mark.parametrize("channels", [0, 3])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32], ids=["uint8", "uint16", "float32"])
@pytest.mark.parametrize("border, which", BORDER_CASES, ids=[f"{b}-{w or 0}" for b, w in BORDER_CASES])
@pytest.mark.parametrize("case", BIG_CASES, ids=[c.id for c in BIG_CASES])
def test_kernel_bigger_than_image(case, border, which, dtype, channels):
    image = make_image(dtype, channels, shape=(3, 4), seed=11)
    if dtype == np.float32:
        image = np.abs(image) / 2  # 0..0.75: keeps float32 cancellation error far below 1e-5
    check_against_oracle(image, case, border, _border_value(which, dtype))


def test_kernel_bigger_than_image_hand_values():
    """3x4 image, 7x7 one-hot kernel at (0, 0), centred anchor: out[y, x] = in[y-3, x-3]."""
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)  # rows 0 1 2 3 / 4 5 6 7 / 8 9 10 11
    k = np.zeros((7, 7))
    k[0, 0] = 1
    # reflect101 rows: index -3 -2 -1 -> 1 2 1 (period 4: 0 1 2 1 0 1 2 ...) ; cols -3 -2 -1 0 -> 3 2 1 0
    assert imgconv.apply(image, k, engine="cv2", border="reflect101").tolist() == [
        [7, 6, 5, 4], [11, 10, 9, 8], [7, 6, 5, 4]
    ]
    # reflect rows -3 -2 -1 -> 2 1 0; cols -3 -2 -1 0 -> 2 1 0 0
    assert imgconv.apply(image, k, engine="cv2", border="reflect").tolist() == [
        [10, 9, 8, 8], [6, 5, 4, 4], [2, 1, 0, 0]
    ]
    # wrap rows -3 -2 -1 -> 0 1 2; cols -3 -2 -1 0 -> 1 2 3 0
    assert imgconv.apply(image, k, engine="cv2", border="wrap").tolist() == [
        [1, 2, 3, 0], [5, 6, 7, 4], [9, 10, 11, 8]
    ]
    assert imgconv.apply(image, k, engine="cv2", border="replicate").tolist() == [[0] * 4] * 3
    assert imgconv.apply(image, k, engine="cv2", border="constant", border_value=9).tolist() == [[9] * 4] * 3


# -- convolve ---------------------------------------------------------------------------

CONVOLVE_KERNELS = [
    ("3x5-default", ASYM_3X5, None),
    ("3x5-(0,0)", ASYM_3X5, (0, 0)),
    ("3x5-(4,2)", ASYM_3X5, (4, 2)),
    ("3x5-(1,2)", ASYM_3X5, (1, 2)),
    ("4x4-default", EVEN_4X4, None),
    ("4x4-(0,3)", EVEN_4X4, (0, 3)),
    ("2x3-(2,1)", SMALL_2X3, (2, 1)),
]


@pytest.mark.parametrize("dtype", [np.uint16, np.float32], ids=["uint16", "float32"])
@pytest.mark.parametrize("border, which", BORDER_CASES, ids=[f"{b}-{w or 0}" for b, w in BORDER_CASES])
@pytest.mark.parametrize("name, weights, anchor", CONVOLVE_KERNELS, ids=[c[0] for c in CONVOLVE_KERNELS])
def test_convolve_is_the_mathematical_convolution(name, weights, anchor, border, which, dtype):
    image = make_image(dtype, 0, shape=(5, 6), seed=3)
    value = _border_value(which, dtype)
    kernel = imgconv.Kernel(weights, anchor=anchor)
    out = imgconv.apply(image, kernel, engine="cv2", mode="convolve", border=border, border_value=value)
    full_anchor = default_anchor(weights) if anchor is None else anchor
    expected = direct_convolve(image, weights, full_anchor, border, value)
    # the independent derivation and scipy.ndimage.convolve agree ...
    np.testing.assert_allclose(
        oracle_convolve(image, weights, anchor=anchor, border=border, border_value=value), expected,
        rtol=1e-12, atol=1e-9,
    )
    # ... and so does the engine
    assert_matches_oracle(out, expected, exact=True)


def test_convolve_of_an_asymmetric_kernel_differs_from_correlate():
    image = make_image(np.uint16, 0, shape=(5, 6), seed=4)
    a = imgconv.apply(image, ASYM_3X5, engine="cv2", mode="convolve")
    b = imgconv.apply(image, ASYM_3X5, engine="cv2", mode="correlate")
    assert not np.array_equal(a, b)
    # convolving with K is correlating with K rotated by 180 degrees, anchor mirrored
    flipped = imgconv.Kernel(ASYM_3X5[::-1, ::-1].copy(), anchor=(5 - 1 - 0, 3 - 1 - 0))
    np.testing.assert_array_equal(
        imgconv.apply(image, imgconv.Kernel(ASYM_3X5, anchor=(0, 0)), engine="cv2", mode="convolve"),
        imgconv.apply(image, flipped, engine="cv2"),
    )


@pytest.mark.parametrize("depth", ["same", "float32"])
@pytest.mark.parametrize("border, which", BORDER_CASES, ids=[f"{b}-{w or 0}" for b, w in BORDER_CASES])
def test_one_channel_h_w_1_keeps_its_shape(border, which, depth):
    """An H x W x 1 image comes back H x W x 1 with every border ("channel count survives")."""
    image = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    out = imgconv.apply(image, "sobel-x", engine="cv2", border=border,
                        border_value=_border_value(which, np.uint8), depth=depth)
    assert out.shape == (3, 4, 1)
