"""--explain and --dry-run say what really runs.

The oracle is the run itself: a recording engine notes every call :func:`imgconv.apply`
makes (image shape, dtype, kernel, anchor, border, offset, float or not), and the
explanation must name exactly those calls, each with the engine's own description of it.
A dry run of a chain must report the sizes that the real run produces.
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
import imgconv.filtering as filtering
from imgconv.engines.numpy import NumpyEngine
from imgconv.options import FilterOptions


class Recorder:
    """The numpy engine, noting each call."""

    name = "numpy"

    def __init__(self) -> None:
        self.engine = NumpyEngine()
        self.calls: list[tuple] = []

    def correlate(self, image, spec, *, float_output):  # noqa: ANN001, ANN201
        self.calls.append(_key(image.shape, image.dtype, spec, float_output))
        return self.engine.correlate(image, spec, float_output=float_output)

    def explain(self, shape, dtype, spec, *, float_output=False):  # noqa: ANN001, ANN201
        return self.engine.explain(shape, dtype, spec, float_output=float_output)


def _key(shape, dtype, spec, float_output):  # noqa: ANN001, ANN202
    return (
        tuple(shape), np.dtype(dtype).name, spec.kernel.shape, spec.kernel.tobytes(), tuple(spec.anchor),
        spec.border.name, float(spec.border_value), float(spec.delta), bool(float_output),
    )


LUMA_EDGES = {"channels": ["sobel-x", "sobel-y", "laplacian"], "pointwise": [[0.299, 0.587, 0.114]]}
CASES = {
    "plain": ("edge", {}),
    "dilation": ("gaussian", {"dilation": (4, 2)}),
    "valid": ("sobel-x", {"padding": "valid"}),
    "full": ("sharpen", {"padding": "full", "border": "wrap"}),
    "numeric padding and stride": ("edge", {"padding": (2, 1), "stride": (2, 3)}),
    "transposed": ({"kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "divisor": 4}, {"transposed": True, "stride": 2}),
    "transposed, dilated, cropped": ("sobel-y", {"transposed": True, "stride": (3, 2), "dilation": 2, "padding": 1}),
    "per channel": ({"channels": ["sobel-x", "blur", "laplacian"]}, {}),
    "per channel, bgr": ({"channels": ["sobel-x", "blur", "laplacian"]}, {"channel_order": "bgr"}),
    "per channel, pointwise, stride": (LUMA_EDGES, {"stride": 2}),
    "combined": ("kirsch", {}),
    "combined, valid": ({"kernels": ["sobel-x", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]], "combine": "sum"}, {"padding": "valid"}),
    "premultiplied": ("gaussian:size=5,sigma=1", {"premultiply": True}),
    "convolve, float out": ("emboss", {"mode": "convolve", "depth": "float32"}),
    "gray, big kernel": ("gaussian:size=31,sigma=5", {"gray": True, "post": "abs"}),
    "offset, constant border": ({"kernel": [[1, -1]], "offset": 7}, {"border": "constant", "border_value": 9}),
}


def _image(alpha: bool) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (37, 45, 4 if alpha else 3), dtype=np.uint8)


@pytest.mark.parametrize("name", list(CASES))
def test_explain_names_every_engine_call_that_apply_makes(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel, settings = CASES[name]
    kernel = imgconv.load_kernel(json.dumps(kernel) if isinstance(kernel, dict) else kernel)
    options = FilterOptions(engine="numpy", **settings)
    image = _image(alpha=options.premultiply)
    recorder = Recorder()
    monkeypatch.setattr(filtering.planning, "get_engine", lambda _name: recorder)
    imgconv.apply(image, kernel, options)
    ran = sorted(recorder.calls)
    plan = filtering.plan(image, kernel, options)
    said = sorted(_key(c.shape, c.dtype, c.spec, c.float_output) for c in plan.engine_calls())
    assert said == ran
    line = filtering.explain(image, kernel, options)
    engine = NumpyEngine()
    for c in plan.engine_calls():
        assert engine.explain(c.shape, c.dtype, c.spec, float_output=c.float_output) in line


def test_explain_of_a_dilated_kernel_describes_the_dilated_one() -> None:
    # 5x5 gaussian spread 8 apart spans 33x33: the passes have 33 taps, not 5
    line = filtering.explain(np.zeros((64, 64), np.uint8), "gaussian", engine="numpy", dilation=8)
    assert "33 then 33 taps" in line and "(5 then 5" not in line


def test_explain_labels_channels_in_rgb_order_when_their_routes_differ() -> None:
    kernel = imgconv.load_kernel(json.dumps({"channels": ["sobel-x", "sobel-x", "laplacian"]}))
    for order in ("rgb", "bgr"):
        line = filtering.explain(_image(False), kernel, engine="numpy", channel_order=order)
        assert line.startswith("red and green: numpy: separable"), line
        assert "; blue: numpy: integer" in line, line


@pytest.mark.parametrize("name", list(CASES))
def test_result_like_has_the_shape_and_dtype_of_the_result(name: str) -> None:
    kernel, settings = CASES[name]
    kernel = imgconv.load_kernel(json.dumps(kernel) if isinstance(kernel, dict) else kernel)
    for alpha in (False, True):
        options = FilterOptions(**settings)
        if options.premultiply and not alpha:
            continue
        image = _image(alpha)
        out = imgconv.apply(image, kernel, options)
        like = filtering.plan(image, kernel, options).result_like()
        assert (like.shape, like.dtype) == (out.shape, out.dtype)


def _explained(stderr: bytes) -> str:
    return [line for line in stderr.decode().splitlines() if ": cv2: " in line or ": numpy: " in line][0]


@pytest.mark.parametrize(
    "chain, extra",
    [
        ("blur+sharpen+edge", ["--stride", "2"]),
        ("blur+sharpen", ["--padding", "valid"]),
        ("gaussian+edge", ["--transposed", "--stride", "2"]),
        (None, ["--depth", "uint16"]),  # a pointwise kernel to grey, then a second step
    ],
)
def test_a_dry_run_reports_the_sizes_the_real_run_makes(tmp_path: Path, chain: str | None, extra: list[str]) -> None:
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), _image(alpha=False)[:, :, :3])
    if chain is None:
        luma = tmp_path / "luma.json"
        luma.write_text(json.dumps(LUMA_EDGES))
        chain = f"{luma}+edge"
    out = tmp_path / "out.png"
    command = [sys.executable, "-m", "imgconv", "apply", chain, str(source), "-o", str(out), *extra]
    real = subprocess.run([*command, "--explain"], capture_output=True, timeout=120)
    dry = subprocess.run([*command, "--dry-run"], capture_output=True, timeout=120)
    assert real.returncode == 0 and dry.returncode == 0, (real.stderr, dry.stderr)
    shape = cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape
    real_line, dry_line = _explained(real.stderr), _explained(dry.stderr)
    assert real_line.split(": ", 1)[1] == dry_line.split(": ", 1)[1]  # after "in.png -> out.png" / "in.png"
    assert real_line.endswith(f"{shape[0]}x{shape[1]}")


def test_engine_both_explains_the_numpy_route_it_compares_with(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), _image(alpha=False)[:, :, :3])
    out = tmp_path / "out.png"
    proc = subprocess.run(
        [sys.executable, "-m", "imgconv", "apply", "sobel-x", str(source), "-o", str(out), "--engine", "both", "--explain"],
        capture_output=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    numpy_route = NumpyEngine().explain(
        (37, 45, 3), np.uint8, filtering.plan(_image(False), "sobel-x", FilterOptions()).spec
    )
    assert f"; compared with {numpy_route}; output 37x45" in _explained(proc.stderr)


def test_the_report_carries_each_steps_explanation_as_fields(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), _image(alpha=False)[:, :, :3])
    out, report = tmp_path / "out.png", tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "imgconv", "apply", "blur+sobel-x", str(source), "-o", str(out), "--engine", "both",
         "--stride", "2", "--explain", "--report", str(report)],
        capture_output=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(report.read_text())
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape[:2]
    blur, sobel = record["steps"]
    assert sobel["output"] == list(written)  # the oracle: the file written
    assert blur["output"] == [-(-37 // 2), -(-45 // 2)] and blur["extras"][0].startswith("stride 2x2")
    # the numpy engine's own account of the call it was compared with (the dilated, same-size call)
    spec = filtering.plan(_image(False), "sobel-x", FilterOptions()).spec
    numpy_route = NumpyEngine().explain(tuple(blur["output"]) + (3,), np.uint8, spec)
    assert sobel["compared_with"] == [{"route": numpy_route, "calls": [""]}]
    assert sobel["routes"][0]["route"].startswith("cv2: ")
    line = _explained(proc.stderr)
    assert line.endswith(f"{sobel['extras'][-1]}; compared with {numpy_route}") and " | " in line
