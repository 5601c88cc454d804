"""Hostile and broken kernels at the command line: the contract a user meets.

For every bad kernel -- a file (generated here, in ``tmp_path``), an inline spec, a system
path -- ``imgconv apply KERNEL in.png -o out.png`` and ``imgconv kernels show KERNEL`` must
exit 2 (an invalid kernel is a usage error) with exactly one line on stderr,
``imgconv: <the kernel file as given>: <reason>``, nothing on stdout, no traceback, no output
file and every file left as it was. The few that are valid (a UTF-8 BOM, a bare matrix,
even sizes) must give what OpenCV gives. A bad kernel in batch mode fails before any image
is touched.

The CLI runs in this process (``imgconv.cli.main``); the library-level checks of the same
loader are in ``tests/test_kernels.py``.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from imgconv import kernels as K
from imgconv.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGCONV_DEBUG", raising=False)  # it would turn internal errors into tracebacks


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """A 12x16 BGR crop of the cat with real texture (not a flat patch)."""
    image = cv2.imread(str(SAMPLES / "chelsea.png"), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(image[100:112, 150:166])


@pytest.fixture
def image(tmp_path: Path, crop: np.ndarray) -> Path:
    path = tmp_path / "in.png"
    ok, data = cv2.imencode(".png", crop)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """``imgconv ARGV`` in this process: (exit code, stdout, stderr).

    A Python warning would be one more stderr line in a real run (pytest would swallow it
    here), so none may be raised; deprecation warnings are hidden from users by default.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(list(argv))
    captured = capsys.readouterr()
    shown = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not shown, [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in shown]
    return code, captured.out, captured.err


def decoded(path: Path) -> np.ndarray:
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file under ``folder`` (folders as None) with its bytes."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def assert_usage_error(code: int, out: str, err: str, prefix: str, fragments: tuple[str, ...]) -> None:
    assert "Traceback" not in out + err
    assert code == 2, err
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(prefix), (prefix, err)
    reason = err[len(prefix) :]  # not the file name, which may hold the same words
    for fragment in fragments:
        assert fragment in reason, (fragment, err)


def refused_everywhere(capsys, tmp_path: Path, image: Path, spec: str, prefix: str, *fragments: str) -> str:
    """apply and kernels show both refuse ``spec`` as the contract says; returns the line."""
    before = snapshot(tmp_path)
    out_png = tmp_path / "out.png"
    code, out, err = run(capsys, "apply", spec, str(image), "-o", str(out_png))
    assert_usage_error(code, out, err, prefix, fragments)
    assert not out_png.exists()
    assert snapshot(tmp_path) == before  # input, kernel file untouched; no temporary left
    code, out, show_err = run(capsys, "kernels", "show", spec)
    assert_usage_error(code, out, show_err, prefix, fragments)
    assert snapshot(tmp_path) == before
    return err


# -- kernel files -----------------------------------------------------------------------------
def _deep() -> bytes:
    return b"[" * 100000 + b"]" * 100000


