"""Stride, dilation, padding and transposed convolution: imgconv/geometry.py and the
geometry half of imgconv/filtering/ (composed.py) (``apply(..., stride=, dilation=, padding=,
transposed=)``), through the cv2 engine.

Every expected value comes from a hand computation (in the comments beside it) or from a
reference written in this file, independently of the code under test:

* ``correlate_valid``: ``out[i, j] = sum_{a,b} w[a, b] * P[i*sy + a*dy, j*sx + b*dx]`` on an
  image ``P`` already extended by the padding;
* two extensions of the image beyond its edges: ``np.pad`` (pads narrower than the image)
  and ``extend_loop``, OpenCV's ``borderInterpolate`` rules written out from its documented
  pictures and applied repeatedly (any width);
* two transposed convolutions: scatter-add (``y[i*s + j*d] += x[i] * w[j]``, then crop) and
  zero insertion followed by ``scipy.ndimage.correlate`` with the flipped dilated kernel.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.ndimage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgconv
from imgconv import geometry
from imgconv.errors import UsageError
from imgconv.geometry import output_size, parse_padding, parse_pair
from imgconv.kernels import Kernel

ENGINE = "cv2"
BORDERS = ("reflect101", "reflect", "replicate", "constant", "wrap")
# Written here, not read from imgconv.borders: the np.pad mode of each border.
NP_MODE = {
    "reflect101": "reflect",  # gfedcb|abcdefgh|gfedcba
    "reflect": "symmetric",  # fedcba|abcdefgh|hgfedcba
    "replicate": "edge",  # aaaaaa|abcdefgh|hhhhhhh
    "constant": "constant",  # vvvvvv|abcdefgh|vvvvvvv
    "wrap": "wrap",  # cdefgh|abcdefgh|abcdefg
}

K1 = np.array([[3]])
K3 = np.array([[1, 2, 0], [-1, 3, 4], [0, -2, 1]])  # asymmetric in every direction
K23 = np.array([[1, 0, 2], [3, -1, 1]])  # even height: anchor (1, 1)
K5 = np.array(
    [
        [1, 0, -1, 2, 0],
        [0, 3, 1, 0, -2],
        [2, -1, 4, 1, 0],
        [0, 1, 0, -1, 1],
        [1, 0, 2, 0, 1],
    ]
)
KERNELS = {"1x1": K1, "3x3": K3, "2x3": K23, "5x5": K5}


# -- references ---------------------------------------------------------------------------


def pair(value):
    """``2`` -> (2, 2); ``"2x1"`` -> (2, 1): the test's own reading of N / RxC."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, int):
        return (value, value)
    rows, _, cols = value.partition("x")
    return (int(rows), int(cols or rows))


def interp(p: int, n: int, border: str) -> int:
    """The source index of position ``p`` of an axis of ``n`` pixels; -1 for the constant.

    OpenCV's ``borderInterpolate`` from its documented pictures (``abcdefgh`` the row),
    one reflection or wrap at a time until the position lands inside the row:
    reflect101 ``gfedcb|abcdefgh|gfedcba``, reflect ``fedcba|abcdefgh|hgfedcba``,
    wrap ``cdefgh|abcdefgh|abcdefg``, replicate ``aaaaaa|abcdefgh|hhhhhhh``.
    """
    if 0 <= p < n:
        return p
    if border == "constant":
        return -1
    if border == "replicate":
        return 0 if p < 0 else n - 1
    if border == "wrap":
        while p < 0:
            p += n
        while p >= n:
            p -= n
        return p
    if n == 1:  # a single pixel reflects onto itself
        return 0
    skip_edge = 1 if border == "reflect101" else 0
    while not 0 <= p < n:
        p = -p - 1 + skip_edge if p < 0 else 2 * n - 1 - p - skip_edge
    return p


def extend_loop(x, top, bottom, left, right, border, value):
    """``x`` (float64, H x W [x C]) extended with :func:`interp`, any width."""
    rows = np.array([interp(i, x.shape[0], border) for i in range(-top, x.shape[0] + bottom)])
    cols = np.array([interp(j, x.shape[1], border) for j in range(-left, x.shape[1] + right)])
    out = x[np.maximum(rows, 0)][:, np.maximum(cols, 0)].copy()
    out[rows < 0] = value
    out[:, cols < 0] = value
    return out


def extend_np(x, top, bottom, left, right, border, value):
    """``x`` extended with ``np.pad`` (only pads narrower than the image are used)."""
    assert max(top, bottom) < x.shape[0] and max(left, right) < x.shape[1], "test setup: pad too wide"
    widths = ((top, bottom), (left, right)) + ((0, 0),) * (x.ndim - 2)
    extra = {"constant_values": value} if border == "constant" else {}
    return np.pad(x, widths, mode=NP_MODE[border], **extra)


def correlate_valid(P, w, stride, dilation):
    """``out[i, j] = sum_{a,b} w[a, b] * P[i*sy + a*dy, j*sx + b*dx]`` where it fits."""
    (sy, sx), (dy, dx) = stride, dilation
    kh, kw = w.shape
    oh = (P.shape[0] - dy * (kh - 1) - 1) // sy + 1
    ow = (P.shape[1] - dx * (kw - 1) - 1) // sx + 1
    assert oh > 0 and ow > 0
    out = np.zeros((oh, ow) + P.shape[2:])
    for a in range(kh):
        for b in range(kw):
            window = P[a * dy : a * dy + (oh - 1) * sy + 1 : sy, b * dx : b * dx + (ow - 1) * sx + 1 : sx]
            out += float(w[a, b]) * window
    return out


