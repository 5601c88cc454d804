"""Kernel inspection (``kernels show``), combined kernels, and foreign kernel formats.

Expected answers are worked out by hand in the comments (factors, symmetries, rotations,
dilated sizes); combined kernels are checked against OpenCV called directly: each part
with ``cv2.filter2D(..., cv2.CV_32F, ...)``, merged with numpy in float32, then rounded
half to even and saturated. The compass masks are written out from the papers, not
generated. Foreign formats are parsed from their own documentation's examples and
compared with the kernel the same numbers give as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import imgconv
import imgconv.kernels as K
from imgconv.errors import KernelError, UsageError
from imgconv.kernels import Kernel, inspect_kernel, kernel_from_json, load_kernel

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
SCHARR_X = [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]
PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]

# Kirsch (1971): north, then each next one turned 45 degrees counter-clockwise.
KIRSCH = {
    "n": [[5, 5, 5], [-3, 0, -3], [-3, -3, -3]],
    "nw": [[5, 5, -3], [5, 0, -3], [-3, -3, -3]],
    "w": [[5, -3, -3], [5, 0, -3], [5, -3, -3]],
    "sw": [[-3, -3, -3], [5, 0, -3], [5, 5, -3]],
    "s": [[-3, -3, -3], [-3, 0, -3], [5, 5, 5]],
    "se": [[-3, -3, -3], [-3, 0, 5], [-3, 5, 5]],
    "e": [[-3, -3, 5], [-3, 0, 5], [-3, -3, 5]],
    "ne": [[-3, 5, 5], [-3, 0, 5], [-3, -3, -3]],
}
# Robinson (1977), the 3-level masks: the last four are the first four negated.
ROBINSON = {
    "n": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "nw": [[2, 1, 0], [1, 0, -1], [0, -1, -2]],
    "w": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sw": [[0, -1, -2], [1, 0, -1], [2, 1, 0]],
    "s": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "se": [[-2, -1, 0], [-1, 0, 1], [0, 1, 2]],
    "e": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "ne": [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]],
}

RNG = np.random.default_rng(6)
RGB = RNG.integers(0, 256, (19, 23, 3), dtype=np.uint8)
GRAY16 = RNG.integers(0, 65536, (17, 21), dtype=np.uint16)
FLOAT = RNG.random((13, 16, 3), dtype=np.float32)


def same_kernel(a: Kernel, b: Kernel) -> None:
    """The fields that decide the result: weights, divisor, offset, anchor."""
    np.testing.assert_array_equal(a.weights, b.weights)
    assert (a.divisor, a.offset, a.anchor) == (b.divisor, b.offset, b.anchor)


def rejects(spec, *fragments: str) -> str:
    with pytest.raises(KernelError) as info:
        load_kernel(spec)
    assert info.value.exit_code == 2
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def f32(kernel) -> np.ndarray:
    return np.array(kernel, np.float32)


def saturate(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return values.astype(np.float32)
    return np.clip(np.rint(values), 0, np.iinfo(dtype).max).astype(dtype)


def oracle(image: np.ndarray, kernels: list, combine: str, border: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    """Each kernel through cv2.filter2D in float32, merged in float32 (before rounding)."""
    responses = [cv2.filter2D(image, cv2.CV_32F, f32(k), borderType=border) for k in kernels]
    if combine == "magnitude":
        total = np.zeros_like(responses[0])
        for r in responses:
            total += r * r
        return np.sqrt(total)
    if combine == "max":
        return np.max(responses, axis=0)
    return np.sum(responses, axis=0, dtype=np.float32)


# -- kernels show: factors, symmetry, effective size ---------------------------------------
def test_sobel_x_factors_are_smoothing_column_times_derivative_row() -> None:
    # [[-1,0,1],[-2,0,2],[-1,0,1]] = [1,2,1]^T x [-1,0,1]
    info = inspect_kernel("sobel-x")
    assert info["factors"] == {"column": [1, 2, 1], "row": [-1, 0, 1], "exact": True}
    assert info["separable"] is True and info["rank"] == 1


def test_sobel_y_factors_keep_the_smoothing_factor_positive() -> None:
    # the transpose: [-1,0,1]^T x [1,2,1]
    assert inspect_kernel("sobel-y")["factors"] == {"column": [-1, 0, 1], "row": [1, 2, 1], "exact": True}


@pytest.mark.parametrize(
    "spec, column, row, divisor",
    [
        ("blur", [1, 1, 1], [1, 1, 1], 9),  # ones / 9
        ("gaussian", [1, 4, 6, 4, 1], [1, 4, 6, 4, 1], 256),  # the 5x5 binomial / 256
        ("scharr-x", [3, 10, 3], [-1, 0, 1], 1),  # [[-3,0,3],[-10,0,10],[-3,0,3]]
        ("prewitt-x", [1, 1, 1], [-1, 0, 1], 1),
        ("[[2, 4], [3, 6]]", [2, 3], [1, 2], 1),  # the row coprime, the column carries the rest
    ],
)
def test_whole_number_factors(spec: str, column: list, row: list, divisor: float) -> None:
    info = inspect_kernel(spec)
    assert info["factors"] == {"column": column, "row": row, "exact": True}
    assert info["divisor"] == divisor


def test_float_factors_of_a_gaussian_reproduce_the_opencv_1d_kernel() -> None:
    info = inspect_kernel("gaussian:size=7,sigma=1.3")
    factors = info["factors"]
    assert factors["exact"] is False
    g = cv2.getGaussianKernel(7, 1.3).ravel()
    column, row = np.array(factors["column"]), np.array(factors["row"])
    np.testing.assert_allclose(column / column.sum(), g, rtol=1e-9)
    np.testing.assert_allclose(row / row.sum(), g, rtol=1e-9)
    np.testing.assert_allclose(np.outer(column, row), np.outer(g, g), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("spec", ["edge", "laplacian", "sharpen", "[[1, 2], [3, 4]]"])
def test_kernels_of_rank_two_have_no_factors(spec: str) -> None:
    # edge = 9*delta - ones; laplacian = plus shape - 5*delta; det([[1,2],[3,4]]) = -2
    info = inspect_kernel(spec)
    assert info["rank"] == 2 and info["separable"] is False and info["factors"] is None


@pytest.mark.parametrize(
    "spec, centre, left_right, up_down",
    [
        ("sobel-x", "odd", "odd", "even"),  # negated by a 180-degree turn and by a left-right mirror
        ("sobel-y", "odd", "even", "odd"),
        ("laplacian", "even", "even", "even"),
        ("gaussian:size=7,sigma=1.3", "even", "even", "even"),
        ("emboss", None, None, None),  # [[-2,-1,0],[-1,1,1],[0,1,2]]: its mirrors are neither
        ("roberts", "odd", None, None),  # [[1,0],[0,-1]] turned 180 degrees is [[-1,0],[0,1]]
        ("[[1, 2, 3], [1, 2, 3]]", None, None, "even"),
    ],
)
def test_symmetry(spec: str, centre, left_right, up_down) -> None:
    info = inspect_kernel(spec)
    assert info["symmetry"] == {"centre": centre, "left_right": left_right, "up_down": up_down}
    assert info["symmetric"] is (centre == "even")


def test_symmetry_tells_what_convolve_does() -> None:
    # odd: --mode convolve negates (seen with post=shift around 128); even: no change
    image = RGB[:, :, 0]
    correlated = imgconv.apply(image, "sobel-x", depth="float32")
    convolved = imgconv.apply(image, "sobel-x", depth="float32", mode="convolve")
    np.testing.assert_array_equal(convolved, -correlated)
    np.testing.assert_array_equal(
        imgconv.apply(image, "laplacian", mode="convolve"), imgconv.apply(image, "laplacian")
    )


@pytest.mark.parametrize(
    "spec, zero_sum, sums_to_one",
    [("sobel-x", True, False), ("edge", True, False), ("blur", False, True), ("gaussian", False, True),
     ("sharpen", False, True), ("emboss", False, True), ("[[1, 2, 1]]", False, False)],
)
def test_sum_meaning(spec: str, zero_sum: bool, sums_to_one: bool) -> None:
    info = inspect_kernel(spec)
    assert (info["zero_sum"], info["sums_to_one"]) == (zero_sum, sums_to_one)


@pytest.mark.parametrize(
    "spec, dilation, size",
    [
        ("sobel-x", 1, [3, 3]),
        ("sobel-x", 2, [5, 5]),  # 2*(3-1)+1
        ("sobel-x", "2x3", [5, 7]),  # rows 2*(3-1)+1, columns 3*(3-1)+1
        ("unsharp", 3, [13, 13]),  # 3*(5-1)+1
        ("[[1, 2, 1]]", 4, [1, 9]),  # one row stays one row
        ("roberts", 5, [6, 6]),  # 5*(2-1)+1
    ],
)
def test_effective_size_after_dilation(spec: str, dilation, size: list) -> None:
    info = inspect_kernel(spec, dilation)
    assert info["effective_size"] == size


def test_effective_size_is_what_apply_uses_with_valid_padding() -> None:
    # a 19x23 image, sobel-x with dilation 2 spans 5x5: valid output 15x19
    out = imgconv.apply(RGB, "sobel-x", dilation=2, padding="valid")
    rows, cols = inspect_kernel("sobel-x", 2)["effective_size"]
    assert out.shape[:2] == (RGB.shape[0] - rows + 1, RGB.shape[1] - cols + 1) == (15, 19)


def test_bad_dilation_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="dilation"):
        inspect_kernel("edge", "0")


# -- --flip and --rotate ------------------------------------------------------------------
def test_flip_of_sobel_x() -> None:
    flipped = load_kernel("sobel-x").flipped()
    assert flipped.weights.tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert flipped.anchor == (1, 1)


def test_flip_mirrors_an_off_centre_anchor() -> None:
    # 2 rows x 3 columns, anchor at the top-left cell (x=0, y=0) -> bottom-right (2, 1)
    flipped = Kernel([[1, 2, 3], [4, 5, 6]], anchor=(0, 0)).flipped()
    assert flipped.weights.tolist() == [[6, 5, 4], [3, 2, 1]]
    assert flipped.anchor == (2, 1)


def test_rotate_90_of_sobel_x_is_minus_sobel_y() -> None:
    # counter-clockwise: the right column [1,2,1] becomes the top row
    turned = load_kernel("sobel-x").rotated(90)
    assert turned.weights.tolist() == [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    np.testing.assert_array_equal(turned.weights, -np.array(SOBEL_Y))
    assert load_kernel("sobel-x").rotated(-90).weights.tolist() == SOBEL_Y
    assert load_kernel("sobel-x").rotated(270).weights.tolist() == SOBEL_Y


def test_rotate_90_turns_the_anchor_with_its_cell() -> None:
    # [[1,2,3],[4,5,6]] turned counter-clockwise is [[3,6],[2,5],[1,4]]; the anchor cell
    # holding 1 moves from (x=0, y=0) to (x=0, y=2)
    turned = Kernel([[1, 2, 3], [4, 5, 6]], anchor=(0, 0)).rotated(90)
    assert turned.weights.tolist() == [[3, 6], [2, 5], [1, 4]]
    assert turned.anchor == (0, 2)
    assert Kernel([[1, 2, 3], [4, 5, 6]], anchor=(1, 1)).rotated(90).anchor == (1, 1)  # 5 stays in the middle row


def test_rotate_45_of_sobel_x_moves_each_neighbour_one_place() -> None:
    # ring clockwise from the top-left: -1 0 1 2 1 0 -1 -2; counter-clockwise by one place
    assert load_kernel("sobel-x").rotated(45).weights.tolist() == [[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]


def test_rotate_45_of_the_kirsch_base_gives_the_published_masks() -> None:
    base = Kernel(KIRSCH["n"])
    for i, direction in enumerate(KIRSCH):
        assert base.rotated(45 * i).weights.tolist() == KIRSCH[direction], direction
    assert base.rotated(-45).weights.tolist() == KIRSCH["ne"]


def test_two_45_degree_turns_are_one_90_degree_turn() -> None:
    for _ in range(5):
        k = Kernel(RNG.integers(-9, 10, (3, 3)))
        np.testing.assert_array_equal(k.rotated(45).rotated(45).weights, k.rotated(90).weights)
        np.testing.assert_array_equal(k.rotated(360).weights, k.weights)
        np.testing.assert_array_equal(k.rotated(180).weights, k.flipped().weights)


def test_rotate_45_moves_an_anchor_on_the_ring() -> None:
    # anchor on the top-middle cell (x=1, y=0) moves one place counter-clockwise: top-left
    assert Kernel(KIRSCH["n"], anchor=(1, 0)).rotated(45).anchor == (0, 0)


@pytest.mark.parametrize("degrees", [30, 1, 100, 44])
def test_rotate_by_other_angles_says_what_is_allowed(degrees: int) -> None:
    with pytest.raises(UsageError) as info:
        load_kernel("sobel-x").rotated(degrees)
    message = str(info.value)
    assert f"{degrees} degrees" in message and "multiples of 90" in message and "45" in message
    assert info.value.exit_code == 2


def test_rotate_45_needs_a_3x3_kernel() -> None:
    with pytest.raises(UsageError, match="needs a 3x3 kernel") as info:
        load_kernel("unsharp").rotated(45)
    assert "5x5" in str(info.value)
    assert load_kernel("unsharp").rotated(90).shape == (5, 5)


def test_rotating_a_compass_filter_by_45_only_reorders_its_masks() -> None:
    kirsch = load_kernel("kirsch")
    turned = kirsch.rotated(45)
    assert turned.combined and turned.combine == "max"
    for i in range(8):
        np.testing.assert_array_equal(turned.parts[i].weights, kirsch.parts[(i + 1) % 8].weights)


# -- combined kernels: the named ones -----------------------------------------------------
def test_named_combined_kernels_have_the_published_masks() -> None:
    assert [p.weights.tolist() for p in load_kernel("kirsch").parts] == list(KIRSCH.values())
    assert [p.weights.tolist() for p in load_kernel("robinson").parts] == list(ROBINSON.values())
    assert [p.weights.tolist() for p in load_kernel("sobel").parts] == [SOBEL_X, SOBEL_Y]
    assert [p.weights.tolist() for p in load_kernel("scharr").parts] == [SCHARR_X, np.array(SCHARR_X).T.tolist()]
    assert [p.weights.tolist() for p in load_kernel("prewitt").parts] == [PREWITT_X, np.array(PREWITT_X).T.tolist()]
    for name, combine in [("sobel", "magnitude"), ("scharr", "magnitude"), ("prewitt", "magnitude"),
                          ("kirsch", "max"), ("robinson", "max")]:
        kernel = load_kernel(name)
        assert kernel.combine == combine and kernel.source and kernel.description
        assert name in K.kernel_names()


def test_combined_kernel_weights_are_its_first_part() -> None:
    sobel = load_kernel("sobel")
    assert sobel.weights.tolist() == SOBEL_X and sobel.anchor == (1, 1) and sobel.shape == (3, 3)
    assert not sobel.single and not sobel.per_channel


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize(
    "name, kernels",
    [
        ("sobel", [SOBEL_X, SOBEL_Y]),
        ("scharr", [SCHARR_X, np.array(SCHARR_X).T]),
        ("prewitt", [PREWITT_X, np.array(PREWITT_X).T]),
    ],
)
def test_gradient_magnitude_matches_opencv(engine: str, name: str, kernels: list) -> None:
    for image in (RGB, GRAY16):
        expected = saturate(oracle(image, kernels, "magnitude"), image.dtype)
        out = imgconv.apply(image, name, engine=engine)
        assert out.dtype == image.dtype
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("name, masks", [("kirsch", KIRSCH), ("robinson", ROBINSON)])
def test_compass_filters_are_the_maximum_of_8_opencv_responses(engine: str, name: str, masks: dict) -> None:
    expected = saturate(oracle(RGB, list(masks.values()), "max"), np.uint8)
    np.testing.assert_array_equal(imgconv.apply(RGB, name, engine=engine), expected)


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
def test_float_output_keeps_the_unrounded_magnitude(engine: str) -> None:
    expected = oracle(FLOAT, [SOBEL_X, SOBEL_Y], "magnitude")
    out = imgconv.apply(FLOAT, "sobel", engine=engine)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    uint8_in_float = imgconv.apply(RGB, "sobel", engine=engine, depth="float32")
    np.testing.assert_array_equal(uint8_in_float, oracle(RGB, [SOBEL_X, SOBEL_Y], "magnitude"))


def test_border_mode_reaches_every_part() -> None:
    expected = saturate(oracle(RGB, [SOBEL_X, SOBEL_Y], "magnitude", cv2.BORDER_REPLICATE), np.uint8)
    np.testing.assert_array_equal(imgconv.apply(RGB, "sobel", border="replicate"), expected)


def test_stride_and_valid_padding_apply_to_the_combined_result() -> None:
    # valid: the interior of the same-size result (a 3x3 kernel trims one pixel per side)
    full = saturate(oracle(RGB, [SOBEL_X, SOBEL_Y], "magnitude"), np.uint8)
    out = imgconv.apply(RGB, "sobel", padding="valid", stride=2)
    np.testing.assert_array_equal(out, full[1:-1, 1:-1][::2, ::2])


def test_convolve_leaves_magnitude_and_compass_results_unchanged() -> None:
    # flipping negates Sobel's odd parts (the magnitude ignores signs) and turns each compass
    # mask into the opposite one (the maximum over all 8 is the same)
    for name in ("sobel", "kirsch"):
        np.testing.assert_array_equal(imgconv.apply(RGB, name, mode="convolve"), imgconv.apply(RGB, name))


def test_alpha_is_kept() -> None:
    alpha = RNG.integers(0, 256, RGB.shape[:2], dtype=np.uint8)
    rgba = np.dstack([RGB, alpha])
    out = imgconv.apply(rgba, "sobel")
    np.testing.assert_array_equal(out[:, :, 3], alpha)
    np.testing.assert_array_equal(out[:, :, :3], imgconv.apply(RGB, "sobel"))


def test_premultiply_is_refused_for_combined_kernels() -> None:
    rgba = np.dstack([RGB, RGB[:, :, 0]])
    with pytest.raises(UsageError, match="combined kernel"):
        imgconv.apply(rgba, "sobel", premultiply=True)


# -- combined kernels: your own ---------------------------------------------------------------
def test_sum_of_parts_is_the_linear_filter_of_their_sum_then_post() -> None:
    spec = {"kernels": ["sobel-x", SOBEL_Y], "combine": "sum"}
    kernel = kernel_from_json(spec)
    summed = f32(SOBEL_X) + f32(SOBEL_Y)
    raw = cv2.filter2D(RGB, cv2.CV_32F, summed)
    np.testing.assert_array_equal(imgconv.apply(RGB, kernel, depth="float32"), raw)
    np.testing.assert_array_equal(imgconv.apply(RGB, kernel, post="shift"), saturate(raw + 128, np.uint8))
    np.testing.assert_array_equal(imgconv.apply(RGB, kernel, post="abs"), saturate(np.abs(raw), np.uint8))


def test_parts_may_be_objects_matrices_or_names_with_their_own_divisor_and_offset() -> None:
    spec = {
        "name": "mine",
        "kernels": [
            {"kernel": SOBEL_X, "divisor": 4},
            [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
            "sobel-y",
            {"kernel": [[0, 0, 0], [0, 1, 0], [0, 0, 0]], "offset": 10},
        ],
        "combine": "max",
    }
    kernel = kernel_from_json(spec)
    assert kernel.name == "mine" and len(kernel.parts) == 4
    responses = [
        cv2.filter2D(RGB, cv2.CV_32F, f32(SOBEL_X) / 4),
        cv2.filter2D(RGB, cv2.CV_32F, f32([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])),
        cv2.filter2D(RGB, cv2.CV_32F, f32(SOBEL_Y)),
        cv2.filter2D(RGB, cv2.CV_32F, f32([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), delta=10),
    ]
    np.testing.assert_array_equal(imgconv.apply(RGB, kernel), saturate(np.max(responses, axis=0), np.uint8))


@pytest.mark.parametrize("name", ["sobel", "kirsch"])
def test_to_dict_round_trips(name: str) -> None:
    kernel = load_kernel(name)
    info = json.loads(json.dumps(kernel.to_dict()))
    for key in ("kernel", "divisor", "offset", "anchor", "sum", "separable"):
        assert info[key] is None  # the weights live in each part, as with "channels"
    assert info["combine"] == kernel.combine and len(info["kernels"]) == len(kernel.parts)
    again = kernel_from_json(info)
    assert again.combine == kernel.combine and again.name == kernel.name
    for a, b in zip(again.parts, kernel.parts):
        same_kernel(a, b)
        assert a.name == b.name
    # and the output of kernels show --json, with its derived keys
    shown = kernel_from_json(json.loads(json.dumps(inspect_kernel(kernel))))
    np.testing.assert_array_equal(imgconv.apply(RGB, shown), imgconv.apply(RGB, kernel))


def test_flipped_and_rotated_combined_kernels_stay_combined() -> None:
    sobel = load_kernel("sobel")
    for turned in (sobel.flipped(), sobel.rotated(90)):
        assert turned.combine == "magnitude" and len(turned.parts) == 2
    assert sobel.flipped().parts[0].weights.tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ({"kernels": ["sobel-x", "sobel-y"]}, ['needs "combine"', "magnitude, max, sum"]),
        ({"combine": "max"}, ['"combine" needs "kernels"']),
        ({"kernels": ["sobel-x", "sobel-y"], "combine": "median"}, ["unknown combine 'median'", "magnitude, max, sum"]),
        ({"kernels": ["sobel-x", "sobel-y"], "combine": 3}, ["unknown combine", "magnitude, max, sum"]),
        ({"kernels": ["sobel-x"], "combine": "max"}, ["2 to 16", "got 1"]),
        ({"kernels": ["sobel-x"] * 17, "combine": "max"}, ["2 to 16", "got 17"]),
        ({"kernels": [], "combine": "max"}, ["2 to 16"]),
        ({"kernels": "sobel-x", "combine": "max"}, ["list of 2 to 16"]),
        ({"kernels": ["sobel-x", "unsharp"], "combine": "max"}, ["same size", "3x3, 5x5"]),
        ({"kernels": [{"kernel": SOBEL_X, "anchor": [0, 0]}, "sobel-y"], "combine": "max"}, ["same anchor"]),
        ({"kernels": ["sobel-x", "sobel-y"], "combine": "max", "kernel": SOBEL_X}, ['either "kernels"', '"kernel"']),
        ({"kernels": ["sobel-x", "sobel-y"], "combine": "max", "divisor": 2}, ["divisor inside each kernel"]),
        ({"kernels": ["sobel-x", "sobel-y"], "combine": "max", "channels": ["blur"]}, ['"channels"']),
        ({"kernels": ["sobel", "sobel-y"], "combine": "max"}, ["kernel 1", "of its own"]),
        ({"kernels": ["sobel-x", {"channels": ["blur"]}], "combine": "max"}, ["kernel 2", "of its own"]),
        ({"kernels": ["sobel-x", "k.json"], "combine": "max"}, ["kernel 2", "not a file"]),
        ({"kernels": ["sobel-x", 7], "combine": "max"}, ["kernel 2 must be"]),
        ({"kernels": ["sobel-x", "nope"], "combine": "max"}, ["unknown kernel 'nope'"]),
        ({"channels": ["sobel", "blur", "blur"]}, ["channels", "of its own"]),
    ],
)
def test_bad_combined_kernels(spec: dict, fragments: list) -> None:
    rejects(json.dumps(spec), *fragments)


# -- foreign formats: ImageMagick ---------------------------------------------------------
def test_imagemagick_string_of_the_issue_is_the_edge_kernel() -> None:
    same_kernel(load_kernel("3x3: -1,-1,-1,-1,8,-1,-1,-1,-1"), load_kernel("edge"))


@pytest.mark.parametrize(
    "magick, as_json",
    [
        # the examples of https://imagemagick.org/Usage/morphology/#user
        ("3:  0.3,0.6,0.3   0.6,1.0,0.6   0.3,0.6,0.3",
         {"kernel": [[0.3, 0.6, 0.3], [0.6, 1.0, 0.6], [0.3, 0.6, 0.3]]}),
        ("5x3: nan,1,1,1,nan   1,1,1,1,1   nan,1,1,1,nan ",  # nan: not in the neighbourhood
         {"kernel": [[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0]], "anchor": [2, 1]}),
        ("2x3+1+1:   1,-   1,-   1,1   ",  # the L shape; '-' is also 'not in the neighbourhood'
         {"kernel": [[1, 0], [1, 0], [1, 1]], "anchor": [1, 1]}),
        ("3x3+0+2: 0,0,0 0,0,0 1,0,0", {"kernel": [[0, 0, 0], [0, 0, 0], [1, 0, 0]], "anchor": [0, 2]}),
        ("3x1: 1 2 1", {"kernel": [[1, 2, 1]]}),
        ("3x3:1,2,1,2,4,2,1,2,1;", {"kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]]}),  # a final ';' is allowed
        ("2x1: NaN, 5", {"kernel": [[0, 5]], "anchor": [0, 0]}),  # any case of nan
    ],
)
def test_imagemagick_documented_examples(magick: str, as_json: dict) -> None:
    same_kernel(load_kernel(magick), kernel_from_json(as_json))


def test_imagemagick_even_sizes_take_the_cell_above_left_of_centre() -> None:
    # ImageMagick: (width-1)/2, (height-1)/2 -> (1, 0) for 4x2; OpenCV's default would be (2, 1)
    assert load_kernel("4x2: 1,2,3,4,5,6,7,8").anchor == (1, 0)
    assert load_kernel("[[1,2,3,4],[5,6,7,8]]").anchor == (2, 1)


def test_imagemagick_kernel_applies_like_the_json_one() -> None:
    image = RGB[:, :, 1]
    out = imgconv.apply(image, "2x3+1+1: 1,- 1,- 1,1", depth="float32")
    expected = cv2.filter2D(image, cv2.CV_32F, f32([[1, 0], [1, 0], [1, 1]]), anchor=(1, 1))
    np.testing.assert_array_equal(out, expected)


def test_imagemagick_kernel_in_a_chain_is_not_split() -> None:
    chain = K.load_kernel_chain("3x3+1+1: +.5,0,0 0,0,0 0,0,0")
    assert len(chain) == 1 and chain[0].weights[0, 0] == 0.5


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ("3x3: 1,2,3", ["3x3 ImageMagick kernel needs 9 values, got 3"]),
        ("3x3: 1,2,3,4,5,6,7,8,9,10", ["needs 9 values, got 10"]),
        ("3x3+3+0: 1,1,1,1,1,1,1,1,1", ["origin +3+0 lies outside the 3x3 kernel"]),
        ("3x3-1+0: 1,1,1,1,1,1,1,1,1", ["origin", "outside"]),
        ("3x3: 1,2,x,4,5,6,7,8,9", ["value 3 ('x') is not a number"]),
        ("3x3: 1,2,inf,4,5,6,7,8,9", ["value 3 ('inf') is not a number"]),
        ("3x3: 1,2,1e999,4,5,6,7,8,9", ["value 3", "finite"]),
        ("3x3: 1,,2,3,4,5,6,7,8,9", ["empty value between two commas"]),
        ("3@: -,1,- -,0,- 1,1,1", ["'@' flag", "not supported"]),
        ("3x3: 1,1,1,1,1,1,1,1,1; 3x3: 1,1,1,1,1,1,1,1,1", ["separated by ';'", "not supported"]),
        ("2x1: nan, -", ["every value is nan or -"]),
        ("0x3:", ["at least 1x1"]),
        ("600x1: " + ",".join(["1"] * 600), ["600", "largest accepted is 512x512"]),
        ("99999999999x1: 1", ["too large"]),
    ],
)
def test_bad_imagemagick_strings(spec: str, fragments: list) -> None:
    rejects(spec, *fragments)


# -- foreign formats: libvips matrix files ---------------------------------------------------
def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "name, text, as_json",
    [
        # the VIPS manual's examples: a 3x3 block average (sum, divide by 9) and a 4x4 identity
        ("average.mat", "3 3 9 0\n1 1 1\n1 1 1\n1 1 1\n", {"kernel": [[1, 1, 1]] * 3, "divisor": 9}),
        ("identity.mat", "4 4 1 0\n1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n", {"kernel": np.eye(4).tolist()}),
        # the sharpening mask of libvips/vips-bench (mask.con, passed to im_conv)
        ("mask.con", "3 3 8 0\n-1 -1 -1\n-1 16 -1\n-1 -1 -1\n",
         {"kernel": [[-1, -1, -1], [-1, 16, -1], [-1, -1, -1]], "divisor": 8}),
        # scale and offset may be left out (1 and 0), or the offset alone
        ("plain.mat", "3 1\n1 2 1\n", {"kernel": [[1, 2, 1]]}),
        ("scale.mat", "3 1 4\n1 2 1\n", {"kernel": [[1, 2, 1]], "divisor": 4}),
        ("offset.mat", "1 1 2 128\n3\n", {"kernel": [[3]], "divisor": 2, "offset": 128}),
        # separators: any mix of spaces, commas, tabs and double quotes; floats with '.'
        ("mixed.mat", '2 2 0.5 -1.5\n"0.25",\t-1\n1e2 , .5\n\n', {"kernel": [[0.25, -1], [100, 0.5]],
                                                                 "divisor": 0.5, "offset": -1.5}),
    ],
)
def test_vips_matrix_files(tmp_path: Path, name: str, text: str, as_json: dict) -> None:
    kernel = load_kernel(write(tmp_path, name, text))
    same_kernel(kernel, kernel_from_json(as_json))
    assert kernel.name == Path(name).stem


def test_vips_matrix_applies_as_vips_conv_defines_it(tmp_path: Path) -> None:
    # vips_conv: sum(pixel * mask) / scale + offset
    path = write(tmp_path, "k.mat", "3 3 8 128\n-1 -1 -1\n-1 16 -1\n-1 -1 -1\n")
    image = RGB[:, :, 2]
    mask = f32([[-1, -1, -1], [-1, 16, -1], [-1, -1, -1]]) / 8
    expected = cv2.filter2D(image, -1, mask, delta=128)
    np.testing.assert_array_equal(imgconv.apply(image, path), expected)


@pytest.mark.parametrize(
    "name, text, fragments",
    [
        ("zero.mat", "3 3 0 0\n1 1 1\n1 1 1\n1 1 1\n", ["scale is 0"]),
        ("short.mat", "3 2\n1 1 1\n1 1\n", ["line 3 has 2 numbers", "width is 3"]),
        ("long.mat", "2 1\n1 2 3\n", ["line 2 has 3 numbers"]),
        ("missing.mat", "3 3\n1 1 1\n1 1 1\n", ["3 rows but the file has 2"]),
        ("extra.mat", "1 1\n1\n2\n", ["line 3", "more rows than the header's height 1"]),
        ("word.mat", "2 1\n1 two\n", ["line 2", "'two' is not a number"]),
        ("comma.mat", "2 1\n1 0,5\n", ["line 2 has 3 numbers"]),  # ',' separates: 0,5 is two numbers
        ("header.mat", "3 3 1 0 7\n", ["line 1 has 5 numbers", "width height [scale [offset]]"]),
        ("one.mat", "3\n1 1 1\n", ["line 1 has 1 numbers"]),
        ("size.mat", "0 3\n", ["whole numbers of at least 1"]),
        ("half.mat", "2.5 1\n1 1\n", ["whole numbers of at least 1"]),
        ("huge.mat", "100000 1\n", ["largest accepted is 512x512"]),
        ("float.con", "2 1\n0.5 1\n", ["not a whole number", ".con"]),
        ("blank.mat", "\n3 3\n", ["first line"]),
        ("inf.mat", "1 1\n1e999\n", ["finite"]),
    ],
)
def test_bad_vips_matrix_files(tmp_path: Path, name: str, text: str, fragments: list) -> None:
    message = rejects(write(tmp_path, name, text), *fragments)
    assert name in message  # errors about a file name the file


def test_missing_mat_file_is_named(tmp_path: Path) -> None:
    rejects(str(tmp_path / "none.mat"), "no such kernel file", "none.mat")


# -- the command line ---------------------------------------------------------------------------
def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", *args], capture_output=True, cwd=cwd, timeout=60)


def test_cli_show_json_for_sobel_x() -> None:
    proc = run("kernels", "show", "sobel-x", "--json", "--dilation", "2")
    assert proc.returncode == 0 and proc.stderr == b""
    info = json.loads(proc.stdout)
    assert {"name", "kernel", "divisor", "offset", "anchor", "sum", "separable"} <= set(info)
    assert info["kernel"] == SOBEL_X and info["sum"] == 0 and info["separable"] is True
    assert info["factors"] == {"column": [1, 2, 1], "row": [-1, 0, 1], "exact": True}
    assert info["symmetric"] is False and info["symmetry"]["centre"] == "odd"
    assert info["effective_size"] == [5, 5] and info["dilation"] == [2, 2]


def test_cli_show_rotate_and_flip() -> None:
    proc = run("kernels", "show", "kirsch", "--rotate", "45", "--json")
    assert proc.returncode == 0 and proc.stderr == b""
    info = json.loads(proc.stdout)
    assert info["rotation"] == 45 and info["combine"] == "max" and info["kernel"] is None
    assert [part["kernel"] for part in info["kernels"]] == list(KIRSCH.values())[1:] + [KIRSCH["n"]]
    # 2x3: the default anchor (3 // 2, 2 // 2) = (1, 1) is mirrored to (3-1-1, 2-1-1) = (1, 0)
    proc = run("kernels", "show", "[[1,2,3],[4,5,6]]", "--flip", "--json")
    info = json.loads(proc.stdout)
    assert info["kernel"] == [[6, 5, 4], [3, 2, 1]] and info["anchor"] == [1, 0] and info["flipped"] is True


def test_cli_show_text_says_it_in_words() -> None:
    proc = run("kernels", "show", "sobel-x", "--dilation", "2")
    assert proc.returncode == 0 and proc.stderr == b""
    text = " ".join(proc.stdout.decode().split())  # rich may wrap long lines
    assert "column [1, 2, 1] x row [-1, 0, 1]" in text
    assert "odd about the centre" in text and "zero-sum" in text and "spans 5x5" in text


def _table_cells(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("columns, digits", [(80, 4), (200, 6)])
def test_cli_show_rounds_weights_to_fit_the_terminal_instead_of_cutting_them(columns: int, digits: int) -> None:
    import os

    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.run([sys.executable, "-m", "imgconv", "kernels", "show", "gaussian:size=7,sigma=1.5"],
                          capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= columns
    g = cv2.getGaussianKernel(7, 1.5).astype(np.float64)
    weights = (g @ g.T).astype(np.float32)  # the oracle: OpenCV's sampled Gaussian
    shown = np.array(_table_cells(text), dtype=np.float64)
    np.testing.assert_allclose(shown, weights, rtol=10.0 ** (1 - digits))
    significant = [len(cell.replace(".", "").lstrip("0")) for row in _table_cells(text) for cell in row]
    assert max(significant) == digits
    note = "shown to 4 significant digits to fit the terminal; --json prints them in full"
    assert (note in " ".join(text.split())) == (columns == 80)


def test_cli_show_says_when_a_kernel_is_too_wide_to_show_whole() -> None:
    import os

    proc = subprocess.run([sys.executable, "-m", "imgconv", "kernels", "show", "gaussian:size=15,sigma=3"],
                          capture_output=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert "too many columns for this terminal to show whole; --json prints them in full" in " ".join(proc.stdout.decode().split())


def test_cli_rotate_by_30_is_a_one_line_usage_error() -> None:
    proc = run("kernels", "show", "sobel-x", "--rotate", "30")
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("imgconv: ") and "Traceback" not in err
    assert "30 degrees" in err and "multiples of 90" in err


def test_cli_apply_sobel_and_kirsch(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), RGB)
    proc = run("apply", "sobel", str(photo), "-o", str(tmp_path / "out.png"))
    assert proc.returncode == 0, proc.stderr
    written = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    # OpenCV reads and writes BGR; the magnitude works channel by channel either way
    np.testing.assert_array_equal(written, saturate(oracle(RGB, [SOBEL_X, SOBEL_Y], "magnitude"), np.uint8))
    proc = run("apply", "kirsch", "photo.png", cwd=tmp_path)  # written beside it as photo.kirsch.png
    assert proc.returncode == 0, proc.stderr
    written = cv2.imread(str(tmp_path / "photo.kirsch.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(written, saturate(oracle(RGB, list(KIRSCH.values()), "max"), np.uint8))


def test_cli_apply_imagemagick_and_vips_kernels(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), RGB)
    (tmp_path / "edge.mat").write_text("3 3\n-1 -1 -1\n-1 8 -1\n-1 -1 -1\n")
    expected = cv2.filter2D(RGB, -1, f32([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]))
    for spec, out in (("3x3: -1,-1,-1,-1,8,-1,-1,-1,-1", "im.png"), ("edge.mat", "vips.png")):
        proc = run("apply", spec, "photo.png", "-o", out, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / out), cv2.IMREAD_UNCHANGED), expected)


def test_cli_bad_combined_kernel_file_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "k.json").write_text(json.dumps({"kernels": ["sobel-x", "sobel-y"], "combine": "median"}))
    proc = run("kernels", "show", str(tmp_path / "k.json"))
    assert proc.returncode == 2 and proc.stdout == b""
    assert "unknown combine 'median'; expected one of: magnitude, max, sum" in proc.stderr.decode()


def test_cli_list_marks_combined_kernels() -> None:
    proc = run("kernels", "list", "--json")
    assert proc.returncode == 0
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert rows["sobel"]["combine"] == "magnitude" and rows["kirsch"]["combine"] == "max"
    assert rows["sobel"]["sum"] is None and rows["sobel-x"]["sum"] == 0 and rows["sobel-x"]["combine"] is None
