"""What a kernel does to frequencies (issue 19): the response's numbers against hand-computed
values and closed forms, and the figure of `imgconv kernels show --plot`, read back as a PNG."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imgconv
from imgconv.kernelplot import PANEL, ROW, WIDTH, compose_chain, panel_origin, zone_plate, zone_result
from imgconv.kernels import load_kernel, load_kernel_chain
from imgconv.kernels.response import axis_response, frequency_response, response_summary


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", "kernels", "show", *args], capture_output=True,
                          text=True, timeout=120)


def test_box_sobel_identity_by_hand() -> None:
    box = load_kernel("box:size=3").effective
    summary = response_summary(box)
    # H(u) = (1 + 2 cos 2 pi u) / 3: 1 at DC, -1/3 at Nyquist, 0 at u = 1/3
    assert summary["dc_gain"] == 1.0 and summary["nyquist_gain"] == {"horizontal": 0.333333, "vertical": 0.333333}
    assert axis_response(box, np.array([1 / 3]), "horizontal")[0] < 1e-12
    assert response_summary(load_kernel("sobel-x").effective)["dc_gain"] == 0.0
    identity = load_kernel("identity").effective
    assert np.allclose(frequency_response(identity), 1.0)  # passes every frequency alike
    assert response_summary(identity) == {"dc_gain": 1.0, "nyquist_gain": {"horizontal": 1.0, "vertical": 1.0},
                                          "half_power_frequency": {"horizontal": None, "vertical": None}}
    # the laplacian: -4 + 2 cos(2 pi u) + 2 at v = 0 is -4 at Nyquist; dilated by 2 its taps are
    # 2 pixels apart and the spectrum folds: 0 at Nyquist, as at DC
    assert response_summary(load_kernel("laplacian").effective)["nyquist_gain"]["horizontal"] == 4.0


def test_the_response_grid_is_the_kernels_dtft() -> None:
    weights = np.random.default_rng(1).standard_normal((5, 7))
    grid = frequency_response(weights)  # 128 x 128, centre (64, 64) is u = v = 0
    for i, j in ((64, 64), (0, 0), (70, 100), (127, 3)):
        v, u = (i - 64) / 128, (j - 64) / 128
        y, x = np.mgrid[0:5, 0:7]
        expect = abs(np.sum(weights * np.exp(-2j * np.pi * (u * x + v * y))))
        assert grid[i, j] == pytest.approx(expect, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0, 5.0])
def test_the_half_power_frequency_of_a_gaussian_is_the_closed_forms(sigma: float) -> None:
    # a Gaussian of sigma passes exp(-2 pi^2 sigma^2 f^2): half power at sqrt(ln 2) / (2 pi sigma)
    size = 2 * math.ceil(4 * sigma) + 1
    summary = response_summary(load_kernel(f"gaussian:size={size},sigma={sigma}").effective)
    closed = math.sqrt(math.log(2)) / (2 * math.pi * sigma)
    for axis in ("horizontal", "vertical"):
        assert summary["half_power_frequency"][axis] == pytest.approx(closed, rel=0.01)


def test_json_gains_the_responses_numbers() -> None:
    info = json.loads(cli("box:size=3", "--json").stdout)
    assert info["response"]["nyquist_gain"]["horizontal"] == 0.333333
    dilated = json.loads(cli("laplacian", "--dilation", "2", "--json").stdout)
    assert dilated["response"]["nyquist_gain"] == {"horizontal": 0.0, "vertical": 0.0}
    parts = json.loads(cli("sobel", "--json").stdout)["response"]
    assert [p["name"] for p in parts] == ["sobel-x", "sobel-y"] and all(p["dc_gain"] == 0.0 for p in parts)


@pytest.mark.parametrize("spec, rows", [("sharpen", 1), ("gaussian:size=31,sigma=5", 1), ("blur+sharpen", 1),
                                        ("sobel", 2), ("motion:length=9,angle=30", 1)])
def test_the_figure_is_a_png_of_the_documented_size(tmp_path: Path, spec: str, rows: int) -> None:
    path = tmp_path / "k.png"
    proc = cli(spec, "--plot", str(path))
    assert proc.returncode == 0, proc.stderr
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.mode == "RGB"
        assert picture.size == (WIDTH, ROW * (rows + 1))  # a row a kernel, one for the zone plate


@pytest.mark.parametrize("spec, dilation", [("blur", "1"), ("sobel-x", "1"), ("laplacian", "2"), ("sobel", "1"),
                                            ("blur+sharpen", "1")])
def test_the_zone_plate_panel_is_imgconv_apply_on_the_pattern(tmp_path: Path, spec: str, dilation: str) -> None:
    path = tmp_path / "k.png"
    assert cli(spec, "--plot", str(path), "--dilation", dilation).returncode == 0
    figure = np.asarray(Image.open(path).convert("L"))
    chain = load_kernel_chain(spec)
    rows = len(getattr(chain[0], "parts", ())) or 1 if len(chain) == 1 else 1
    y, x = panel_origin(rows, 1)
    pattern = zone_plate()
    expect = pattern
    for kernel in chain:
        zero_sum = abs(float(np.asarray(kernel.effective).sum())) < 1e-9 and kernel.single
        expect = imgconv.apply(expect, kernel, dilation=int(dilation), post="shift" if zero_sum else "clip")
    assert np.array_equal(figure[y : y + PANEL, x : x + PANEL], expect)
    assert np.array_equal(zone_result(chain, (int(dilation),) * 2), expect)
    y, x = panel_origin(rows, 0)
    assert np.array_equal(figure[y : y + PANEL, x : x + PANEL], pattern)


def test_a_chain_is_drawn_as_its_composed_kernel() -> None:
    chain = load_kernel_chain("box:size=3+box:size=3")
    composed = compose_chain(chain)
    assert composed.shape == (5, 5)
    expect = np.outer([1, 2, 3, 2, 1], [1, 2, 3, 2, 1]) / 81  # the box convolved with itself, by hand
    assert np.allclose(composed, expect)
