"""The kernel model, the one spec parser and strict kernel JSON.

Expected matrices are written by hand from the contract (or from the papers the kernel
files cite) and cross-checked against OpenCV (``cv2.getDerivKernels``,
``cv2.getGaussianKernel``) and an independent transcription of MATLAB's ``fspecial('log')``.
Rejections assert both the exception type (``KernelError``, exit code 2) and a part of the
message a user needs to fix the spec.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgconv
import imgconv.kernels as K
from imgconv.errors import KernelError

KERNELS_DIR = Path(__file__).resolve().parent.parent / "kernels"


def rejects(spec, *fragments: str) -> str:
    """``load_kernel(spec)`` raises KernelError (exit 2) whose message holds every fragment."""
    with pytest.raises(KernelError) as info:
        imgconv.load_kernel(spec)
    error = info.value
    assert error.exit_code == 2
    message = str(error)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def write(tmp_path: Path, name: str, content) -> Path:
    """A kernel file: a dict/list is written as JSON, str as UTF-8 text, bytes as they are."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def file_rejects(path: Path, *fragments: str) -> str:
    message = rejects(str(path), *fragments)
    assert path.name in message  # errors about a file name the file
    return message


# -- the named kernels -------------------------------------------------------------------
SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SCHARR_X = [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]
PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
VERTICAL_EDGE = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]

# name -> effective weights (weights / divisor), from the contract
CONTRACT_KERNELS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float),
    "blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float),
    "vertical-edge": np.array(VERTICAL_EDGE, float),
    "horizontal-edge": np.array(VERTICAL_EDGE, float).T,
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float),
    "laplacian-8": np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], float),
    "sobel-x": np.array(SOBEL_X, float),
    "sobel-y": np.array(SOBEL_X, float).T,
    # beyond the contract: the standard operators the kernel files cite
    "scharr-x": np.array(SCHARR_X, float),
    "scharr-y": np.array(SCHARR_X, float).T,
    "prewitt-x": np.array(PREWITT_X, float),
    "prewitt-y": np.array(PREWITT_X, float).T,
    "roberts": np.array([[1, 0], [0, -1]], float),
    "roberts-x": np.array([[1, 0], [0, -1]], float),
    "roberts-y": np.array([[0, 1], [-1, 0]], float),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], float),
}


