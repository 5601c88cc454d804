"""--engine auto (issue 18): the cv2 engine's result bit for bit, whichever engine it takes;
its choice follows the calibration; `imgconv bench KERNEL IMAGE` and `--calibrate`.

The oracle is the cv2 engine (cv2.filter2D itself, checked against scipy and by hand
elsewhere). The auto engine is run with calibrations that make it take the numpy engine
wherever it may, and the cv2 engine always, so that both of its branches are compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgconv
from imgconv.borders import BORDER_NAMES, get_border
from imgconv.engines import get_engine
from imgconv.engines.auto import AutoEngine
from imgconv.engines.base import CorrelationSpec
from imgconv.engines.calibration import BUILT_IN, DTYPES, Calibration, save
from imgconv.engines.opencv import OpenCVEngine

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "chelsea.png"
# numpy estimated a thousand times as fast, or a thousand times as slow, as its model says
NUMPY_FIRST = replace(BUILT_IN, numpy_scale={name: 1e-3 for name in DTYPES}, source="numpy first")
CV2_FIRST = replace(BUILT_IN, numpy_scale={name: 1e3 for name in DTYPES}, source="cv2 first")
CV2 = OpenCVEngine()


def _image(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        return (rng.standard_normal(shape) * 50).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


@st.composite
def calls(draw: st.DrawFn) -> tuple[np.ndarray, CorrelationSpec, bool]:
    dtype = draw(st.sampled_from(["uint8", "uint16", "float32", "float64"]))
    channels = draw(st.sampled_from([1, 2, 3, 4]))
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    shape = (height, width) if channels == 1 else (height, width, channels)
    rows, cols = draw(st.integers(1, 13)), draw(st.integers(1, 13))  # up to 169 cells: OpenCV's DFT too
    kind = draw(st.sampled_from(["integers", "gaussian-like", "random", "box"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "integers":
        weights = rng.integers(-3, 4, (rows, cols)).astype(np.float32)
    elif kind == "gaussian-like":
        weights = np.outer(rng.random(rows) + 0.1, rng.random(cols) + 0.1).astype(np.float32)
        weights /= weights.sum()
    elif kind == "box":
        weights = np.full((rows, cols), 1 / (rows * cols), np.float32)
    else:
        weights = (rng.standard_normal((rows, cols)) / np.sqrt(rows * cols)).astype(np.float32)
    anchor = (draw(st.integers(0, cols - 1)), draw(st.integers(0, rows - 1)))
    border = draw(st.sampled_from(BORDER_NAMES))
    spec = CorrelationSpec(weights, anchor, get_border(border), border_value=draw(st.sampled_from([0.0, 7.0])),
                           delta=draw(st.sampled_from([0.0, 0.5, -3.0])))
    return _image(shape, dtype, draw(st.integers(0, 99))), spec, draw(st.booleans())


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls())
def test_auto_gives_the_cv2_engines_result_bit_for_bit(call: tuple[np.ndarray, CorrelationSpec, bool]) -> None:
    image, spec, float_output = call
    expect = CV2.correlate(image, spec, float_output=float_output)
    for calibration in (NUMPY_FIRST, CV2_FIRST):
        out = AutoEngine(calibration).correlate(image, spec, float_output=float_output)
        assert out.dtype == expect.dtype and out.shape == expect.shape
        assert np.array_equal(out, expect, equal_nan=True), (calibration.source, spec.kernel.shape, image.dtype)


@pytest.mark.parametrize("options", [{}, {"stride": 2}, {"dilation": 2, "padding": "valid"}, {"post": "abs"},
                                     {"depth": "uint16"}, {"premultiply": True}, {"mode": "convolve"},
                                     {"transposed": True, "stride": "2x3"}, {"border": "wrap"}])
@pytest.mark.parametrize("kernel", ["sharpen", "gaussian:size=9,sigma=2", "sobel", "box:size=7", "emboss",
                                    "gaussian:size=31,sigma=5"])
def test_through_imgconv_apply_with_every_option(kernel: str, options: dict) -> None:
    image = _image((45, 38, 4), "uint8", 3)
    try:
        expect = imgconv.apply(image, kernel, engine="cv2", **options)
    except imgconv.UsageError as error:  # --premultiply with a zero-sum or combined kernel
        with pytest.raises(imgconv.UsageError, match=str(error)[:30]):
            imgconv.apply(image, kernel, **options)
        return
    out = imgconv.apply(image, kernel, **options)  # the default engine is auto
    assert np.array_equal(out, expect)


def test_where_numpy_may_run_and_where_only_cv2_may() -> None:
    auto = AutoEngine(NUMPY_FIRST)

    def takes(dtype: str, size: int, float_output: bool = False) -> str:
        spec = CorrelationSpec(np.full((size, size), 1 / size**2, np.float32), (size // 2, size // 2),
                               get_border("reflect101"))
        return auto.choice((64, 64), np.dtype(dtype), spec, float_output=float_output).engine.name

    assert takes("uint8", 11) == "numpy"  # 121 cells: OpenCV's direct sums, which numpy reproduces
    assert takes("uint8", 13) == "cv2"  # 169: OpenCV's DFT
    assert takes("uint16", 7) == "numpy" and takes("uint16", 8) == "cv2"  # 49 and 64 cells
    assert takes("float64", 7) == "numpy" and takes("float64", 9) == "cv2"
    assert takes("float32", 3) == "cv2" and takes("uint8", 3, float_output=True) == "cv2"
    assert takes("uint8", 3) == "numpy" and AutoEngine(CV2_FIRST).choice(
        (64, 64), np.dtype("uint8"), CorrelationSpec(np.ones((3, 3), np.float32), (1, 1), get_border("wrap"))
    ).engine.name == "cv2"


def test_the_choice_is_deterministic_and_said() -> None:
    spec = CorrelationSpec(np.full((9, 9), 1 / 81, np.float32), (4, 4), get_border("reflect101"))
    def decided() -> tuple:
        choice = AutoEngine().choice((2048, 2048), np.dtype("uint8"), spec)
        return choice.engine.name, choice.estimates, choice.reason

    first = decided()
    assert all(decided() == first for _ in range(3))
    line = AutoEngine().explain((2048, 2048), np.dtype("uint8"), spec)
    assert line.startswith(f"auto: {first[0]}: ") and "estimated cv2 " in line and "built-in costs" in line


def cli(*args: str, calibration: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if calibration is not None:
        env["IMGCONV_CALIBRATION"] = str(calibration)
    return subprocess.run([sys.executable, "-m", "imgconv", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def test_the_choice_follows_the_calibration_file(tmp_path: Path) -> None:
    kernel = "gaussian:size=9,sigma=2"
    expect = imgconv.apply(imgconv.read_image(SAMPLE), kernel, engine="cv2")
    for calibration, engine in ((NUMPY_FIRST, "numpy"), (CV2_FIRST, "cv2")):
        path = save(calibration, tmp_path / f"{engine}.json")
        proc = cli("apply", kernel, str(SAMPLE), "-o", str(tmp_path / f"{engine}.png"), "--explain", calibration=path)
        assert proc.returncode == 0, proc.stderr
        assert f"auto: {engine}: " in proc.stderr and f"; {path} costs)" in proc.stderr, proc.stderr
        assert np.array_equal(imgconv.read_image(tmp_path / f"{engine}.png"), expect)


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "filter2d_ns": {"uint8": [1, 2]}}',
                                     '{"version": 7}', "[]", '\udcff'])
def test_a_corrupt_calibration_file_is_ignored_with_one_warning(tmp_path: Path, content: str) -> None:
    path = tmp_path / "calibration.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    proc = cli("apply", "sharpen", str(SAMPLE), "-o", str(tmp_path / "out.png"), "--explain", calibration=path)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"imgconv: warning: {path}: not a calibration file")
    assert "built-in costs" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(ValueError):
        Calibration.from_json(json.loads(content) if content.startswith(("[", '{"')) else None, str(path))


def test_bench_on_the_users_own_case_and_its_json(tmp_path: Path) -> None:
    proc = cli("bench", "gaussian:size=9,sigma=2", str(SAMPLE), "--budget", "0.05", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["shape"] == [300, 451, 3] and report["dtype"] == "uint8"
    routes = {r["route"]: r for r in report["routes"]}
    assert {"auto", "cv2", "numpy shift", "numpy separable", "numpy matmul", "numpy fft"} <= set(routes)
    assert routes["cv2"]["exact"] and routes["auto"]["exact"] and routes["cv2"]["differing"] == 0
    assert routes["auto"]["explain"].startswith("auto: ")
    assert not routes["numpy integer"]["runs"] and "whole numbers" in routes["numpy integer"]["why"]
    ran = [r for r in report["routes"] if r["runs"]]
    assert min(r["ratio"] for r in ran) == 1.0 and [r["ms"] for r in ran] == sorted(r["ms"] for r in ran)
    table = cli("bench", "gaussian:size=31,sigma=5", str(SAMPLE), "--budget", "0.05")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split()[:4] == ["route", "ms", "x", "fastest"]
    fft = next(line for line in lines if line.startswith("numpy fft"))
    assert " no (" in fft or " yes " in fft  # OpenCV's DFT noise: a few values may differ
    auto = next(line for line in lines if line.startswith("auto"))
    assert "auto: cv2: " in auto and "DFT noise" in auto
    assert cli("bench", "sharpen").returncode == 2  # KERNEL without IMAGE


def test_calibrate_writes_a_file_auto_then_uses(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "calibration.json"
    proc = cli("bench", "--calibrate", calibration=path)
    assert proc.returncode == 0, proc.stderr
    stored = Calibration.from_json(json.loads(path.read_text()), str(path))
    assert all(0 < stored.filter2d_ns[name][1] <= stored.filter2d_ns[name][0] * 1.5 for name in DTYPES)
    again = cli("apply", "sharpen", str(SAMPLE), "-o", str(tmp_path / "o.png"), "--explain", calibration=path)
    assert again.returncode == 0 and f"; {path} costs)" in again.stderr


def test_the_python_default_follows_the_clis() -> None:
    assert imgconv.FilterOptions().engine == "auto" and get_engine("auto").name == "auto"


def test_a_batch_warns_of_a_corrupt_calibration_once_not_per_worker(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        (folder / f"c{i}.png").write_bytes(SAMPLE.read_bytes())
    path = tmp_path / "calibration.json"
    path.write_text("{bad")
    proc = cli("apply", "sharpen", str(folder), "-o", str(tmp_path / "out"), "--workers", "2", calibration=path)
    assert proc.returncode == 0, proc.stderr
    assert sum("warning" in line for line in proc.stderr.splitlines()) == 1, proc.stderr
    assert len(list((tmp_path / "out").iterdir())) == 4
