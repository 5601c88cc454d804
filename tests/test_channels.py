"""Per-channel ("channels") and channel-mixing ("pointwise") kernels: depthwise-separable
convolution in two halves. The oracle filters each channel on its own with cv2.filter2D
and mixes with numpy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import imgconv
from imgconv.errors import KernelError, UsageError
from imgconv.kernels import kernel_from_json

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
BLUR = np.ones((3, 3), np.float32) / 9
IDENTITY = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32)
RGB = np.random.default_rng(5).integers(0, 256, (17, 23, 3), dtype=np.uint8)


def test_each_channel_gets_its_own_kernel_in_rgb_order() -> None:
    kernel = kernel_from_json({"channels": ["sobel-x", "blur", [[0, 0, 0], [0, 1, 0], [0, 0, 0]]]})
    out = imgconv.apply(RGB, kernel)
    for index, weights in enumerate((SOBEL_X, BLUR, IDENTITY)):
        assert np.array_equal(out[:, :, index], cv2.filter2D(np.ascontiguousarray(RGB[:, :, index]), -1, weights))
    # the same kernel on the same picture stored BGR gives the same picture
    bgr = np.ascontiguousarray(RGB[:, :, ::-1])
    assert np.array_equal(imgconv.apply(bgr, kernel, channel_order="bgr")[:, :, ::-1], out)


def test_pointwise_mixes_channels_after_filtering() -> None:
    luma = [[0.299, 0.587, 0.114]]
    kernel = kernel_from_json({"channels": ["blur", "blur", "blur"], "pointwise": luma})
    out = imgconv.apply(RGB, kernel, depth="float32")
    blurred = cv2.filter2D(RGB, cv2.CV_32F, BLUR).astype(np.float64)
    expect = blurred @ np.array(luma[0])
    assert out.shape == RGB.shape[:2] and out.dtype == np.float32
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-3)
    rounded = imgconv.apply(RGB, kernel)
    assert rounded.dtype == np.uint8 and np.abs(rounded.astype(float) - expect).max() <= 0.5 + 1e-3


def test_pointwise_alone_swaps_channels_and_keeps_alpha() -> None:
    swap = kernel_from_json({"pointwise": [[0, 0, 1], [0, 1, 0], [1, 0, 0]]})
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 77, np.uint8)])
    out = imgconv.apply(rgba, swap)
    assert np.array_equal(out[:, :, :3], RGB[:, :, ::-1]) and np.all(out[:, :, 3] == 77)
    bgra = np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])
    out_bgr = imgconv.apply(bgra, swap, channel_order="bgr")
    assert np.array_equal(out_bgr[:, :, [2, 1, 0, 3]], out)


def test_convolve_flips_every_channel_kernel() -> None:
    kernel = kernel_from_json({"channels": [[[1, 2, 3]], [[0, 0, 1]], [[4, 0, 0]]]})
    out = imgconv.apply(RGB.astype(np.float32), kernel, mode="convolve")
    for index, row in enumerate(([3, 2, 1], [1, 0, 0], [0, 0, 4])):
        expect = cv2.filter2D(np.ascontiguousarray(RGB[:, :, index]).astype(np.float32), -1, np.array([row], np.float32))
        np.testing.assert_allclose(out[:, :, index], expect, rtol=1e-6)


def test_mismatches_are_clear_errors() -> None:
    three = kernel_from_json({"channels": ["blur", "blur", "blur"]})
    with pytest.raises(UsageError, match="3 channel kernels but the image has 1 colour channel"):
        imgconv.apply(RGB[:, :, 0].copy(), three)
    with pytest.raises(UsageError, match="premultiply"):
        imgconv.apply(np.dstack([RGB, RGB[:, :, 0]]), three, premultiply=True)
    with pytest.raises(KernelError, match="same size"):
        kernel_from_json({"channels": ["blur", "gaussian", "blur"]})
    with pytest.raises(KernelError, match="columns"):
        kernel_from_json({"channels": ["blur", "blur"], "pointwise": [[1, 1, 1]]})
    with pytest.raises(KernelError, match="1xC or 3xC"):
        kernel_from_json({"pointwise": [[1, 0], [0, 1]]})


def test_kernels_show_json_round_trips_and_cli_applies(tmp_path: Path) -> None:
    spec = {"name": "dw", "channels": ["sobel-x", "sobel-y", "blur"], "pointwise": [[1, 1, 1]]}
    path = tmp_path / "dw.json"
    path.write_text(json.dumps(spec))
    shown = subprocess.run([sys.executable, "-m", "imgconv", "kernels", "show", str(path), "--json"], capture_output=True)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert [c["name"] for c in info["channels"]] == ["sobel-x", "sobel-y", "blur"] and info["pointwise"] == [[1, 1, 1]]
    again = kernel_from_json(info)
    image_path = tmp_path / "in.png"
    cv2.imwrite(str(image_path), RGB[:, :, ::-1])  # on disk BGR, i.e. RGB in memory
    out_path = tmp_path / "out.png"
    proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", str(path), str(image_path), "-o", str(out_path)], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    written = cv2.imread(str(out_path), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(written, imgconv.apply(RGB, again))