@pytest.mark.parametrize("name", sorted(CONTRACT_KERNELS))
def test_named_kernel_has_the_contract_matrix(name: str) -> None:
    kernel = imgconv.load_kernel(name)
    expected = CONTRACT_KERNELS[name]
    assert kernel.shape == expected.shape
    assert kernel.effective.dtype == np.float64
    np.testing.assert_allclose(kernel.effective, expected, rtol=0, atol=1e-15)
    assert kernel.offset == 0
    rows, cols = expected.shape
    assert kernel.anchor == (cols // 2, rows // 2)
    assert kernel.name == name


def test_blur_is_ones_over_nine() -> None:
    blur = imgconv.load_kernel("blur")
    assert blur.weights.tolist() == [[1.0] * 3] * 3
    assert blur.divisor == 9
    assert blur.sum == pytest.approx(1.0, abs=1e-15)


def test_unsharp_is_twice_identity_minus_the_binomial_gaussian() -> None:
    binomial = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256
    expected = -binomial
    expected[2, 2] += 2
    np.testing.assert_allclose(imgconv.load_kernel("unsharp").effective, expected, atol=1e-15)


def test_sobel_x_is_the_opencv_derivative_kernel() -> None:
    kx, ky = cv2.getDerivKernels(1, 0, 3)
    # filter2D weights: rows from the y kernel, columns from the x kernel
    outer = np.outer(ky.ravel(), kx.ravel())
    np.testing.assert_array_equal(imgconv.load_kernel("sobel-x").effective, outer)
    np.testing.assert_array_equal(imgconv.load_kernel("sobel-y").effective, outer.T)


def test_scharr_x_is_the_opencv_scharr_kernel() -> None:
    kx, ky = cv2.getDerivKernels(1, 0, cv2.FILTER_SCHARR)
    outer = np.outer(ky.ravel(), kx.ravel())
    np.testing.assert_array_equal(outer, np.array(SCHARR_X, float))  # same sign convention
    np.testing.assert_array_equal(imgconv.load_kernel("scharr-x").effective, outer)
    np.testing.assert_array_equal(imgconv.load_kernel("scharr-y").effective, outer.T)


def test_sobel_x_responds_positively_to_a_dark_to_bright_step() -> None:
    # the sign a user of cv2.Sobel expects: left dark, right bright -> positive
    image = np.zeros((5, 6), np.float32)
    image[:, 3:] = 1
    sobel = imgconv.load_kernel("sobel-x")
    out = cv2.filter2D(image, -1, sobel.effective.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    expected = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_array_equal(out, expected)
    assert out[2, 2] > 0


# -- the kernels/ folder -----------------------------------------------------------------
KERNEL_FILES = sorted(KERNELS_DIR.glob("*.json"))


def test_the_kernels_folder_holds_the_contract_kernels() -> None:
    stems = {path.stem for path in KERNEL_FILES}
    assert set(CONTRACT_KERNELS) <= stems


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.name)
def test_every_kernel_file_is_complete_and_loads(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["name"] == path.stem
    assert isinstance(raw["description"], str) and raw["description"].strip()
    assert isinstance(raw["source"], str) and raw["source"].strip()
    from_file = K.load_kernel_file(path)
    by_name = imgconv.load_kernel(path.stem)
    for kernel in (from_file, by_name):
        assert kernel.name == path.stem
        if "kernels" in raw:  # a combined kernel (sobel, kirsch): tests/test_kernel_inspection.py
            assert kernel.combined and len(kernel.parts) == len(raw["kernels"])
            continue
        np.testing.assert_array_equal(kernel.weights, np.array(raw["kernel"], float))
        assert kernel.divisor == raw.get("divisor", 1)


def test_every_registered_name_loads() -> None:
    names = K.kernel_names()
    assert names == sorted(names)
    assert set(CONTRACT_KERNELS) <= set(names)
    assert {"gaussian", "box", "log", "motion"} <= set(names)
    for name in names:
        kernel = imgconv.load_kernel(name)
        assert isinstance(kernel, K.Kernel)
        assert np.all(np.isfinite(kernel.effective))
    assert [k.name for k in K.named_kernels()] == names


def test_no_name_is_both_a_file_and_a_parametric_family() -> None:
    stems = {path.stem for path in KERNEL_FILES}
    assert stems
    assert not stems & set(K.PARAMETRIC)


# -- parametric kernels ------------------------------------------------------------------
@pytest.mark.parametrize(
    "size,sigma",
    [(3, 0), (5, 0), (7, 0), (9, 0), (11, 0), (1, 0), (3, 0.5), (5, 1), (7, 1.5), (9, 2.5), (13, 2), (15, 0.8), (21, 3.3)],
)
def test_gaussian_matches_opencv(size: int, sigma: float) -> None:
    g = cv2.getGaussianKernel(size, sigma)
    assert g.dtype == np.float64
    expected = np.outer(g, g)
    kernel = imgconv.load_kernel(f"gaussian:size={size},sigma={sigma}")
    assert kernel.shape == (size, size)
    assert kernel.anchor == (size // 2, size // 2)
    assert kernel.effective.dtype == np.float64
    np.testing.assert_allclose(kernel.effective, expected, rtol=0, atol=1e-15)
    assert kernel.sum == pytest.approx(1.0, abs=1e-12)


def test_gaussian_with_a_tiny_sigma_is_a_delta_as_in_opencv() -> None:
    # sigma*sigma underflows to 0; OpenCV still returns [0, 0, 1, 0, 0]
    g = cv2.getGaussianKernel(5, 1e-200)
    kernel = imgconv.load_kernel("gaussian:size=5,sigma=1e-200")
    np.testing.assert_array_equal(kernel.effective, np.outer(g, g))


def test_gaussian_sigma_alone_picks_the_size_as_gaussianblur() -> None:
    kernel = imgconv.load_kernel("gaussian:sigma=2")
    assert kernel.shape == (13, 13)  # round(6*2 + 1) | 1
    g = cv2.getGaussianKernel(13, 2)
    np.testing.assert_allclose(kernel.effective, np.outer(g, g), rtol=0, atol=1e-15)
    assert imgconv.load_kernel("gaussian:sigma=1").shape == (7, 7)
    assert imgconv.load_kernel("gaussian:sigma=0.5").shape == (5, 5)  # round(4) | 1


@pytest.mark.parametrize("spec", ["gaussian", "gaussian:", "gaussian:size=5", "gaussian:sigma=0"])
def test_gaussian_default_is_the_5x5_binomial(spec: str) -> None:
    kernel = imgconv.load_kernel(spec)
    binomial = [1, 4, 6, 4, 1]
    np.testing.assert_array_equal(kernel.weights, np.outer(binomial, binomial))
    assert kernel.divisor == 256
    assert kernel.anchor == (2, 2)


def test_box_is_one_over_size_squared() -> None:
    kernel = imgconv.load_kernel("box:size=5")
    assert kernel.shape == (5, 5)
    np.testing.assert_allclose(kernel.effective, np.full((5, 5), 1 / 25), rtol=0, atol=1e-17)
    assert imgconv.load_kernel("box").shape == (3, 3)


def test_even_box_anchor_is_size_over_two_as_opencv() -> None:
    kernel = imgconv.load_kernel("box:size=2")
    assert kernel.anchor == (1, 1)
    np.testing.assert_array_equal(kernel.effective, np.full((2, 2), 0.25))


def matlab_log(size: int, sigma: float) -> np.ndarray:
    """MATLAB's fspecial('log', size, sigma), transcribed from its documented algorithm."""
    half = (size - 1) / 2
    x, y = np.meshgrid(np.arange(-half, half + 1), np.arange(-half, half + 1))
    std2 = sigma**2
    h = np.exp(-(x * x + y * y) / (2 * std2))
    h[h < np.finfo(float).eps * h.max()] = 0
    h = h / h.sum()
    h1 = h * (x * x + y * y - 2 * std2) / std2**2
    return h1 - h1.sum() / h1.size


@pytest.mark.parametrize("size,sigma", [(9, 1.4), (5, 0.5), (7, 1.0), (3, 0.8), (15, 2.0)])
def test_log_matches_matlab_fspecial(size: int, sigma: float) -> None:
    kernel = imgconv.load_kernel(f"log:size={size},sigma={sigma}")
    np.testing.assert_allclose(kernel.effective, matlab_log(size, sigma), rtol=0, atol=1e-12)


def test_log_is_zero_sum_symmetric_with_a_negative_centre() -> None:
    kernel = imgconv.load_kernel("log:size=9,sigma=1.4")
    w = kernel.effective
    assert w.shape == (9, 9)
    assert abs(w.sum()) < 1e-12
    np.testing.assert_allclose(w, w.T, atol=1e-15)
    np.testing.assert_allclose(w, w[::-1, ::-1], atol=1e-15)
    np.testing.assert_allclose(w, w[:, ::-1], atol=1e-15)
    assert w[4, 4] < 0
    assert w[4, 4] == w.min()


def test_motion_at_angle_0_is_one_horizontal_row() -> None:
    w = imgconv.load_kernel("motion:length=9,angle=0").effective
    expected = np.zeros((9, 9))
    expected[4, :] = 1 / 9
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


def test_motion_at_angle_90_is_the_transpose() -> None:
    horizontal = imgconv.load_kernel("motion:length=9,angle=0").effective
    vertical = imgconv.load_kernel("motion:length=9,angle=90").effective
    np.testing.assert_allclose(vertical, horizontal.T, rtol=0, atol=1e-12)


def test_motion_at_45_runs_from_bottom_left_to_top_right() -> None:
    # counter-clockwise with rows growing downwards: +45 degrees goes up and to the right
    w = imgconv.load_kernel("motion:length=9,angle=45").effective
    n = 9
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    anti = np.array([w[i, n - 1 - i] for i in range(n)])
    main = np.array([w[i, i] for i in range(n)])
    assert anti[1:-1].min() > 0  # the line lies on the anti-diagonal
    assert main[4] == anti[4]  # the only cell the two diagonals share
    assert np.count_nonzero(main) == 1
    assert w[7, 1] > 0 and w[1, 7] > 0  # bottom-left and top-right ends
    assert w[1, 1] == 0 and w[7, 7] == 0  # not top-left to bottom-right
    # symmetric about the anti-diagonal: w[i, j] == w[n-1-j, n-1-i]
    np.testing.assert_allclose(w, w[::-1, ::-1].T, atol=1e-12)
    np.testing.assert_allclose(w, w.T, atol=1e-12)


def test_motion_even_length_still_sums_to_one() -> None:
    kernel = imgconv.load_kernel("motion:length=8,angle=30")
    assert kernel.shape[0] % 2 == 1
    assert kernel.sum == pytest.approx(1.0, abs=1e-12)
    assert kernel.effective.min() >= 0


# -- rejections: specs -------------------------------------------------------------------
def test_empty_and_blank_specs() -> None:
    rejects("", "empty kernel spec")
    rejects("   \t ", "empty kernel spec")


def test_unknown_name_suggests_the_close_match_and_lists_names() -> None:
    message = rejects("edgy", "'edgy'", "did you mean", "'edge'")
    for name in ("sobel-x", "laplacian", "gaussian", "box"):
        assert name in message


def test_unknown_name_with_nothing_close_lists_names() -> None:
    message = rejects("zzzzqqq", "unknown kernel", "sharpen")
    assert "did you mean" not in message


def test_fixed_kernel_takes_no_parameters() -> None:
    rejects("edge:size=3", "edge", "no parameters")


def test_unknown_parameter_lists_the_known_ones() -> None:
    rejects("gaussian:radius=3", "unknown parameter", "'radius'", "size", "sigma")


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("gaussian:size", "key=value"),
        ("gaussian:size=", "key=value"),
        ("gaussian:=5", "key=value"),
        ("gaussian:size=abc", "must be a number"),
        ("gaussian:size=3,size=5", "given twice"),
        ("gaussian:size=2.5", "whole number"),
        ("box:size=nan", "finite"),
        ("box:size=inf", "finite"),
        ("box:size=-inf", "finite"),
        ("gaussian:sigma=nan", "finite"),
    ],
)
def test_malformed_parameters(spec: str, fragment: str) -> None:
    rejects(spec, fragment)


@pytest.mark.parametrize("spec", ["gaussian:size=4", "gaussian:size=2", "log:size=6"])
def test_even_sizes_rejected_where_a_centre_is_needed(spec: str) -> None:
    rejects(spec, "odd")


@pytest.mark.parametrize(
    "spec",
    ["gaussian:size=0", "gaussian:size=-3", "gaussian:size=513", "box:size=0", "box:size=-1",
     "box:size=513", "log:size=515", "motion:length=0", "motion:length=100000"],
)
def test_sizes_out_of_range(spec: str) -> None:
    rejects(spec, "512")


def test_largest_side_is_accepted() -> None:
    assert imgconv.load_kernel("box:size=512").shape == (512, 512)


def test_negative_sigma() -> None:
    rejects("gaussian:size=5,sigma=-1", "sigma", ">= 0")


def test_log_sigma_must_be_positive() -> None:
    rejects("log:size=9,sigma=0", "sigma", "> 0")


@pytest.mark.parametrize("spec", ["gaussian:sigma=1e308", "gaussian:sigma=1e300", "gaussian:sigma=1e200"])
def test_huge_sigma_is_a_kernel_error(spec: str) -> None:
    # the implied size 6*sigma+1 is far above the cap (or overflows to infinity)
    rejects(spec, "gaussian")


@pytest.mark.parametrize("spec", ["bad\x00name.json", "dir/\x00", "nul\x00", "~\x00.json", "~user\x00/k.json"])
def test_nul_byte_in_a_spec_is_a_kernel_error(spec: str) -> None:
    rejects(spec)


# -- rejections: inline matrices ---------------------------------------------------------
@pytest.mark.parametrize(
    "spec,fragments",
    [
        ("[[1,2],[3]]", ["not rectangular", "row 2"]),
        ("[[]]", ["row 1 is empty"]),
        ("[]", ["empty"]),
        ("[1,2,3]", ["2-D", "[[1, 2, 1]]"]),
        ("[[[1]]]", ["3-D"]),
        ('[[1,"a"]]', ["column 2", "string"]),
        ("[[true]]", ["boolean"]),
        ("[[null]]", ["null"]),
        ("[[NaN]]", ["NaN", "finite"]),
        ("[[Infinity]]", ["Infinity", "finite"]),
        ("[[-Infinity]]", ["-Infinity", "finite"]),
        ("[[1e309]]", ["finite"]),
        ("[[1e39]]", ["float32"]),
        ("[[-1e39]]", ["float32"]),
        ("[[1,2],", ["invalid JSON"]),
        ("[[1,2,],[3,4,]]", ["invalid JSON"]),
        ("[[1,2]] x", ["invalid JSON"]),
        ("[[1],2]", ["row 2"]),
        ('["ab"]', ["row 1", "string"]),
    ],
)
def test_bad_inline_matrices(spec: str, fragments: list[str]) -> None:
    rejects(spec, "inline kernel", *fragments)


def test_5000_digit_integer_is_rejected() -> None:
    rejects("[[" + "9" * 5000 + "]]", "digits", "float32")


def test_4000_digit_integer_is_rejected() -> None:
    rejects("[[" + "9" * 4000 + "]]", "float32")


def test_float32_max_itself_is_accepted() -> None:
    biggest = float(np.finfo(np.float32).max)
    assert imgconv.load_kernel(f"[[{biggest!r}]]").weights[0, 0] == biggest


def test_inline_matrix_and_inline_object() -> None:
    k = imgconv.load_kernel(" [[1, 2, 1]] ")
    assert k.weights.tolist() == [[1.0, 2.0, 1.0]]
    assert k.anchor == (1, 0)
    k = imgconv.load_kernel('{"kernel": [[1, 1], [1, 1]], "normalize": true}')
    np.testing.assert_array_equal(k.effective, np.full((2, 2), 0.25))


def test_non_string_specs() -> None:
    k = imgconv.load_kernel(np.array([[1, 2], [3, 4]], dtype=np.int16))
    assert k.weights.dtype == np.float64 and k.weights.tolist() == [[1, 2], [3, 4]]
    assert imgconv.load_kernel([[0, 1], [2, 3]]).weights.tolist() == [[0, 1], [2, 3]]
    assert imgconv.load_kernel(k) is k
    for bad in (np.zeros(3), np.zeros((2, 2, 2)), np.array([[np.nan]]), np.array([["a"]]), 5):
        with pytest.raises(KernelError):
            imgconv.load_kernel(bad)


# -- kernel JSON files -------------------------------------------------------------------
def test_full_kernel_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mine.json", {
        "name": "my-sharpen", "description": "a test kernel", "source": "hand",
        "kernel": [[0, -1, 0], [-1, 6, -1], [0, -1, 0]],
        "divisor": 2, "offset": 10.5, "anchor": [0, 2], "normalize": False,
    })
    for kernel in (imgconv.load_kernel(str(path)), imgconv.load_kernel(path), K.load_kernel_file(path)):
        assert kernel.name == "my-sharpen"
        assert kernel.description == "a test kernel"
        assert kernel.source == "hand"
        assert kernel.weights.tolist() == [[0, -1, 0], [-1, 6, -1], [0, -1, 0]]
        assert kernel.divisor == 2
        assert kernel.offset == 10.5
        assert kernel.anchor == (0, 2)
        np.testing.assert_array_equal(kernel.effective, np.array([[0, -0.5, 0], [-0.5, 3, -0.5], [0, -0.5, 0]]))


