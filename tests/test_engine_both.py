"""apply --engine both: the cv2 result is written, the numpy engine is compared with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

import imgconv

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", "apply", *args], capture_output=True, timeout=120)


def test_agreeing_engines_exit_0_with_one_line_each(tmp_path: Path) -> None:
    src = tmp_path / "camera.png"
    shutil.copy(SAMPLES / "camera.png", src)
    proc = run("sobel-x", str(src), "-o", str(tmp_path / "out.png"), "--engine", "both")
    assert proc.returncode == 0 and proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert lines[0] == f"{src}: engines agree (cv2 vs numpy): max_abs 0, 0 pixels differ (0.00e+00); tolerance 1"
    image = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    expect = cv2.filter2D(image, -1, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32))
    assert np.array_equal(cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED), expect)


def test_a_difference_beyond_the_tolerance_exits_1_but_writes_the_cv2_result(tmp_path: Path) -> None:
    # a 31x31 Gaussian: OpenCV switches to a float32 DFT, whose noise moves a few pixels
    # across a rounding boundary; the numpy engine computes them exactly
    src = SAMPLES / "astronaut.png"
    kernel = "gaussian:size=31,sigma=5"
    image = imgconv.read_image(src)
    a = imgconv.apply(image, kernel, engine="cv2").astype(int)
    b = imgconv.apply(image, kernel, engine="numpy").astype(int)
    differing = int(np.count_nonzero(np.any(a != b, axis=2)))
    assert 0 < differing and np.abs(a - b).max() == 1  # the premise of this test
    out = tmp_path / "soft.png"
    report = tmp_path / "r.json"
    proc = run(kernel, str(src), "-o", str(out), "--engine", "both", "--tolerance", "0", "--report", str(report))
    assert proc.returncode == 1
    assert "ENGINES DIFFER" in proc.stderr.decode() and "Traceback" not in proc.stderr.decode()
    assert np.array_equal(imgconv.read_image(out), a.astype(np.uint8))  # the cv2 result
    (record,) = json.loads(report.read_text())
    assert record["engine"] == "both" and record["status"] == "done"
    assert record["comparison"]["differing_pixels"] == differing and record["comparison"]["agree"] is False
    assert record["comparison"]["engines"] == ["cv2", "numpy"]  # which engines were compared
    again = run(kernel, str(src), "-o", str(tmp_path / "soft2.png"), "--engine", "both")  # default: 1 level
    assert again.returncode == 0 and "engines agree" in again.stderr.decode()


def test_the_library_compares_the_engine_written_with_the_one_named(tmp_path: Path) -> None:
    # "both" is the CLI's word; the library compares FilterOptions.engine with compare_with
    import pytest

    from imgconv.batch import Job, JobSettings, run_job
    from imgconv.options import FilterOptions

    src, out = SAMPLES / "camera.png", tmp_path / "out.png"
    settings = JobSettings(compare_with="cv2")
    result = run_job(Job(str(src), str(out)), [imgconv.load_kernel("sobel-x")], FilterOptions(engine="numpy"), settings)
    assert result.status == "done", result.error
    assert result.comparison["engines"] == ["numpy", "cv2"] and result.comparison["agree"] is True
    assert np.array_equal(imgconv.read_image(out), imgconv.apply(imgconv.read_image(src), "sobel-x", engine="numpy"))
    with pytest.raises(imgconv.UsageError, match="unknown engine 'both'"):
        JobSettings(compare_with="both")


def test_tolerance_without_both_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("edge", str(SAMPLES / "camera.png"), "-o", str(tmp_path / "x.png"), "--tolerance", "1")
    assert proc.returncode == 2 and proc.stderr.decode() == "imgconv: --tolerance goes with --engine both\n"
    assert not (tmp_path / "x.png").exists()


def test_float_results_are_compared_relatively() -> None:
    from imgconv.batch import compare_engines

    a = np.array([[1000.0, 0.5]], np.float32)
    assert compare_engines(a, a * np.float32(1 + 5e-6))["agree"] is True  # 5e-6 relative
    assert compare_engines(a, a * np.float32(1 + 5e-5))["agree"] is False  # 0.05 at 1000
    assert compare_engines(a, a + np.float32([[0, 5e-6]]))["agree"] is True  # near 0: 1e-5 absolute


def test_float_results_are_relative_to_what_the_sums_reach() -> None:
    from imgconv.batch import compare_engines

    # a zero-sum kernel on a flat area: results near 0 from terms of up to 1e4
    a = np.array([[0.25, -0.5, 3000.0]], np.float32)
    off = a + np.float32([[2e-3, -2e-3, 0]])
    assert compare_engines(a, off)["agree"] is False  # 1e-2 relative to max(1, |a|)
    assert compare_engines(a, off, scale=1e4)["agree"] is True  # 2e-7 of the sums' reach
    assert compare_engines(a, a + np.float32([[0.5, 0, 0]]), scale=1e4)["agree"] is False  # 5e-5: a real difference
    assert compare_engines(a, a * np.float32(1 + 5e-5), scale=10.0)["agree"] is False  # 0.15 at 3000


def test_reach_bounds_every_result_and_is_attained() -> None:
    rng = np.random.default_rng(3)
    for spec in ("log:size=9,sigma=1.4", '{"kernel": [[1, -2], [3, 0.5]], "divisor": 2, "offset": -4}', "sharpen"):
        kernel = imgconv.load_kernel(spec)
        weights = kernel.effective
        reach = kernel.reach(255)
        # the sign pattern of the weights, spread so that one output pixel sees all of it
        rows, cols = weights.shape
        image = np.zeros((3 * rows, 3 * cols), np.float32)
        image[rows : 2 * rows, cols : 2 * cols] = 255 * np.sign(weights) * np.sign(kernel.offset or 1)
        out = imgconv.apply(image, kernel, border="constant")
        np.testing.assert_allclose(np.abs(out).max(), reach, rtol=1e-6)
        noisy = rng.integers(0, 256, (40, 40), dtype=np.uint8)
        assert np.abs(imgconv.apply(noisy, kernel, depth="float32")).max() <= reach + 1e-3


def test_engine_both_agrees_on_float_results_of_large_and_zero_sum_kernels(tmp_path: Path) -> None:
    # OpenCV's float32 DFT (31x31 on uint8) leaves ~1e-4 of noise even where the result is
    # ~0, and a Laplacian of Gaussian on 16-bit pixels cancels sums of ~1e5: both were
    # reported as ENGINES DIFFER (exit 1) though each engine is within float32 rounding
    image = cv2.imread(str(SAMPLES / "astronaut.png"))
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), image.astype(np.uint16) * 257)
    for kernel, src in (("gaussian:size=31,sigma=4", SAMPLES / "astronaut.png"), ("log:size=9,sigma=1.4", deep),
                        ("[[0.1,-0.3],[0.25,-0.05]]", deep)):
        for post in ("clip", "stretch"):  # stretched: relative to the stretched range
            proc = run(kernel, str(src), "-o", str(tmp_path / "out.tiff"), "--overwrite", "--engine", "both",
                       "--depth", "float32", "--post", post)
            assert proc.returncode == 0, proc.stderr
            assert "engines agree" in proc.stderr.decode()