# name -> (file contents, fragments of the reason)
BAD_FILES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "empty": (b"", ("empty",)),
    "whitespace-only": (b"  \n\t \r\n ", ("empty",)),
    "invalid-json": (b'{"kernel": [[1, 2', ("invalid JSON", "line 1")),
    "trailing-comma-row": (b'{"kernel": [[1, 2,], [3, 4]]}', ("invalid JSON", "trailing comma")),
    "trailing-comma-object": (b'{"kernel": [[1, 2]],\n}', ("invalid JSON", "line 2", "trailing comma")),
    "line-comment": (b'// my kernel\n{"kernel": [[1]]}', ("invalid JSON", "comment")),
    "block-comment": (b'{"kernel": [[1, /* centre */ 2]]}', ("invalid JSON", "comment")),
    "utf16-le": ('\ufeff{"kernel": [[1]]}'.encode("utf-16-le"), ("not UTF-8", "UTF-16")),
    "utf16-be": ('\ufeff{"kernel": [[1]]}'.encode("utf-16-be"), ("not UTF-8", "UTF-16")),
    "nan": (b'{"kernel": [[1, NaN]]}', ("NaN", "finite")),
    "infinity": (b'{"kernel": [[Infinity]]}', ("Infinity", "finite")),
    "minus-infinity": (b'{"kernel": [[1], [-Infinity]]}', ("-Infinity", "finite")),
    "1e309": (b'{"kernel": [[1, 1e309]]}', ("row 1 column 2", "not a finite float32")),
    "float32-overflow": (b'{"kernel": [[3.5e38]]}', ("3.5e+38", "float32")),
    "float32-negative-overflow": (b"[[1, 2], [3, -1e39]]", ("row 2 column 2", "-1e+39", "float32")),
    "5000-digits": (b"[[" + b"7" * 5000 + b"]]", ("5000 digits", "float32")),
    "string-value": (b'[[1, "2"]]', ("row 1 column 2", "string")),
    "boolean-value": (b"[[true, 0]]", ("row 1 column 1", "boolean")),
    "null-value": (b"[[0, 1], [null, 0]]", ("row 2 column 1", "null")),
    "ragged": (b"[[1, 2, 3], [4, 5]]", ("not rectangular", "row 2 has 2")),
    "empty-row": (b"[[]]", ("row 1 is empty",)),
    "second-row-empty": (b"[[1], []]", ("row 2 is empty",)),
    "1-d": (b"[1, 2, 1]", ("2-D", "[[1, 2, 1]]")),
    "3-d": (b"[[[1, 2], [3, 4]]]", ("3-D",)),
    "top-level-number": (b"5", ("JSON object", "number")),
    "top-level-string": (b'"edge"', ("JSON object", "string")),
    "duplicate-keys": (b'{"kernel": [[1]], "divisor": 2, "kernel": [[2]]}', ("duplicate key 'kernel'",)),
    "normalize-as-string": (b'{"kernel": [[1, 1]], "normalize": "false"}', ("normalize", "true or false", "string")),
    "zero-sum-normalize": (b'{"kernel": [[-1, 0, 1]], "normalize": true}', ("normalize", "sums to 0")),
    "anchor-outside": (b'{"kernel": [[1, 2, 1]], "anchor": [3, 0]}', ("anchor [3, 0]", "outside")),
    "1001x1001": (json.dumps([[0] * 1001] * 1001).encode(), ("1001x1001", "512x512")),
    "deep-nesting": (_deep(), ("invalid JSON", "nested too deeply")),
    # found by tools/fuzz.py: weights / divisor beyond float32 crashed the engines (exit 1)
    "tiny-divisor": (b'{"kernel": [[3e38]], "divisor": 1e-300}', ("divisor 1e-300", "float32")),
    "nested-combined": (
        b'{"kernels": [' * 300 + b"[[1]]" + b', [[1]]], "combine": "sum"}' * 300,
        ("kernel 1 cannot have", "of its own"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_kernel_file_is_a_one_line_usage_error(case: str, tmp_path: Path, image: Path, capsys) -> None:
    data, fragments = BAD_FILES[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(data)
    refused_everywhere(capsys, tmp_path, image, str(path), f"imgconv: {path}: ", *fragments)


def test_a_50_mb_kernel_file_is_refused_by_its_size_without_parsing(
    tmp_path: Path, image: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:  # valid JSON: one number and 50 MB of spaces
        handle.write(b"[[1]]")
        handle.write(b" " * (50 * 2**20))

    def never(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a file over the cap was parsed")

    monkeypatch.setattr(K.files, "parse_json", never)
    started = time.perf_counter()
    refused_everywhere(capsys, tmp_path, image, str(path), f"imgconv: {path}: ", "16 MiB", str(50 * 2**20 + 5))
    assert time.perf_counter() - started < 5


def test_a_kernel_file_name_with_a_newline_stays_on_one_line(tmp_path: Path, image: Path, capsys) -> None:
    path = tmp_path / "two\nlines.json"
    path.write_bytes(b"[[1, 2], [3]]")
    shown = str(path).replace("\n", "\\n")
    refused_everywhere(capsys, tmp_path, image, str(path), f"imgconv: {shown}: ", "not rectangular")


# -- valid files that look odd ----------------------------------------------------------------
BINOMIAL = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]


def test_utf8_bom_is_accepted_and_gives_the_inline_result(tmp_path: Path, image: Path, crop: np.ndarray, capsys) -> None:
    spec = {"kernel": BINOMIAL, "divisor": 16}
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(spec).encode())
    code, out, err = run(capsys, "apply", str(path), str(image), "-o", str(tmp_path / "bom.png"))
    assert (code, out) == (0, ""), err
    code, out, err = run(capsys, "apply", json.dumps(spec), str(image), "-o", str(tmp_path / "inline.png"))
    assert (code, out) == (0, ""), err
    result = decoded(tmp_path / "bom.png")
    assert np.array_equal(result, decoded(tmp_path / "inline.png"))
    weights = np.array(BINOMIAL, np.float32) / 16  # dyadic: exact in float32
    assert np.array_equal(result, cv2.filter2D(crop, -1, weights, borderType=cv2.BORDER_REFLECT_101))
    code, out, err = run(capsys, "kernels", "show", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["kernel"] == BINOMIAL


def test_top_level_list_is_a_bare_matrix(tmp_path: Path, image: Path, crop: np.ndarray, capsys) -> None:
    path = tmp_path / "shift.json"
    path.write_bytes(b"[[0, 0, 0], [0, 0, 1], [0, 0, 0]]")  # correlation: out(y, x) = in(y, x + 1)
    out_png = tmp_path / "out.png"
    code, out, err = run(capsys, "apply", str(path), str(image), "-o", str(out_png))
    assert (code, out) == (0, ""), err
    expected = np.concatenate([crop[:, 1:], crop[:, -2:-1]], axis=1)  # reflect101: past the edge is column -2
    assert np.array_equal(decoded(out_png), expected)
    code, out, err = run(capsys, "kernels", "show", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["anchor"] == [1, 1]


@pytest.mark.parametrize(
    "weights,divisor",
    [
        ([[1, 2], [3, 2]], 8),
        ([[1, 2, 3, 2], [2, 3, 1, 2], [3, 1, 2, 3], [1, 2, 3, 1]], 32),
    ],
    ids=["2x2", "4x4"],
)
def test_even_sizes_take_the_opencv_default_anchor(weights, divisor, tmp_path: Path, image: Path, crop: np.ndarray, capsys) -> None:
    path = tmp_path / "even.json"
    path.write_text(json.dumps({"kernel": weights, "divisor": divisor}))
    out_png = tmp_path / "out.png"
    code, out, err = run(capsys, "apply", str(path), str(image), "-o", str(out_png))
    assert (code, out) == (0, ""), err
    kernel = np.array(weights, np.float32) / divisor  # dyadic, so exact
    expected = cv2.filter2D(crop, -1, kernel, anchor=(-1, -1), borderType=cv2.BORDER_REFLECT_101)
    assert np.array_equal(decoded(out_png), expected)
    # and that is not what the other candidate anchor, (0, 0), gives on this image
    other = cv2.filter2D(crop, -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_REFLECT_101)
    assert not np.array_equal(expected, other)
    code, out, err = run(capsys, "kernels", "show", str(path), "--json")
    assert code == 0, err
    side = len(weights)
    assert json.loads(out)["anchor"] == [side // 2, side // 2]


# -- system paths -----------------------------------------------------------------------------
def test_relative_path_to_etc_passwd(tmp_path: Path, image: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/usr/lib")  # two levels below /
    exists = Path("/etc/passwd").is_file()
    reason = "invalid JSON" if exists else "no such kernel file"
    err = refused_everywhere(capsys, tmp_path, image, "../../etc/passwd", "imgconv: ../../etc/passwd: ", reason)
    assert "root:" not in err  # the file's contents are not echoed


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("/etc/passwd", "invalid JSON" if Path("/etc/passwd").is_file() else "no such kernel file"),
        ("/dev/zero", "not a regular file"),
        ("/dev/null", "not a regular file"),
    ],
)
def test_system_files(spec: str, fragment: str, tmp_path: Path, image: Path, capsys) -> None:
    before = Path(spec).read_bytes() if Path(spec).is_file() else None
    started = time.perf_counter()
    err = refused_everywhere(capsys, tmp_path, image, spec, f"imgconv: {spec}: ", fragment)
    assert "root:" not in err
    assert (Path(spec).read_bytes() if Path(spec).is_file() else None) == before
    assert time.perf_counter() - started < 5  # /dev/zero is not read until a cap


@pytest.mark.parametrize("slash", ["", "/"])
def test_a_folder(slash: str, tmp_path: Path, image: Path, capsys) -> None:
    folder = tmp_path / "kernels.json"
    folder.mkdir()
    spec = str(folder) + slash
    refused_everywhere(capsys, tmp_path, image, spec, f"imgconv: {spec}: ", "folder")


# -- inline specs -----------------------------------------------------------------------------
BAD_SPECS = {
    "[[1,2],[3]]": ("imgconv: inline kernel: ", ("not rectangular",)),
    "[[NaN]]": ("imgconv: inline kernel: ", ("NaN", "finite")),
    "[]": ("imgconv: inline kernel: ", ("empty",)),
    "[[1,2],\n[3]]": ("imgconv: inline kernel: ", ("not rectangular",)),
    "gaussian:size=4": ("imgconv: gaussian: ", ("size", "odd", "4")),
    "gaussian:size=1000001": ("imgconv: gaussian: ", ("size", "1..512", "1000001")),
    "box:size=-3": ("imgconv: box: ", ("size", "1..512", "-3")),
    "nosuchkernel": ("imgconv: unknown kernel 'nosuchkernel'", ("known: ", "edge")),
    "ed\nge": ("imgconv: unknown kernel 'ed\\nge'", ("did you mean 'edge'",)),
    # found by tools/fuzz.py: OverflowError (exit 1) and numpy warnings on stderr
    "log:sigma=1e100": ("imgconv: log: ", ("sigma 1e+100", "too large")),
    "log:sigma=1e-200": ("imgconv: log: ", ("sigma 1e-200", "too small")),
}


@pytest.mark.parametrize("spec", list(BAD_SPECS), ids=[repr(s) for s in BAD_SPECS])
def test_bad_inline_spec_is_a_one_line_usage_error(spec: str, tmp_path: Path, image: Path, capsys) -> None:
    prefix, fragments = BAD_SPECS[spec]
    refused_everywhere(capsys, tmp_path, image, spec, prefix, *fragments)


def test_imagemagick_sizes_with_thousands_of_leading_zeros(capsys) -> None:
    # found by tools/fuzz.py: int() refuses strings of over 4300 digits (ValueError, exit 1)
    spec = "0" * 5000 + "3x1: 1, 2, 1"
    code, out, err = run(capsys, "kernels", "show", spec, "--json")
    assert (code, err) == (0, "")
    info = json.loads(out)
    assert (info["kernel"], info["anchor"]) == ([[1, 2, 1]], [1, 0])


# -- batch mode -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["file", "inline", "name", "device"])
def test_a_bad_kernel_fails_a_batch_up_front(kind: str, tmp_path: Path, crop: np.ndarray, capsys) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        ok, data = cv2.imencode(".png", np.roll(crop, i, axis=1))
        (photos / f"p{i}.png").write_bytes(data.tobytes())
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"kernel": [[1, NaN]]}')
    spec, prefix = {
        "file": (str(bad), f"imgconv: {bad}: "),
        "inline": ("[[1,2],[3]]", "imgconv: inline kernel: "),
        "name": ("nosuchkernel", "imgconv: unknown kernel"),
        "device": ("/dev/zero", "imgconv: /dev/zero: "),
    }[kind]
    before = snapshot(tmp_path)
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "apply", spec, str(photos), "-o", str(out_dir), "-j", "2")
    assert_usage_error(code, out, err, prefix, ())
    assert not out_dir.exists()
    assert snapshot(tmp_path) == before


# -- valid kernels the engines once choked on (found by tools/fuzz.py) ---------------------
def saturated(crop: np.ndarray) -> np.ndarray:
    """What a huge positive weight gives a uint8 image: 255 wherever the pixel is not 0."""
    return np.where(crop > 0, 255, 0).astype(np.uint8)


def test_huge_whole_number_weights_are_shown(capsys) -> None:
    code, out, err = run(capsys, "kernels", "show", "[[1e19]]", "--json")  # valid: fits float32, >= 2**63
    assert (code, err) == (0, "")
    info = json.loads(out)
    assert (info["kernel"], info["sum"], info["separable"]) == ([[10**19]], 10**19, True)


@pytest.mark.parametrize("spec", ["[[1e19]]", "[[0, 0, 0], [0, 3e38, 0], [0, 0, 0]]"])
def test_huge_whole_number_weights_are_filtered_by_the_numpy_engine(spec: str, tmp_path: Path, image: Path, crop: np.ndarray, capsys) -> None:
    out_png = tmp_path / "out.png"
    code, out, err = run(capsys, "apply", spec, str(image), "-o", str(out_png), "--quiet", "--engine", "numpy")
    assert (code, out, err) == (0, "", "")
    assert np.array_equal(decoded(out_png), saturated(crop))


@pytest.mark.parametrize("spec", ["[[1e8]]", "[[1e19]]"])
def test_huge_weights_saturate_with_the_default_engine(spec: str, tmp_path: Path, image: Path, crop: np.ndarray, capsys) -> None:
    out_png = tmp_path / "out.png"
    code, out, err = run(capsys, "apply", spec, str(image), "-o", str(out_png), "--quiet")
    assert (code, out, err) == (0, "", "")
    assert np.array_equal(decoded(out_png), saturated(crop))


def test_a_magnitude_kernel_with_large_weights_prints_one_line(tmp_path: Path, image: Path, crop: np.ndarray, capsys) -> None:
    spec = json.dumps({"kernels": [[[0, 0, 0], [0, 1e18, 0], [0, 0, 0]], "identity"], "combine": "magnitude"})
    out_png = tmp_path / "out.png"
    code, out, err = run(capsys, "apply", spec, str(image), "-o", str(out_png))
    assert (code, out, err) == (0, "", f"wrote {out_png}\n")
    assert np.array_equal(decoded(out_png), saturated(crop))


def test_a_tiny_negative_divisor_is_refused_like_a_positive_one(tmp_path: Path, image: Path, capsys) -> None:
    # found by tests/test_fuzz.py: |weights / divisor| was checked as a signed number
    path = tmp_path / "k.json"
    path.write_text('{"kernel": [[1e-30]], "divisor": -1e-300}')
    code, out, err = run(capsys, "apply", str(path), str(image), "-o", str(tmp_path / "out.png"))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "k.json" in err and "beyond float32's range" in err
    assert not (tmp_path / "out.png").exists()