def test_minimal_file_takes_its_name_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "wide.json", {"kernel": [[1, 2, 3, 4]]})
    kernel = imgconv.load_kernel(str(path))
    assert kernel.name == "wide"
    assert kernel.divisor == 1 and kernel.offset == 0
    assert kernel.anchor == (2, 0)


def test_missing_kernel_key(tmp_path: Path) -> None:
    file_rejects(write(tmp_path, "k.json", {"name": "x", "divisor": 2}), "missing", '"kernel"')


def test_unknown_key_lists_the_known_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[1]], "divsor": 2})
    message = file_rejects(path, "unknown key", "'divsor'")
    for key in ("kernel", "divisor", "offset", "anchor", "normalize"):
        assert key in message


def test_duplicate_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", '{"kernel": [[1]], "divisor": 2, "divisor": 3}')
    file_rejects(path, "duplicate key", "divisor")


def test_normalize_divides_by_the_sum(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "normalize": True})
    kernel = imgconv.load_kernel(str(path))
    assert kernel.divisor == 16
    np.testing.assert_allclose(kernel.effective, np.outer([1, 2, 1], [1, 2, 1]) / 16, atol=1e-17)


def test_normalize_false_keeps_divisor_one(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[1, 2, 1]], "normalize": False})
    assert imgconv.load_kernel(str(path)).divisor == 1