def reference(image, w, *, stride=1, dilation=1, padding="same", border="reflect101", value=0.0,
              anchor=None, mode="correlate", extend=extend_np):
    """The geometry result in float64 (before rounding), from the definitions."""
    w = np.asarray(w, dtype=np.float64)
    kh, kw = w.shape
    ax, ay = (kw // 2, kh // 2) if anchor is None else anchor
    if mode == "convolve":  # convolution = correlation with the kernel rotated by 180 degrees
        w, ax, ay = w[::-1, ::-1], kw - 1 - ax, kh - 1 - ay
    (sy, sx), (dy, dx) = pair(stride), pair(dilation)
    x = image.astype(np.float64)
    if padding == "same":
        # out[i, j] = sum w[a, b] * ext[i + (a - ay)*dy, j + (b - ax)*dx], then [::sy, ::sx]
        P = extend(x, ay * dy, (kh - 1 - ay) * dy, ax * dx, (kw - 1 - ax) * dx, border, value)
        same = correlate_valid(P, w, (1, 1), (dy, dx))
        assert same.shape == x.shape
        return same[::sy, ::sx]
    if padding == "valid":
        py, px = 0, 0
    elif padding == "full":
        py, px = dy * (kh - 1), dx * (kw - 1)
    else:
        py, px = pair(padding)
    return correlate_valid(extend(x, py, py, px, px, border, value), w, (sy, sx), (dy, dx))


def transposed_scatter(image, w, *, stride=1, dilation=1, padding=0):
    """Every input pixel i scatters x[i] * w[j] onto y[i*s + j*d]; then p cropped per side."""
    x = image.astype(np.float64)
    w = np.asarray(w, dtype=np.float64)
    (sy, sx), (dy, dx), (py, px) = pair(stride), pair(dilation), pair(padding)
    H, W = x.shape[:2]
    kh, kw = w.shape
    y = np.zeros(((H - 1) * sy + dy * (kh - 1) + 1, (W - 1) * sx + dx * (kw - 1) + 1) + x.shape[2:])
    for i, j in itertools.product(range(H), range(W)):
        for a, b in itertools.product(range(kh), range(kw)):
            y[i * sy + a * dy, j * sx + b * dx] += x[i, j] * w[a, b]
    return y[py : y.shape[0] - py, px : y.shape[1] - px]


def transposed_zero_insert(image, w, *, stride=1, dilation=1, padding=0):
    """s-1 zeros between pixels, d(k-1) zeros around, correlate with the flipped dilated
    kernel (scipy.ndimage, constant 0), keep where the kernel fits, crop p per side."""
    x = image.astype(np.float64)
    w = np.asarray(w, dtype=np.float64)
    (sy, sx), (dy, dx), (py, px) = pair(stride), pair(dilation), pair(padding)
    H, W = x.shape[:2]
    up = np.zeros(((H - 1) * sy + 1, (W - 1) * sx + 1) + x.shape[2:])
    up[::sy, ::sx] = x
    kd = np.zeros((dy * (w.shape[0] - 1) + 1, dx * (w.shape[1] - 1) + 1))
    kd[::dy, ::dx] = w
    Kh, Kw = kd.shape
    padded = np.pad(up, ((Kh - 1, Kh - 1), (Kw - 1, Kw - 1)) + ((0, 0),) * (x.ndim - 2))
    flipped = kd[::-1, ::-1]
    weights = flipped if x.ndim == 2 else flipped[:, :, None]
    corr = scipy.ndimage.correlate(padded, weights, mode="constant", cval=0.0)
    # scipy centres the kernel on index K // 2: corr[m + K//2] = sum_t k[t] * padded[m + t]
    full = corr[Kh // 2 : Kh // 2 + padded.shape[0] - Kh + 1, Kw // 2 : Kw // 2 + padded.shape[1] - Kw + 1]
    return full[py : full.shape[0] - py, px : full.shape[1] - px]


def finish(values, dtype):
    """The float64 reference in the image's depth: rounded half to even and saturated."""
    if np.dtype(dtype) == np.uint8:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return values


def assert_matches(actual, expected64, dtype, w, image, context=""):
    assert actual.dtype == np.dtype(dtype), context
    assert actual.shape == expected64.shape, (actual.shape, expected64.shape, context)
    if np.dtype(dtype) == np.uint8:
        np.testing.assert_array_equal(actual, finish(expected64, dtype), err_msg=context)
    else:
        scale = float(np.abs(np.asarray(w, np.float64)).sum() * max(1.0, float(np.abs(image).max())))
        np.testing.assert_allclose(actual, expected64, rtol=1e-5, atol=1e-5 * scale, err_msg=context)


def make_image(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 64, size=shape, dtype=np.uint8)  # mostly in range after the kernels
    return rng.uniform(-1.0, 2.0, size=shape).astype(np.float32)


def border_value_for(border, dtype):
    if border != "constant":
        return 0.0
    return 7.0 if np.dtype(dtype) == np.uint8 else -0.75


def own_size(n, k, s, d, p):
    """out = floor((n + 2p - d(k-1) - 1)/s) + 1; 'same': floor((n-1)/s) + 1."""
    if p == "same":
        return (n - 1) // s + 1
    p = {"valid": 0, "full": d * (k - 1)}.get(p, p)
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


# -- 1. output_size, parse_pair, parse_padding -----------------------------------------------


@pytest.mark.parametrize(
    "n, k, options, expected",
    [
        (64, 3, dict(stride=2, padding=1), 32),  # (64 + 2 - 2 - 1)//2 + 1 = 31 + 1
        (7, 3, dict(), 5),  # (7 - 2 - 1) + 1
        (5, 3, dict(dilation=2), 1),  # span 5: (5 - 4 - 1) + 1
        (10, 4, dict(stride=3, padding=2), 4),  # (10 + 4 - 3 - 1)//3 + 1 = 3 + 1
        (10, 4, dict(stride=3, padding=2, dilation=2), 3),  # span 7: (10 + 4 - 6 - 1)//3 + 1 = 2 + 1
        (9, 5, dict(stride=2, padding=2), 5),  # (9 + 4 - 4 - 1)//2 + 1 = 4 + 1
        (3, 3, dict(padding=1), 3),  # (3 + 2 - 2 - 1) + 1
        (1, 1, dict(), 1),
        (6, 3, dict(stride=2, padding="valid"), 2),  # p=0: (6 - 2 - 1)//2 + 1 = 1 + 1
        (6, 3, dict(stride=2, padding="full"), 4),  # p=2: (6 + 4 - 2 - 1)//2 + 1 = 3 + 1
        (5, 3, dict(dilation=2, padding="full"), 9),  # p=4: (5 + 8 - 4 - 1) + 1
        (10, 2, dict(padding="full"), 11),  # p=1: (10 + 2 - 1 - 1) + 1
        (4, 3, dict(stride=2, padding="full"), 3),  # p=2: (4 + 4 - 2 - 1)//2 + 1 = 2 + 1
        (7, 3, dict(stride=2, padding="same"), 4),  # (7 - 1)//2 + 1
        (8, 3, dict(stride=3, padding="same"), 3),  # (8 - 1)//3 + 1 = 2 + 1
        (9, 5, dict(padding="same"), 9),
        (2, 5, dict(padding="same"), 2),  # 'same' is the input size whatever the kernel
        (1, 5, dict(stride=3, dilation=2, padding="same"), 1),
    ],
)
def test_output_size_by_hand(n, k, options, expected):
    assert output_size(n, k, **options) == expected


@pytest.mark.parametrize(
    "n, k, options, expected",
    [
        (32, 3, dict(stride=2, padding=1, output_padding=1), 64),  # 31*2 - 2 + 2 + 1 + 1
        (32, 3, dict(stride=2, padding=1), 63),  # 31*2 - 2 + 2 + 1
        (4, 3, dict(stride=2), 9),  # 3*2 + 2 + 1
        (4, 3, dict(), 6),  # 3 + 2 + 1
        (5, 3, dict(stride=3, padding=1, dilation=2), 15),  # 4*3 - 2 + 4 + 1
        (3, 2, dict(stride=2, output_padding=1), 7),  # 2*2 + 1 + 1 + 1
        (3, 4, dict(stride=2, padding=1), 6),  # 2*2 - 2 + 3 + 1
        (3, 3, dict(dilation=2, output_padding=1), 8),  # 2 + 4 + 1 + 1 (op < dilation is allowed)
        (2, 3, dict(padding=1), 2),  # 1 - 2 + 2 + 1
        (3, 3, dict(stride=2, padding="valid"), 7),  # valid = 0: 2*2 + 2 + 1
        (1, 3, dict(stride=2, padding=1), 1),  # 0 - 2 + 2 + 1
        (1, 1, dict(), 1),
    ],
)
def test_transposed_output_size_by_hand(n, k, options, expected):
    assert output_size(n, k, transposed=True, **options) == expected


@pytest.mark.parametrize(
    "n, k, options, words",
    [
        (2, 5, dict(), ["output"]),  # (2 - 4 - 1) + 1 = -2
        (5, 3, dict(dilation=3), ["output"]),  # span 7: (5 - 6 - 1) + 1 = -1
        (3, 3, dict(padding="valid", stride=2, dilation=2), ["output"]),  # span 5: (3-5)//2+1 = 0
        (4, 3, dict(stride=0), ["stride"]),
        (4, 3, dict(stride=-1), ["stride"]),
        (4, 3, dict(dilation=0), ["dilation"]),
        (4, 3, dict(padding=-1), ["padding"]),
        (0, 3, dict(), ["size"]),
        (4, 0, dict(), ["kernel"]),
        (4, 3, dict(padding="bogus"), ["padding"]),
        (2, 3, dict(padding=2, transposed=True), ["output"]),  # 1 - 4 + 2 + 1 = 0
        (1, 1, dict(padding=1, transposed=True), ["output"]),  # 0 - 2 + 0 + 1 = -1
        (4, 3, dict(padding=-1, transposed=True), ["padding"]),
        (4, 3, dict(stride=0, transposed=True), ["stride"]),
        (4, 3, dict(stride=2, output_padding=2, transposed=True), ["output padding"]),
        (4, 3, dict(output_padding=1, transposed=True), ["output padding"]),  # s = d = 1
        (4, 3, dict(stride=2, dilation=3, output_padding=3, transposed=True), ["output padding"]),
        (4, 3, dict(output_padding=-1, transposed=True), ["output padding"]),
        (4, 3, dict(padding="same", transposed=True), ["padding"]),
        (4, 3, dict(padding="full", transposed=True), ["padding"]),
    ],
)
def test_impossible_sizes_are_usage_errors(n, k, options, words):
    with pytest.raises(UsageError) as caught:
        output_size(n, k, **options)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert message and "\n" not in message
    for word in words:
        assert word in message.lower(), message


@pytest.mark.parametrize(
    "text, expected",
    [("2", (2, 2)), ("2x3", (2, 3)), (" 2 X 3 ", (2, 3)), ("10x1", (10, 1)), (2, (2, 2)), ((3, 1), (3, 1))],
)
def test_parse_pair_accepts(text, expected):
    assert parse_pair(text, "stride") == expected


@pytest.mark.parametrize("text", ["ax2", "0", "-1", "2x", "1.5", "", "x", "2x3x4", "2x0", "two", "0x2", 0, -3])
def test_parse_pair_rejects(text):
    with pytest.raises(UsageError) as caught:
        parse_pair(text, "stride")
    assert caught.value.exit_code == 2
    assert "stride" in str(caught.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("same", "same"),
        ("valid", "valid"),
        ("full", "full"),
        (" Valid ", "valid"),
        ("1", (1, 1)),
        ("0", (0, 0)),
        ("1x2", (1, 2)),
        ("0x2", (0, 2)),
        (3, (3, 3)),
    ],
)
def test_parse_padding_accepts(text, expected):
    assert parse_padding(text) == expected


@pytest.mark.parametrize("text", ["-1", "1.5", "2x", "samee", "ax1", "", "1x-1"])
def test_parse_padding_rejects(text):
    with pytest.raises(UsageError) as caught:
        parse_padding(text)
    assert caught.value.exit_code == 2
    assert "padding" in str(caught.value)


@pytest.mark.parametrize(
    "options",
    [
        dict(stride="0"),
        dict(stride="ax2"),
        dict(stride="1.5"),
        dict(dilation="2x"),
        dict(dilation="0x1"),
        dict(padding="-1"),
        dict(padding="middle"),
        dict(transposed=True, padding="same"),
        dict(transposed=True, padding="full"),
        dict(padding="valid"),  # 4x4 image, 5x5 kernel: (4 - 4 - 1) + 1 = 0 rows
        dict(padding="valid", dilation=2),  # span 9 on a 4x4 image
        dict(padding=0, stride=2, dilation="1x2"),  # columns: span 9 > 4
        dict(transposed=True, padding=5),  # 3 - 10 + 4 + 1 = -2
    ],
)
def test_apply_refuses_bad_geometry(options):
    image = np.zeros((4, 4), np.uint8)
    with pytest.raises(UsageError) as caught:
        imgconv.apply(image, np.ones((5, 5)), engine=ENGINE, **options)
    assert caught.value.exit_code == 2


# -- 2. apply with stride, dilation and padding against the reference -------------------------


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("dilation", [1, 2, "1x3"])
@pytest.mark.parametrize("stride", [1, 2, 3, "2x1"])
@pytest.mark.parametrize("padding", ["same", "valid", "full", 1, "0x2"])
@pytest.mark.parametrize("kname", list(KERNELS))
def test_geometry_matches_reference(kname, padding, stride, dilation, border):
    w = KERNELS[kname]
    (sy, sx), (dy, dx) = pair(stride), pair(dilation)
    for index, (dtype, channels) in enumerate(itertools.product(["float32", "uint8"], [None, 3])):
        shape = (14, 15) if channels is None else (14, 15, channels)  # pads stay < 14
        image = make_image(shape, dtype, seed=index)
        value = border_value_for(border, dtype)
        context = f"{kname} padding={padding} stride={stride} dilation={dilation} {border} {dtype} {shape}"
        out = imgconv.apply(image, w, engine=ENGINE, stride=stride, dilation=dilation, padding=padding,
                            border=border, border_value=value)
        expected = reference(image, w, stride=stride, dilation=dilation, padding=padding, border=border, value=value)
        py, px = (padding, padding) if padding in ("same", "valid", "full") else pair(padding)
        rows = output_size(14, w.shape[0], stride=sy, dilation=dy, padding=py)
        cols = output_size(15, w.shape[1], stride=sx, dilation=dx, padding=px)
        assert out.shape == (rows, cols) + shape[2:], context
        assert (rows, cols) == (own_size(14, w.shape[0], sy, dy, py), own_size(15, w.shape[1], sx, dx, px))
        assert_matches(out, expected, dtype, w, image, context)


def test_single_channel_axis_is_kept():
    image = make_image((9, 8, 1), "uint8", seed=3)
    out = imgconv.apply(image, K3, engine=ENGINE, stride=2, dilation=2, padding="full")
    expected = reference(image, K3, stride=2, dilation=2, padding="full")
    assert out.shape == expected.shape  # (9 + 8 - 5)//2 + 1 = 7, (8 + 8 - 5)//2 + 1 = 6
    assert out.shape == (7, 6, 1)
    np.testing.assert_array_equal(out, finish(expected, "uint8"))


def test_stride_by_hand():
    # 1x5 row [1 2 3 4 5], kernel [[1, 1]] (anchor x = 1: out[x] = in[x-1] + in[x]),
    # reflect101 (in[-1] = in[1] = 2): same = [2+1, 1+2, 2+3, 3+4, 4+5] = [3 3 5 7 9];
    # stride 2 -> [3 5 9]; valid -> [3 5 7 9] -> stride 2 -> [3 7]; full with p=1: the row
    # [2 | 1 2 3 4 5 | 4] -> [3 3 5 7 9 9] -> stride 2 -> [3 5 9]
    row = np.array([[1, 2, 3, 4, 5]], np.uint8)
    assert imgconv.apply(row, [[1, 1]], engine=ENGINE, stride=2).tolist() == [[3, 5, 9]]
    assert imgconv.apply(row, [[1, 1]], engine=ENGINE, stride=2, padding="valid").tolist() == [[3, 7]]
    assert imgconv.apply(row, [[1, 1]], engine=ENGINE, stride=2, padding="full").tolist() == [[3, 5, 9]]
    # dilation 2, kernel [[1, 0, -1]] -> taps at x-2 and x+2, anchor x = 1 dilated to 2:
    # valid: out[x] = in[x] - in[x+4] -> [1 - 5] = -4 (float keeps the sign)
    f = row.astype(np.float32)
    assert imgconv.apply(f, [[1, 0, -1]], engine=ENGINE, dilation=2, padding="valid").tolist() == [[-4.0]]
    # same: out[x] = in[x-2] - in[x+2], reflect101 in[-2] = 3, in[-1] = 2, in[5] = 4, in[6] = 3:
    # [3-3, 2-4, 1-5, 2-4, 3-3] = [0 -2 -4 -2 0]
    assert imgconv.apply(f, [[1, 0, -1]], engine=ENGINE, dilation=2).tolist() == [[0, -2, -4, -2, 0]]


@pytest.mark.parametrize("anchor", [(0, 0), (2, 1), (0, 2), (1, 0)])
@pytest.mark.parametrize("geometry_options", [dict(stride=2), dict(dilation=2), dict(stride="2x1", dilation="1x3")])
@pytest.mark.parametrize("border", ["reflect101", "wrap", "constant"])
def test_same_with_anchor(anchor, geometry_options, border):
    kernel = Kernel(K3, anchor=anchor)
    image = make_image((12, 13, 3), "float32", seed=11)
    value = border_value_for(border, "float32")
    out = imgconv.apply(image, kernel, engine=ENGINE, border=border, border_value=value, **geometry_options)
    expected = reference(image, K3, anchor=anchor, border=border, value=value, **geometry_options)
    assert_matches(out, expected, "float32", K3, image)


@pytest.mark.parametrize("padding", ["same", "valid", "full", "1x0"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
@pytest.mark.parametrize("kernel", [Kernel(K3), Kernel(K23), Kernel(K3, anchor=(0, 2))])
def test_convolve_with_geometry(padding, dtype, kernel):
    image = make_image((11, 12, 3), dtype, seed=5)
    out = imgconv.apply(image, kernel, engine=ENGINE, mode="convolve", stride="2x3", dilation="2x1",
                        padding=padding, border="reflect")
    expected = reference(image, kernel.weights, anchor=kernel.anchor, mode="convolve", stride="2x3",
                         dilation="2x1", padding=padding, border="reflect")
    assert_matches(out, expected, dtype, kernel.weights, image)


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
@pytest.mark.parametrize("padding", ["same", "valid", 2])
def test_divisor_and_offset_with_geometry(dtype, padding):
    # result = sum / divisor + offset: with divisor 2 every value is a multiple of 1/2
    kernel = Kernel(K3, divisor=2, offset=3)
    image = make_image((10, 9), dtype, seed=9)
    out = imgconv.apply(image, kernel, engine=ENGINE, stride=2, dilation=2, padding=padding)
    expected = reference(image, K3, stride=2, dilation=2, padding=padding) / 2 + 3
    assert_matches(out, expected, dtype, K3, image)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("padding", ["same", "full", 4])  # 4: n + 8 - 9 + 1 >= 1
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (3, 2), (1, 4)])
def test_pads_wider_than_the_image_repeat_the_border(shape, padding, border):
    # A 5x5 kernel dilated by 2 reaches 4 or 8 pixels beyond sides of 1 to 4 pixels: the
    # border rule is applied again and again (extend_loop), as OpenCV's borderInterpolate.
    for dtype, dilation, stride in itertools.product(["float32", "uint8"], [1, 2], [1, 2]):
        image = make_image(shape + (3,), dtype, seed=sum(shape))
        value = border_value_for(border, dtype)
        context = f"{shape} padding={padding} {border} {dtype} dilation={dilation} stride={stride}"
        out = imgconv.apply(image, K5, engine=ENGINE, stride=stride, dilation=dilation, padding=padding,
                            border=border, border_value=value)
        expected = reference(image, K5, stride=stride, dilation=dilation, padding=padding, border=border,
                             value=value, extend=extend_loop)
        assert_matches(out, expected, dtype, K5, image, context)


# -- 3. transposed convolution -----------------------------------------------------------------


@pytest.mark.parametrize("padding", [0, 1, "0x1"])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kname", ["1x1", "3x3", "2x3"])
def test_transposed_matches_both_references(kname, stride, dilation, padding):
    w = KERNELS[kname]
    (sy, sx), (dy, dx), (py, px) = pair(stride), pair(dilation), pair(padding)
    for index, (dtype, channels) in enumerate(itertools.product(["float32", "uint8"], [None, 3])):
        shape = (5, 6) if channels is None else (5, 6, channels)
        image = make_image(shape, dtype, seed=20 + index)
        context = f"{kname} stride={stride} dilation={dilation} padding={padding} {dtype} {shape}"
        out = imgconv.apply(image, w, engine=ENGINE, transposed=True, stride=stride, dilation=dilation,
                            padding=padding)
        scatter = transposed_scatter(image, w, stride=stride, dilation=dilation, padding=padding)
        inserted = transposed_zero_insert(image, w, stride=stride, dilation=dilation, padding=padding)
        np.testing.assert_allclose(scatter, inserted, atol=1e-9)  # the two references agree
        rows = output_size(5, w.shape[0], stride=sy, dilation=dy, padding=py, transposed=True)
        cols = output_size(6, w.shape[1], stride=sx, dilation=dx, padding=px, transposed=True)
        # (n-1)s - 2p + d(k-1) + 1, written out
        assert (rows, cols) == (4 * sy - 2 * py + dy * (w.shape[0] - 1) + 1, 5 * sx - 2 * px + dx * (w.shape[1] - 1) + 1)
        assert out.shape == (rows, cols) + shape[2:], context
        assert_matches(out, scatter, dtype, w, image, context)
        assert_matches(out, inserted, dtype, w, image, context)


def test_transposed_by_hand():
    # x = [1 2 3], w = [1 10 100], stride 2: x[i] scatters onto y[2i .. 2i+2]
    #   y = [1, 10, 100+2, 20, 200+3, 30, 300] = [1 10 102 20 203 30 300]
    # padding 1 crops one from each end: [10 102 20 203 30]
    x = np.array([[1, 2, 3]], np.float32)
    w = [[1, 10, 100]]
    out = imgconv.apply(x, w, engine=ENGINE, transposed=True, stride=2)
    assert out.tolist() == [[1, 10, 102, 20, 203, 30, 300]]
    out = imgconv.apply(x, w, engine=ENGINE, transposed=True, stride=2, padding="0x1")
    assert out.tolist() == [[10, 102, 20, 203, 30]]
    # dilation 2, stride 1: x[i] w[j] lands on y[i + 2j]:
    #   y0 = 1, y1 = 2, y2 = 3 + 10, y3 = 20, y4 = 30 + 100, y5 = 200, y6 = 300
    out = imgconv.apply(x, w, engine=ENGINE, transposed=True, dilation=2)
    assert out.tolist() == [[1, 2, 13, 20, 130, 200, 300]]


@pytest.mark.parametrize("border", ["reflect101", "replicate", "wrap", "constant"])
def test_transposed_reads_zeros_beyond_the_input(border):
    # A transposed convolution has no border: only input pixels scatter (as PyTorch).
    image = make_image((5, 4, 3), "uint8", seed=31)
    out = imgconv.apply(image, K3, engine=ENGINE, transposed=True, stride=2, padding=1, border=border,
                        border_value=9 if border == "constant" else 0)
    np.testing.assert_array_equal(out, finish(transposed_scatter(image, K3, stride=2, padding=1), "uint8"))


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
@pytest.mark.parametrize("kernel", [Kernel(K3), Kernel(K23), Kernel(K3, anchor=(0, 0))])
@pytest.mark.parametrize("options", [dict(stride=2), dict(stride=3, dilation=2, padding=1), dict(stride="1x2", padding="1x0")])
def test_transposed_convolve(dtype, kernel, options):
    # convolve == correlate with the kernel rotated by 180 degrees (anchor mirrored; a
    # transposed convolution has no anchor to speak of: every tap scatters)
    image = make_image((6, 5, 3), dtype, seed=41)
    out = imgconv.apply(image, kernel, engine=ENGINE, transposed=True, mode="convolve", **options)
    rotated = np.asarray(kernel.weights)[::-1, ::-1]
    assert_matches(out, transposed_scatter(image, rotated, **options), dtype, rotated, image)
    assert_matches(out, transposed_zero_insert(image, rotated, **options), dtype, rotated, image)


def test_transposed_default_padding_is_zero():
    image = make_image((4, 5), "float32", seed=2)
    out = imgconv.apply(image, K23, engine=ENGINE, transposed=True, stride=2)
    assert out.shape == (3 * 2 + 1 + 1, 4 * 2 + 2 + 1)  # (n-1)s + d(k-1) + 1
    assert_matches(out, transposed_scatter(image, K23, stride=2), "float32", K23, image)
    valid = imgconv.apply(image, K23, engine=ENGINE, transposed=True, stride=2, padding="valid")
    np.testing.assert_array_equal(valid, out)


# -- 4. alpha through the geometry ---------------------------------------------------------------


def rgba(shape, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 64, size=shape + (4,), dtype=np.uint8)
    image[:, :, 3] = rng.integers(0, 256, size=shape, dtype=np.uint8)  # every alpha distinct-ish
    return image


def alpha_at_anchor(alpha, kshape, anchor, stride, dilation, padding, border):
    """The input alpha under the kernel's anchor of every output pixel (own indices)."""
    (sy, sx), (dy, dx) = pair(stride), pair(dilation)
    kh, kw = kshape
    ax, ay = anchor
    if padding == "same":
        return alpha[::sy, ::sx]
    py, px = {"valid": (0, 0), "full": (dy * (kh - 1), dx * (kw - 1))}.get(padding) or pair(padding)
    H, W = alpha.shape
    oh, ow = own_size(H, kh, sy, dy, py), own_size(W, kw, sx, dx, px)
    rows = [interp(i * sy + ay * dy - py, H, border) for i in range(oh)]
    cols = [interp(j * sx + ax * dx - px, W, border) for j in range(ow)]
    return np.array([[alpha[r, c] if r >= 0 and c >= 0 else 0 for c in cols] for r in rows], np.uint8)


@pytest.mark.parametrize("stride", [1, 2, 3, "2x1"])
@pytest.mark.parametrize("dilation", [1, 2])
def test_alpha_same_is_sampled(stride, dilation):
    image = rgba((9, 10), seed=51)
    out = imgconv.apply(image, K3, engine=ENGINE, stride=stride, dilation=dilation)
    sy, sx = pair(stride)
    np.testing.assert_array_equal(out[:, :, 3], image[::sy, ::sx, 3])
    colour = imgconv.apply(np.ascontiguousarray(image[:, :, :3]), K3, engine=ENGINE, stride=stride, dilation=dilation)
    np.testing.assert_array_equal(out[:, :, :3], colour)
    np.testing.assert_array_equal(out[:, :, :3], finish(reference(image[:, :, :3], K3, stride=stride, dilation=dilation), "uint8"))


@pytest.mark.parametrize("stride", [1, 2, 3, "1x2"])
def test_alpha_valid_3x3_is_the_centre(stride):
    image = rgba((9, 10), seed=52)
    out = imgconv.apply(image, K3, engine=ENGINE, stride=stride, padding="valid")
    sy, sx = pair(stride)
    np.testing.assert_array_equal(out[:, :, 3], image[1:-1, 1:-1, 3][::sy, ::sx])
    colour = imgconv.apply(np.ascontiguousarray(image[:, :, :3]), K3, engine=ENGINE, stride=stride, padding="valid")
    np.testing.assert_array_equal(out[:, :, :3], colour)


@pytest.mark.parametrize(
    "kernel, options",
    [
        (Kernel(K3), dict(padding="valid", dilation=2, stride=2)),
        (Kernel(K3, anchor=(0, 2)), dict(padding="valid", stride="1x2")),
        (Kernel(K23), dict(padding=1, border="reflect101")),
        (Kernel(K23), dict(padding="2x1", stride=2, border="wrap")),
        (Kernel(K5), dict(padding="full", border="replicate")),
        (Kernel(K5), dict(padding="full", border="reflect", stride=3, dilation="1x2")),
        (Kernel(K3), dict(padding="full", border="constant", border_value=5)),  # transparent beyond
        (Kernel(K3), dict(padding=1, border="constant", stride=2)),
    ],
)
def test_alpha_follows_the_anchor(kernel, options):
    image = rgba((9, 10), seed=53)
    out = imgconv.apply(image, kernel, engine=ENGINE, **options)
    expected_alpha = alpha_at_anchor(image[:, :, 3], kernel.shape, kernel.anchor, options.get("stride", 1),
                                     options.get("dilation", 1), options["padding"], options.get("border", "reflect101"))
    np.testing.assert_array_equal(out[:, :, 3], expected_alpha)
    colour = imgconv.apply(np.ascontiguousarray(image[:, :, :3]), kernel, engine=ENGINE, **options)
    np.testing.assert_array_equal(out[:, :, :3], colour)


@pytest.mark.parametrize("options", [dict(stride=2), dict(stride=3, padding=1), dict(stride="2x3", dilation=2), dict()])
def test_alpha_transposed_is_enlarged_by_nearest_neighbour(options):
    image = rgba((5, 7), seed=54)
    out = imgconv.apply(image, K3, engine=ENGINE, transposed=True, **options)
    oh, ow = out.shape[:2]
    alpha = image[:, :, 3]
    expected = np.array([[alpha[r * 5 // oh, c * 7 // ow] for c in range(ow)] for r in range(oh)], np.uint8)
    np.testing.assert_array_equal(out[:, :, 3], expected)
    colour = image[:, :, :3]
    np.testing.assert_array_equal(out[:, :, :3], finish(transposed_scatter(colour, K3, **options), "uint8"))


def test_gray_alpha_with_geometry():
    image = rgba((8, 9), seed=55)[:, :, 2:]  # grey + alpha
    out = imgconv.apply(image, K23, engine=ENGINE, stride=2, padding="valid")
    assert out.shape == (4, 4, 2)  # rows (8 - 1 - 1)//2 + 1 = 4, columns (9 - 2 - 1)//2 + 1 = 4
    # anchor (1, 1) of the 2x3 kernel: input row 2i + 1, column 2j + 1
    np.testing.assert_array_equal(out[:, :, 1], image[1::2, 1::2, 1][:4, :4])
    np.testing.assert_array_equal(out[:, :, 0], finish(reference(image[:, :, 0], K23, stride=2, padding="valid"), "uint8"))


# -- 5. property: any small case against the reference ---------------------------------------------


@st.composite
def geometry_cases(draw):
    side = st.integers(1, 3) | st.integers(1, 12)  # tiny sides often: pads wider than the image
    rows, cols = draw(side), draw(side)
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    weights = np.array(draw(st.lists(st.integers(-3, 3), min_size=kh * kw, max_size=kh * kw))).reshape(kh, kw)
    anchor = draw(st.none() | st.tuples(st.integers(0, kw - 1), st.integers(0, kh - 1)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["same", "valid", "full"]) | st.tuples(st.integers(0, 2), st.integers(0, 2)))
    dtype = draw(st.sampled_from(["uint8", "float32"]))
    channels = draw(st.sampled_from([None, 1, 3]))
    border = draw(st.sampled_from(BORDERS))
    value = 0.0
    if border == "constant":
        value = float(draw(st.integers(0, 255))) if dtype == "uint8" else draw(st.integers(-8, 8)) / 4
    mode = draw(st.sampled_from(["correlate", "convolve"]))
    seed = draw(st.integers(0, 2**31))
    shape = (rows, cols) if channels is None else (rows, cols, channels)
    return dict(shape=shape, weights=weights, anchor=anchor, stride=stride, dilation=dilation,
                padding=padding, dtype=dtype, border=border, value=value, mode=mode, seed=seed)


def spelled(value):
    """(a, a) -> a, (a, b) -> 'axb': the two spellings of a pair."""
    return value[0] if value[0] == value[1] else f"{value[0]}x{value[1]}"


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(geometry_cases())
def test_property_geometry_matches_reference(case):
    w, (sy, sx), (dy, dx), padding = case["weights"], case["stride"], case["dilation"], case["padding"]
    rng = np.random.default_rng(case["seed"])
    if case["dtype"] == "uint8":
        image = rng.integers(0, 256, size=case["shape"], dtype=np.uint8)
    else:
        image = rng.uniform(-2, 2, size=case["shape"]).astype(np.float32)
    pads = (padding, padding) if isinstance(padding, str) else padding
    options = dict(engine=ENGINE, stride=spelled(case["stride"]), dilation=spelled(case["dilation"]),
                   padding=padding if isinstance(padding, str) else spelled(padding), border=case["border"],
                   border_value=case["value"], mode=case["mode"])
    kernel = Kernel(w, anchor=case["anchor"])
    expected_rows = own_size(image.shape[0], w.shape[0], sy, dy, pads[0])
    expected_cols = own_size(image.shape[1], w.shape[1], sx, dx, pads[1])
    if expected_rows < 1 or expected_cols < 1:
        axis = 0 if expected_rows < 1 else 1
        with pytest.raises(UsageError):
            output_size(image.shape[axis], w.shape[axis], stride=case["stride"][axis],
                        dilation=case["dilation"][axis], padding=pads[axis])
        with pytest.raises(UsageError):
            imgconv.apply(image, kernel, **options)
        return
    assert output_size(image.shape[0], w.shape[0], stride=sy, dilation=dy, padding=pads[0]) == expected_rows
    assert output_size(image.shape[1], w.shape[1], stride=sx, dilation=dx, padding=pads[1]) == expected_cols
    out = imgconv.apply(image, kernel, **options)
    expected = reference(image, w, stride=case["stride"], dilation=case["dilation"], padding=padding,
                         border=case["border"], value=case["value"], anchor=kernel.anchor, mode=case["mode"],
                         extend=extend_loop)
    assert expected.shape[:2] == (expected_rows, expected_cols)
    assert_matches(out, expected, case["dtype"], w, image, repr(case))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 8), st.integers(1, 8), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
    st.integers(1, 2), st.integers(1, 2), st.integers(0, 2), st.integers(0, 2), st.sampled_from(["uint8", "float32"]),
    st.integers(0, 2**31),
)
def test_property_transposed_matches_scatter(rows, cols, kh, kw, sy, sx, dy, dx, py, px, dtype, seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-3, 4, size=(kh, kw))
    image = rng.integers(0, 256, size=(rows, cols), dtype=np.uint8) if dtype == "uint8" else \
        rng.uniform(-2, 2, size=(rows, cols)).astype(np.float32)
    options = dict(stride=(sy, sx), dilation=(dy, dx), padding=(py, px))
    out_rows = (rows - 1) * sy - 2 * py + dy * (kh - 1) + 1
    out_cols = (cols - 1) * sx - 2 * px + dx * (kw - 1) + 1
    call = dict(engine=ENGINE, transposed=True, stride=spelled((sy, sx)), dilation=spelled((dy, dx)),
                padding=spelled((py, px)))
    if out_rows < 1 or out_cols < 1:
        with pytest.raises(UsageError):
            imgconv.apply(image, w, **call)
        return
    out = imgconv.apply(image, w, **call)
    assert out.shape == (out_rows, out_cols)
    assert_matches(out, transposed_scatter(image, w, **options), dtype, w, image, repr((options, w.tolist())))
