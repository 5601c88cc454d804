"""The pipeline around the engine (imgconv/filtering/): post, depth, gray, alpha,
premultiply, divisor/offset folding, input checks, output types, non-contiguous input.

Expected values are computed by hand in the comments beside them.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

import imgconv
from imgconv.errors import UsageError

IDENTITY = [[1]]
DIFF_X = [[-1, 0, 1]]  # out[x] = in[x+1] - in[x-1]
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def row(values, dtype):
    return np.array([values], dtype=dtype)


# -- post -------------------------------------------------------------------------------

# A ridge: [10, 20, 20, 10] with [[-1, 0, 1]] and reflect101 (in[-1] = in[1], in[4] = in[2]):
#   x0: in[1] - in[1] = 0, x1: 20 - 10 = 10, x2: 10 - 20 = -10, x3: in[2] - in[2] = 0
# sobel-x on three identical rows is 4x that (column weights 1 2 1): [0, 40, -40, 0].
RIDGE = [10, 20, 20, 10]


def ridge_image(dtype=np.uint8):
    return np.array([RIDGE] * 3, dtype=dtype)


@pytest.mark.parametrize(
    "post, expected",
    [
        ("clip", [0, 40, 0, 0]),  # negatives saturate to 0
        ("abs", [0, 40, 40, 0]),
        ("shift", [128, 168, 88, 128]),  # + 128
        # min -40, max 40: (v + 40) * 255 / 80; 0 -> 127.5 -> 128 (half to even)
        ("stretch", [128, 255, 0, 128]),
    ],
)
def test_post_on_sobel_of_a_ridge_uint8(post, expected):
    out = imgconv.apply(ridge_image(), "sobel-x", post=post)
    assert out.dtype == np.uint8
    assert out.tolist() == [expected] * 3


@pytest.mark.parametrize(
    "post, expected",
    [
        ("clip", [0, 255, 0, 0]),  # sobel of [0, 100, 100, 0]: [0, 400, -400, 0]
        ("abs", [0, 255, 255, 0]),
        ("shift", [128, 255, 0, 128]),  # 528 -> 255, -272 -> 0
        ("stretch", [128, 255, 0, 128]),  # (v + 400) * 255 / 800; 0 -> 127.5 -> 128
    ],
)
def test_post_saturates_uint8(post, expected):
    image = np.array([[0, 100, 100, 0]] * 3, dtype=np.uint8)
    assert imgconv.apply(image, "sobel-x", post=post).tolist() == [expected] * 3


@pytest.mark.parametrize(
    "post, expected",
    [
        ("clip", [0, 100, 0, 0]),  # [1000, 1100, 1100, 1000] with DIFF_X: [0, 100, -100, 0]
        ("abs", [0, 100, 100, 0]),
        ("shift", [32768, 32868, 32668, 32768]),  # + 32768
    ],
)
def test_post_uint16(post, expected):
    image = row([1000, 1100, 1100, 1000], np.uint16)
    out = imgconv.apply(image, DIFF_X, post=post)
    assert out.dtype == np.uint16
    assert out.tolist() == [expected]


def test_stretch_uint16_maps_to_the_full_range():
    # identity on [100, 200, 500]: (v - 100) * 65535 / 400 -> 0, 16383.75 -> 16384, 65535
    out = imgconv.apply(row([100, 200, 500], np.uint16), IDENTITY, post="stretch")
    assert out.tolist() == [[0, 16384, 65535]]


def test_stretch_is_over_all_colour_channels_together():
    # one pixel per channel value; min 10 (channel 0), max 60 (channel 2): (v - 10) * 5.1
    image = np.array([[[10, 20, 30], [40, 50, 60]]], dtype=np.uint8)
    out = imgconv.apply(image, IDENTITY, post="stretch")
    assert out.tolist() == [[[0, 51, 102], [153, 204, 255]]]


def test_stretch_leaves_alpha_alone():
    image = np.array([[[10, 20, 30, 77], [40, 50, 60, 200]]], dtype=np.uint8)
    out = imgconv.apply(image, IDENTITY, post="stretch")
    assert out.tolist() == [[[0, 51, 102, 77], [153, 204, 255, 200]]]


def test_stretch_of_a_flat_image_does_not_divide_by_zero():
    out = imgconv.apply(np.full((2, 3), 50, np.uint8), IDENTITY, post="stretch")
    assert out.dtype == np.uint8
    assert np.unique(out).size == 1


@pytest.mark.parametrize(
    "post, expected",
    [
        ("clip", [0.0, 10.0, -10.0, 0.0]),  # float output: no saturation, negatives kept
        ("abs", [0.0, 10.0, 10.0, 0.0]),
    ],
)
def test_post_with_float32_depth_keeps_units(post, expected):
    out = imgconv.apply(row(RIDGE, np.uint8), DIFF_X, post=post, depth="float32")
    assert out.dtype == np.float32
    assert out.tolist() == [expected]


# -- depth ------------------------------------------------------------------------------


def test_uint8_to_float32_keeps_units_and_negatives():
    out = imgconv.apply(row(RIDGE, np.uint8), DIFF_X, depth="float32")
    assert out.dtype == np.float32
    assert out.tolist() == [[0.0, 10.0, -10.0, 0.0]]
    out = imgconv.apply(row([0, 7, 255], np.uint8), IDENTITY, depth="float32")
    assert out.tolist() == [[0.0, 7.0, 255.0]]  # not rescaled to 0..1


def test_uint16_to_uint8_rescales_by_255_over_65535_rounded():
    # v * 255 / 65535 = v / 257: 128 -> 0.498 -> 0, 129 -> 0.502 -> 1, 385 -> 1.498 -> 1,
    # 386 -> 1.502 -> 2, 32896 -> 128, 65535 -> 255
    values = [0, 128, 129, 257, 385, 386, 32896, 65535]
    out = imgconv.apply(row(values, np.uint16), IDENTITY, depth="uint8")
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 1, 1, 1, 2, 128, 255]]


def test_uint8_to_uint16_rescales_by_257():
    out = imgconv.apply(row([0, 1, 128, 255], np.uint8), IDENTITY, depth="uint16")
    assert out.dtype == np.uint16
    assert out.tolist() == [[0, 257, 32896, 65535]]


def test_float32_to_uint8_saturates_without_rescaling():
    values = [-5.0, 0.4, 0.6, 1.0, 2.5, 3.5, 254.6, 300.0]
    out = imgconv.apply(row(values, np.float32), IDENTITY, depth="uint8")
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 1, 1, 2, 4, 255, 255]]


def test_float32_to_uint16_saturates_without_rescaling():
    out = imgconv.apply(row([-1.0, 0.5, 1.5, 1000.0, 70000.0], np.float32), IDENTITY, depth="uint16")
    assert out.dtype == np.uint16
    assert out.tolist() == [[0, 0, 2, 1000, 65535]]


def test_uint16_to_float32_keeps_units():
    out = imgconv.apply(row([0, 1, 65535], np.uint16), IDENTITY, depth="float32")
    assert out.tolist() == [[0.0, 1.0, 65535.0]]


@pytest.mark.parametrize(
    "source, depth, values, expected",
    [
        (np.uint16, "uint8", [0, 129, 386, 32896, 65535], [0, 1, 2, 128, 255]),
        (np.uint8, "uint16", [0, 1, 128, 255], [0, 257, 32896, 65535]),
        (np.uint8, "float32", [0, 7, 255], [0.0, 7.0, 255.0]),
        (np.float32, "uint8", [-5.0, 0.6, 2.5, 300.0], [0, 1, 2, 255]),
    ],
)
@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_is_converted_alongside(source, depth, values, expected, channels):
    """Colour and alpha hold the same values; the identity kernel keeps colour as is,
    so both must come out converted the same way."""
    plane = np.array([values], dtype=source)
    image = np.dstack([plane] * channels)
    out = imgconv.apply(image, IDENTITY, depth=depth)
    assert out.dtype == np.dtype(depth)
    assert out.shape == image.shape
    for c in range(channels):
        assert out[0, :, c].tolist() == expected, f"channel {c}"


# -- gray -------------------------------------------------------------------------------


def _colour_image(dtype, channels=3, shape=(5, 6), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.uniform(0, 1, size=shape + (channels,)).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, size=shape + (channels,), endpoint=True).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("order, code", [("rgb", cv2.COLOR_RGB2GRAY), ("bgr", cv2.COLOR_BGR2GRAY)])
def test_gray_is_cvtcolor_luma(order, code, dtype):
    image = _colour_image(dtype)
    out = imgconv.apply(image, IDENTITY, gray=True, channel_order=order)
    expected = cv2.cvtColor(image, code)
    assert out.dtype == dtype
    assert out.shape == image.shape[:2]
    np.testing.assert_array_equal(out, expected)


def test_gray_channel_order_matters():
    image = _colour_image(np.uint8)
    rgb = imgconv.apply(image, IDENTITY, gray=True, channel_order="rgb")
    bgr = imgconv.apply(image, IDENTITY, gray=True, channel_order="bgr")
    assert not np.array_equal(rgb, bgr)
    # pure red: 0.299 * 255 = 76.2 as RGB, 0.114 * 255 = 29.1 read as BGR
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    assert imgconv.apply(red, IDENTITY, gray=True, channel_order="rgb").tolist() == [[76]]
    assert imgconv.apply(red, IDENTITY, gray=True, channel_order="bgr").tolist() == [[29]]


@pytest.mark.parametrize("order, code", [("rgb", cv2.COLOR_RGB2GRAY), ("bgr", cv2.COLOR_BGR2GRAY)])
def test_gray_keeps_alpha_as_second_channel(order, code):
    image = _colour_image(np.uint8, channels=4)
    out = imgconv.apply(image, IDENTITY, gray=True, channel_order=order)
    assert out.shape == image.shape[:2] + (2,)
    np.testing.assert_array_equal(out[:, :, 0], cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), code))
    np.testing.assert_array_equal(out[:, :, 1], image[:, :, 3])


def test_gray_then_filter():
    image = _colour_image(np.uint8, shape=(6, 7), seed=3)
    out = imgconv.apply(image, "sobel-x", gray=True)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    expected = cv2.filter2D(gray, -1, np.array(SOBEL_X, np.float32), borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 1), (4, 5, 2)])
def test_gray_leaves_single_channel_images_alone(shape):
    image = np.arange(20 * (shape[2] if len(shape) == 3 else 1), dtype=np.uint8).reshape(shape)
    out = imgconv.apply(image, IDENTITY, gray=True)
    np.testing.assert_array_equal(out, image)


# -- alpha ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_untouched_by_default(channels, dtype):
    image = _colour_image(dtype, channels=channels, seed=channels)
    out = imgconv.apply(image, "edge")
    assert out.shape == image.shape and out.dtype == dtype
    np.testing.assert_array_equal(out[:, :, -1], image[:, :, -1])
    colour = np.ascontiguousarray(image[:, :, :-1])
    expected = cv2.filter2D(colour, -1, np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32))
    np.testing.assert_array_equal(out[:, :, :-1].reshape(expected.shape), expected)


# -- premultiply ------------------------------------------------------------------------

# Three RGBA pixels: opaque red 200, fully transparent with garbage green 255, opaque red 100.
GARBAGE = np.array([[[200, 0, 0, 255], [0, 255, 0, 0], [100, 0, 0, 255]]], dtype=np.uint8)
BOX_1X3 = imgconv.Kernel([[1, 1, 1]], divisor=3)


def test_premultiply_does_not_bleed_transparent_colour():
    # replicate border: neighbourhoods (p0 p0 p1), (p0 p1 p2), (p1 p2 p2)
    # premultiplied red: 200, 0, 100; alpha: 255, 0, 255; green premultiplied is 0 everywhere
    # x0: red (200+200+0)/3, alpha 510/3 = 170 -> red = (400/3) / (170/255) = 200
    # x1: red (200+0+100)/3 = 100, alpha 170 -> 150
    # x2: red (0+100+100)/3, alpha 170 -> 100
    out = imgconv.apply(GARBAGE, BOX_1X3, border="replicate", premultiply=True)
    assert out.dtype == np.uint8 and out.shape == GARBAGE.shape
    assert out[0, :, :3].tolist() == [[200, 0, 0], [150, 0, 0], [100, 0, 0]]


def test_premultiply_output_alpha_is_the_filtered_alpha():
    # imgconv/filtering/__init__.py, module docstring step 2: "colour is divided by the filtered
    # alpha again (which becomes the output alpha)": (255+255+0)/3 = (255+0+255)/3 = 170
    out = imgconv.apply(GARBAGE, BOX_1X3, border="replicate", premultiply=True)
    assert out[0, :, 3].tolist() == [170, 170, 170]


def test_straight_filtering_does_bleed_and_keeps_alpha():
    # without premultiply: green (0+0+255)/3 = 85 at x0, (0+255+0)/3 = 85 at x1 and x2;
    # red (200+200+0)/3 = 133.3, 100, (0+100+100)/3 = 66.7
    out = imgconv.apply(GARBAGE, BOX_1X3, border="replicate")
    assert out[0, :, :3].tolist() == [[133, 85, 0], [100, 85, 0], [67, 85, 0]]
    assert out[0, :, 3].tolist() == [255, 0, 255]


def test_premultiply_gray_alpha_float32():
    # 2-channel float image in 0..1: grey 0.8 (opaque), 0.9 garbage (transparent), 0.2 (opaque)
    image = np.array([[[0.8, 1.0], [0.9, 0.0], [0.2, 1.0]]], dtype=np.float32)
    out = imgconv.apply(image, BOX_1X3, border="replicate", premultiply=True)
    assert out.dtype == np.float32 and out.shape == image.shape
    # x0: (0.8+0.8+0)/3 / (2/3) = 0.8; x1: (0.8+0+0.2)/3 / (2/3) = 0.5; x2: 0.2
    np.testing.assert_allclose(out[0, :, 0], [0.8, 0.5, 0.2], rtol=1e-6)
    np.testing.assert_allclose(out[0, :, 1], [2 / 3, 2 / 3, 2 / 3], rtol=1e-6)


OPAQUE_KERNELS = {
    "blur": "blur",
    "sharpen": "sharpen",
    # the offset is added to the colour once, not to alpha before dividing by it
    "blur+offset": imgconv.Kernel(np.ones((3, 3)), divisor=9, offset=10),
}


@pytest.mark.parametrize("kernel", list(OPAQUE_KERNELS))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_premultiply_of_an_opaque_image_is_straight_filtering(dtype, kernel):
    """Premultiplying by an alpha of 1 everywhere changes nothing, whatever the kernel."""
    image = _colour_image(dtype, channels=4, seed=9)
    image[:, :, 3] = np.iinfo(dtype).max
    straight = imgconv.apply(image, OPAQUE_KERNELS[kernel])
    premultiplied = imgconv.apply(image, OPAQUE_KERNELS[kernel], premultiply=True)
    np.testing.assert_array_equal(premultiplied[:, :, 3], image[:, :, 3], err_msg="opaque alpha changed")
    np.testing.assert_array_equal(premultiplied, straight)


@pytest.mark.parametrize("kernel", ["edge", "sobel-x", "laplacian"])
def test_premultiply_refuses_zero_sum_kernels(kernel):
    """Premultiplied filtering filters alpha too; a zero-sum kernel would erase it.

    Rather than return a transparent image, imgconv refuses with the reason.
    """
    image = _colour_image(np.uint8, channels=4, seed=9)
    with pytest.raises(UsageError, match="sums to 0"):
        imgconv.apply(image, kernel, premultiply=True)


def test_premultiply_offset_hand_computed():
    # one opaque grey pixel 100 under [[1]] + 10 (replicate border): 110 with or without premultiply
    image = np.array([[[100, 100, 100, 255]]], dtype=np.uint8)
    k = imgconv.Kernel([[1]], offset=10)
    assert imgconv.apply(image, k).tolist() == [[[110, 110, 110, 255]]]
    assert imgconv.apply(image, k, premultiply=True).tolist() == [[[110, 110, 110, 255]]]


# -- divisor and offset -------------------------------------------------------------------


def test_divisor_then_offset():
    # [[1, 2, 1]] / 4 + 10 on [0, 40, 80, 120], reflect101 (in[-1] = 40, in[4] = 80):
    # x0 (40+0+40)/4 = 20, x1 (0+80+80)/4 = 40, x2 (40+160+120)/4 = 80, x3 (80+240+80)/4 = 100
    image = row([0, 40, 80, 120], np.uint8)
    k = imgconv.Kernel([[1, 2, 1]], divisor=4, offset=10)
    assert imgconv.apply(image, k).tolist() == [[30, 50, 90, 110]]
    k = imgconv.Kernel([[1, 2, 1]], divisor=4, offset=-100)
    assert imgconv.apply(image, k, depth="float32").tolist() == [[-80.0, -60.0, -20.0, 0.0]]
    assert imgconv.apply(image, k).tolist() == [[0, 0, 0, 0]]


def test_divisor_offset_from_a_json_spec():
    image = row([0, 40, 80, 120], np.uint8)
    spec = '{"kernel": [[1, 2, 1]], "divisor": 4, "offset": 10}'
    assert imgconv.apply(image, spec).tolist() == [[30, 50, 90, 110]]


def test_divisor_and_offset_with_convolve():
    # convolve with [[1, 2, 3]] = correlate with [[3, 2, 1]]; / 2 + 1 on [2, 4, 6, 8], reflect101
    # x0 (3*4 + 2*2 + 4)/2 + 1 = 11, x1 (6 + 8 + 6)/2 + 1 = 11, x2 (12 + 12 + 8)/2 + 1 = 17,
    # x3 (18 + 16 + 6)/2 + 1 = 21
    k = imgconv.Kernel([[1, 2, 3]], divisor=2, offset=1)
    out = imgconv.apply(row([2, 4, 6, 8], np.float32), k, mode="convolve")
    assert out.tolist() == [[11.0, 11.0, 17.0, 21.0]]


def test_divisor_applies_to_rounding_once():
    # 1/3 of [1, 1, 1] sums: (1+1+1)/3 = 1 exactly, not 3 * round(1/3)
    image = np.ones((3, 3), np.uint8)
    assert imgconv.apply(image, imgconv.Kernel([[1, 1, 1]], divisor=3)).tolist() == [[1, 1, 1]] * 3


# -- rejected input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, fragments",
    [
        (np.zeros((4, 4), np.float16), ["float16", "uint8", "uint16", "float32", "float64"]),
        (np.zeros((4, 4), np.int16), ["int16", "uint8"]),
        (np.zeros((4, 4), np.int32), ["int32"]),
        (np.zeros((4, 4), bool), ["bool"]),
        (np.zeros((4, 4, 5), np.uint8), ["(4, 4, 5)", "1 to 4 channels"]),
        (np.zeros((4, 4, 0), np.uint8), ["(4, 4, 0)"]),
        (np.zeros(5, np.uint8), ["(5,)"]),
        (np.zeros((2, 3, 3, 1), np.uint8), ["(2, 3, 3, 1)"]),
        (np.zeros((0, 4), np.uint8), ["empty", "(0, 4)"]),
        (np.zeros((4, 0, 3), np.uint8), ["empty", "(4, 0, 3)"]),
        ([[1, 2], [3, 4]], ["numpy array", "list"]),
    ],
    ids=["float16", "int16", "int32", "bool", "5-channels", "0-channels", "1-D", "4-D",
         "empty-rows", "empty-cols", "list"],
)
def test_rejected_images(image, fragments):
    with pytest.raises(UsageError) as info:
        imgconv.apply(image, "blur")
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    "dtype, value, fragment",
    [
        (np.uint8, 256, "0..255"),
        (np.uint8, -1, "0..255"),
        (np.uint16, 65536, "0..65535"),
        (np.uint16, -0.5, "0..65535"),
    ],
)
def test_border_value_outside_the_range(dtype, value, fragment):
    with pytest.raises(UsageError) as info:
        imgconv.apply(np.zeros((3, 3), dtype), "blur", border="constant", border_value=value)
    message = str(info.value)
    assert fragment in message and f"{value:g}" in message and np.dtype(dtype).name in message


@pytest.mark.parametrize("value", [0, 255])
def test_border_value_at_the_ends_of_the_range_is_accepted(value):
    out = imgconv.apply(np.zeros((1, 3), np.uint8), [[1, 0, 0]], border="constant", border_value=value)
    assert out.tolist() == [[value, 0, 0]]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_fractional_border_value_is_rounded_not_truncated(dtype):
    # a one-hot kernel reading the left border: the border value itself. 7.6 taken as given
    # rounds to 8, and cv2.copyMakeBorder(value=7.6) also pads a uint8 image with 8.
    image = np.zeros((1, 3), dtype)
    out = imgconv.apply(image, [[1, 0, 0]], border="constant", border_value=7.6)
    assert out.tolist() == [[8, 0, 0]]
    padded = cv2.copyMakeBorder(image, 0, 0, 1, 0, cv2.BORDER_CONSTANT, value=7.6)
    assert padded[0, 0] == 8


def test_float_images_accept_any_finite_border_value():
    out = imgconv.apply(np.zeros((1, 3), np.float32), [[1, 0, 0]], border="constant", border_value=-2.5)
    assert out.tolist() == [[-2.5, 0.0, 0.0]]


@pytest.mark.parametrize(
    "option, value",
    [("post", "saturate"), ("depth", "float16"), ("mode", "convolution"), ("engine", "torch"),
     ("channel_order", "rgba")],
)
def test_unknown_option_values_list_the_allowed_ones(option, value):
    with pytest.raises(UsageError) as info:
        imgconv.apply(np.zeros((3, 3), np.uint8), "blur", **{option: value})
    assert repr(value) in str(info.value)
    assert "expected one of" in str(info.value)


# -- output dtype and shape for every combination ---------------------------------------

SHAPES = [(5, 6), (5, 6, 1), (5, 6, 2), (5, 6, 3), (5, 6, 4)]
DTYPES = [np.uint8, np.uint16, np.float32]
DEPTHS = ["same", "uint8", "uint16", "float32"]
POSTS = ["clip", "abs", "shift", "stretch"]


def _any_image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.uniform(-1, 2, size=shape).astype(np.float32)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("post", POSTS)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["uint8", "uint16", "float32"])
@pytest.mark.parametrize("shape", SHAPES, ids=["HxW", "1ch", "2ch", "3ch", "4ch"])
def test_output_dtype_and_shape(shape, dtype, depth, post):
    image = _any_image(shape, dtype)
    out = imgconv.apply(image, "sobel-x", depth=depth, post=post)
    expected_dtype = np.dtype(dtype) if depth == "same" else np.dtype(depth)
    assert out.dtype == expected_dtype
    assert out.shape == image.shape


@pytest.mark.parametrize("premultiply", [False, True])
@pytest.mark.parametrize("dtype", DTYPES, ids=["uint8", "uint16", "float32"])
@pytest.mark.parametrize("shape", SHAPES, ids=["HxW", "1ch", "2ch", "3ch", "4ch"])
def test_output_shape_with_premultiply_and_gray(shape, dtype, premultiply):
    image = _any_image(shape, dtype, seed=1)
    out = imgconv.apply(image, "blur", premultiply=premultiply)
    assert out.dtype == dtype and out.shape == image.shape
    gray = imgconv.apply(image, "blur", premultiply=premultiply, gray=True)
    expected_shape = {(5, 6, 3): (5, 6), (5, 6, 4): (5, 6, 2)}.get(shape, shape)
    assert gray.dtype == dtype and gray.shape == expected_shape


# -- non-contiguous input ---------------------------------------------------------------

VIEWS = {
    "step2": lambda a: a[::2, ::2],
    "transposed": lambda a: a.transpose(1, 0, *range(2, a.ndim)),
    "reversed": lambda a: a[::-1, ::-1],
    "channel-step": lambda a: a[:, :, ::-1] if a.ndim == 3 else a[:, 1:],
}

OPTION_SETS = [
    {},
    {"border": "wrap"},
    {"border": "constant", "border_value": 7},
    {"depth": "float32", "post": "abs"},
    {"gray": True},
    {"premultiply": True},
    {"mode": "convolve"},
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("shape", [(8, 10), (8, 10, 3), (8, 10, 4)], ids=["HxW", "3ch", "4ch"])
def test_non_contiguous_input_gives_the_contiguous_result(shape, view, options):
    base = _any_image(shape, np.uint8, seed=5)
    strided = VIEWS[view](base)
    assert not strided.flags.c_contiguous
    copy = np.ascontiguousarray(strided)
    kernel = imgconv.Kernel([[1, 2, 0], [-1, 3, 1]], anchor=(0, 1))
    np.testing.assert_array_equal(imgconv.apply(strided, kernel, **options), imgconv.apply(copy, kernel, **options))


def test_input_is_not_modified():
    image = _any_image((5, 6, 4), np.uint8, seed=6)
    before = image.copy()
    for options in itertools.chain(OPTION_SETS, [{"post": "stretch"}, {"depth": "uint16"}]):
        imgconv.apply(image, "blur" if options.get("premultiply") else "edge", **options)
    np.testing.assert_array_equal(image, before)


def test_options_object_or_keywords_not_both():
    image = np.zeros((3, 3), np.uint8)
    opts = imgconv.FilterOptions(border="wrap")
    assert imgconv.apply(image, "blur", opts).shape == (3, 3)
    with pytest.raises(UsageError):
        imgconv.apply(image, "blur", opts, border="reflect")