def test_normalize_a_zero_sum_kernel_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", {"kernel": SOBEL_X, "normalize": True})
    file_rejects(path, "normalize", "sums to 0")


def test_normalize_with_an_explicit_divisor_is_ambiguous(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[1, 1]], "normalize": True, "divisor": 3})
    file_rejects(path, "divisor", "normalize")


def test_normalize_must_be_a_boolean(tmp_path: Path) -> None:
    file_rejects(write(tmp_path, "k.json", {"kernel": [[1, 1]], "normalize": "false"}), "normalize", "true or false")
    file_rejects(write(tmp_path, "k2.json", {"kernel": [[1, 1]], "normalize": 1}), "normalize", "true or false")


def test_divisor_zero(tmp_path: Path) -> None:
    file_rejects(write(tmp_path, "k.json", {"kernel": [[1, 1]], "divisor": 0}), "divisor", "0")


@pytest.mark.parametrize("divisor", ["2", True, None, [2]])
def test_divisor_must_be_a_number(tmp_path: Path, divisor) -> None:
    file_rejects(write(tmp_path, "k.json", {"kernel": [[1, 1]], "divisor": divisor}), "divisor", "must be a number")


def test_anchor_outside_the_kernel(tmp_path: Path) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[0, 0, 0], [0, 1, 0], [0, 0, 0]], "anchor": [3, 0]})
    file_rejects(path, "anchor", "outside", "3x3")
    path = write(tmp_path, "k2.json", {"kernel": [[0, 1, 0]], "anchor": [1, -1]})
    file_rejects(path, "anchor", "outside")


@pytest.mark.parametrize("anchor", [[1], [1.5, 1], "1,1", [1, 1, 1], [True, 0], {"x": 1, "y": 1}])
def test_anchor_of_the_wrong_type(tmp_path: Path, anchor) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[0, 0, 0], [0, 1, 0], [0, 0, 0]], "anchor": anchor})
    file_rejects(path, "anchor", "[x, y]")


@pytest.mark.parametrize("text,fragment", [("5", "JSON object"), ('"edge"', "string"), ("null", "null"), ("true", "boolean")])
def test_top_level_that_is_not_a_kernel(tmp_path: Path, text: str, fragment: str) -> None:
    file_rejects(write(tmp_path, "k.json", text), fragment)


def test_top_level_list_is_a_bare_matrix(tmp_path: Path) -> None:
    kernel = imgconv.load_kernel(str(write(tmp_path, "bare.json", "[[1, 2], [3, 4]]")))
    assert kernel.weights.tolist() == [[1, 2], [3, 4]]
    assert kernel.divisor == 1
    assert kernel.name == "bare"


def test_empty_and_blank_files(tmp_path: Path) -> None:
    file_rejects(write(tmp_path, "empty.json", b""), "empty")
    file_rejects(write(tmp_path, "blank.json", b"  \n\t\n"), "empty")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + json.dumps({"kernel": [[1, 2]]}).encode())
    assert imgconv.load_kernel(str(path)).weights.tolist() == [[1, 2]]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_file_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    text = json.dumps({"kernel": [[1, 2]]})
    data = text.encode(encoding)
    if encoding != "utf-16":  # the PowerShell default writes a BOM
        data = ("\ufeff" + text).encode(encoding)
    file_rejects(write(tmp_path, "u16.json", data), "UTF-16")


def test_latin1_file_is_not_utf8(tmp_path: Path) -> None:
    data = b'{"name": "caf\xe9", "kernel": [[1]]}'
    file_rejects(write(tmp_path, "l1.json", data), "UTF-8")


@pytest.mark.parametrize(
    "text",
    ['// a comment\n{"kernel": [[1]]}', '{"kernel": [[1]] /* weights */}', '{"kernel": [[1]]} // end', "{'kernel': [[1]]}"],
)
def test_comments_and_single_quotes_are_not_json(tmp_path: Path, text: str) -> None:
    file_rejects(write(tmp_path, "c.json", text), "invalid JSON", "line")


def test_deep_nesting_is_a_clean_error(tmp_path: Path) -> None:
    for text in ("[" * 100000, "[" * 100000 + "]" * 100000, '{"kernel":' * 50000):
        path = write(tmp_path, "deep.json", text)
        file_rejects(path, "invalid JSON")
    rejects("[" * 100000, "inline kernel")
    rejects("[" * 100000 + "]" * 100000, "inline kernel")


def test_kernel_larger_than_the_cap_names_the_cap(tmp_path: Path) -> None:
    assert K.MAX_KERNEL_SIDE == 512
    path = write(tmp_path, "big.json", {"kernel": [[0] * 513] * 513})
    file_rejects(path, "513x513", "512")
    rejects(json.dumps([[0] * 513]), "512")
    rejects(json.dumps([[0]] * 513), "512")


def test_file_larger_than_the_byte_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "k.json", {"kernel": [[1, 2, 3], [4, 5, 6]]})
    assert imgconv.load_kernel(str(path)).shape == (2, 3)
    monkeypatch.setattr(K.files, "MAX_KERNEL_FILE_BYTES", 16)
    file_rejects(path, "bytes", "16")


def test_missing_file(tmp_path: Path) -> None:
    file_rejects(tmp_path / "nope.json", "no such kernel file")


def test_folder_path(tmp_path: Path) -> None:
    folder = tmp_path / "kdir.json"
    folder.mkdir()
    file_rejects(folder, "folder")
    rejects(str(tmp_path) + "/", "folder")


def test_relative_path_to_a_system_file_is_just_a_bad_kernel_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/usr/lib")  # ../../etc/passwd is /etc/passwd
    rejects("../../etc/passwd", "etc/passwd", "invalid JSON")


def test_relative_path_that_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rejects("../../no/such/passwd", "no such kernel file")


def test_file_without_extension_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "mykernel", {"kernel": [[1, 0, -1]]})
    monkeypatch.chdir(tmp_path)
    kernel = imgconv.load_kernel("mykernel")
    assert kernel.weights.tolist() == [[1, 0, -1]]
    assert kernel.name == "mykernel"


def test_registered_name_wins_over_a_file_of_that_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "edge", {"kernel": [[7]]})
    write(tmp_path, "gaussian", {"kernel": [[7]]})
    monkeypatch.chdir(tmp_path)
    assert imgconv.load_kernel("edge").effective.tolist() == CONTRACT_KERNELS["edge"].tolist()
    assert imgconv.load_kernel("gaussian").shape == (5, 5)
    assert imgconv.load_kernel("./edge").weights.tolist() == [[7]]


def test_home_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, "home.json", {"kernel": [[3]]})
    assert imgconv.load_kernel("~/home.json").weights.tolist() == [[3]]


def test_file_kernel_values_checked_like_inline(tmp_path: Path) -> None:
    file_rejects(write(tmp_path, "nan.json", '{"kernel": [[NaN]]}'), "NaN")
    file_rejects(write(tmp_path, "s.json", {"kernel": [[1, "2"]]}), "string")
    file_rejects(write(tmp_path, "o.json", {"kernel": [[1, 2]], "offset": 1e39}), "offset", "float32")
    file_rejects(write(tmp_path, "n.json", {"kernel": [[1]], "name": 5}), "name", "string")


# -- the Kernel value --------------------------------------------------------------------
def test_flipped_rotates_180_and_mirrors_the_anchor() -> None:
    kernel = K.Kernel([[1, 2, 3], [4, 5, 6]], divisor=2, offset=3, anchor=(0, 1), name="t")
    flipped = kernel.flipped()
    assert flipped.weights.tolist() == [[6, 5, 4], [3, 2, 1]]
    assert flipped.anchor == (2, 0)
    assert (flipped.divisor, flipped.offset, flipped.name) == (2, 3, "t")
    twice = flipped.flipped()
    assert twice.weights.tolist() == kernel.weights.tolist() and twice.anchor == kernel.anchor
    # the original is untouched and read-only
    assert kernel.weights.tolist() == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(ValueError):
        kernel.weights[0, 0] = 9


def test_flipped_default_anchor_of_an_even_kernel() -> None:
    kernel = K.Kernel([[1, 2], [3, 4]])
    assert kernel.anchor == (1, 1)
    assert kernel.flipped().anchor == (0, 0)


def test_weights_are_a_copy() -> None:
    source = np.array([[1.0, 2.0]])
    kernel = K.Kernel(source)
    source[0, 0] = 100
    assert kernel.weights.tolist() == [[1, 2]]


def test_sum_effective_rank_separable() -> None:
    sobel = imgconv.load_kernel("sobel-x")
    assert sobel.sum == 0 and sobel.rank == 1 and sobel.separable
    edge = imgconv.load_kernel("edge")
    assert edge.sum == 0 and edge.rank == 2 and not edge.separable
    identity = imgconv.load_kernel("identity")
    assert identity.sum == 1 and identity.rank == 1 and identity.separable
    blur = imgconv.load_kernel("blur")
    assert blur.sum == pytest.approx(1) and blur.separable
    sharpen = imgconv.load_kernel("sharpen")
    assert sharpen.sum == 1 and not sharpen.separable
    zero = K.Kernel([[0, 0], [0, 0]])
    assert zero.rank == 0 and zero.separable and zero.sum == 0
    assert imgconv.load_kernel("gaussian:size=7,sigma=1.3").separable
    assert not imgconv.load_kernel("log:size=9,sigma=1.4").separable
    full = K.Kernel(np.arange(9.0).reshape(3, 3) ** 2)
    assert full.rank == 3
    np.testing.assert_array_equal(K.Kernel([[2, 4]], divisor=4).effective, [[0.5, 1.0]])


def test_to_dict_has_the_contract_keys() -> None:
    d = imgconv.load_kernel("blur").to_dict()
    for key in ("name", "kernel", "divisor", "offset", "anchor", "sum", "separable"):
        assert key in d
    assert d["kernel"] == [[1, 1, 1]] * 3
    assert d["divisor"] == 9 and d["anchor"] == [1, 1] and d["separable"] is True
    assert d["sum"] == 1


@pytest.mark.parametrize("spec", ["blur", "sobel-x", "roberts", "gaussian:size=7,sigma=1.3", "motion:length=7,angle=30"])
def test_to_dict_round_trips_through_json(spec: str) -> None:
    # `imgconv kernels show K --json > k.json` should give a file `apply k.json` accepts
    kernel = imgconv.load_kernel(spec)
    again = K.kernel_from_json(json.loads(json.dumps(kernel.to_dict())))
    np.testing.assert_array_equal(again.weights, kernel.weights)
    assert (again.divisor, again.offset, again.anchor, again.name) == (
        kernel.divisor, kernel.offset, kernel.anchor, kernel.name)


@pytest.mark.parametrize("spec", ["blur", "sobel-x", "gaussian:size=7,sigma=1.3", "motion:length=7,angle=30"])
def test_to_dict_format_keys_round_trip(spec: str) -> None:
    kernel = imgconv.load_kernel(spec)
    d = {k: v for k, v in kernel.to_dict().items() if k in K.JSON_KEYS}
    again = K.kernel_from_json(json.loads(json.dumps(d)))
    np.testing.assert_array_equal(again.weights, kernel.weights)
    assert (again.divisor, again.offset, again.anchor, again.name) == (
        kernel.divisor, kernel.offset, kernel.anchor, kernel.name)


@pytest.mark.parametrize(
    "name", ["../../etc/x:y", "a/b", "gaussian:size=5", "..", "", "c:\\windows\\x", "name with spaces", "é/ü"]
)
def test_tag_is_safe_in_a_file_name(name: str) -> None:
    tag = K.Kernel([[1]], name=name).tag
    assert tag
    assert "/" not in tag and ":" not in tag and "\\" not in tag and " " not in tag
    assert tag not in (".", "..") and not tag.startswith(".")


def test_tags_of_parametric_kernels() -> None:
    for spec in ("gaussian:size=7,sigma=1.5", "box:size=5", "log:size=9,sigma=1.4", "motion:length=15,angle=-30"):
        tag = imgconv.load_kernel(spec).tag
        assert "/" not in tag and ":" not in tag and "=" not in tag and "," not in tag
    assert imgconv.load_kernel("sobel-x").tag == "sobel-x"


def test_kernel_error_is_a_usage_error() -> None:
    assert issubclass(KernelError, imgconv.UsageError)
    assert KernelError.exit_code == 2


# -- property: any text is a Kernel or a KernelError --------------------------------------
def _load_or_kernel_error(spec: str) -> None:
    try:
        result = imgconv.load_kernel(spec)
    except KernelError as error:
        assert error.exit_code == 2
        assert str(error)
        return
    assert isinstance(result, K.Kernel)
    assert np.all(np.isfinite(result.effective))


_TRICKY_VALUES = st.sampled_from(
    ["1e308", "1.7e308", "1e-320", "1e-200", "-0", "0", "1", "2", "513", "1e400", "nan", "inf", "-1", "0x10", "1_1", " 3 ", "9" * 30]
)
_VALUE_TEXT = st.one_of(
    _TRICKY_VALUES,
    _TRICKY_VALUES,
    st.text(max_size=12),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_PATHISH = st.text(alphabet=st.sampled_from("ab./~ :\x00\n-"), max_size=12)
_PARAM = st.builds(
    lambda key, eq, value: f"{key}{eq}{value}",
    st.one_of(st.sampled_from(["size", "sigma", "length", "angle", "radius", ""]), st.text(max_size=6)),
    st.sampled_from(["=", "=", "=", "", "==", ":"]),
    _VALUE_TEXT,
)
_NEAR_VALID = st.one_of(
    st.builds(
        lambda family, params, sep: family + ":" + sep.join(params),
        st.sampled_from(["gaussian", "box", "log", "motion", "edge", "sobel-x", "gauss"]),
        st.lists(_PARAM, max_size=3),
        st.sampled_from([",", ", ", ";"]),
    ),
    st.text(max_size=30).map(lambda t: "[[" + t),
    st.text(max_size=30).map(lambda t: "{" + t),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
        lambda children: st.lists(children, max_size=4),
        max_leaves=20,
    ).map(json.dumps),
    st.text(max_size=20).map(lambda t: t + ".json"),
    st.text(max_size=20).map(lambda t: "./" + t),
    _PATHISH,
    _PATHISH.map(lambda t: t + ".json"),
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_text_is_a_kernel_or_a_kernel_error(spec: str) -> None:
    _load_or_kernel_error(spec)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NEAR_VALID)
def test_near_valid_specs_are_a_kernel_or_a_kernel_error(spec: str) -> None:
    _load_or_kernel_error(spec)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6), min_size=1, max_size=6))
def test_random_rectangular_matrices_round_trip(rows: list[list[float]]) -> None:
    width = min(len(r) for r in rows)
    matrix = [r[:width] for r in rows]
    kernel = imgconv.load_kernel(json.dumps(matrix))
    np.testing.assert_array_equal(kernel.weights, np.array(matrix, dtype=np.float64))
    assert kernel.anchor == (width // 2, len(matrix) // 2)
    flipped = kernel.flipped()
    np.testing.assert_array_equal(flipped.weights, np.array(matrix)[::-1, ::-1])
    assert math.isfinite(kernel.sum)


def test_one_constructor_makes_the_type_its_arguments_describe() -> None:
    import pickle

    part = K.Kernel([[-1, 0, 1]])
    single = K.Kernel([[1, 2, 1]], divisor=4)
    channels = K.Kernel([[1]], channels=(K.Kernel([[1]]), K.Kernel([[2]])))
    mixed = K.Kernel([[1]], pointwise=[[0.5, 0.5, 0.0]])
    combined = K.Kernel(None, parts=(part, part.flipped()), combine="max")
    assert type(single) is K.Kernel and single.single
    assert isinstance(channels, K.ChannelKernels) and isinstance(mixed, K.ChannelKernels) and channels.per_channel
    assert isinstance(combined, K.CombinedKernel) and combined.combined and not combined.single
    for kernel in (single, channels, mixed, combined):
        again = pickle.loads(pickle.dumps(kernel))  # kernels travel to worker processes
        assert type(again) is type(kernel) and again.to_dict() == kernel.to_dict()
        assert type(kernel.flipped()) is type(kernel) and type(kernel.rotated(90)) is type(kernel)
    # each answers for itself: a combined kernel's reach is its parts' sum, by hand 2 + 2
    assert combined.reach(1) == 4.0 and channels.reach(10) == 20.0
    with pytest.raises(KernelError, match="first part"):
        K.CombinedKernel([[9, 9, 9]], parts=(part, part.flipped()), combine="max")
