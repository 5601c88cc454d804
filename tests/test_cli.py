"""The command line as a user meets it: exit codes, stdout, stderr, files on disk.

Every test runs the real program in a subprocess (``python -m imgconv``), so what is
asserted is exactly what a shell sees. Expected pixels come from cv2.filter2D called
directly on the decoded input (the CLI plumbing must not change what OpenCV computes).
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)


def run(*args: str | bytes, stdin: bytes = b"", cwd: Path | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imgconv", *args],
        input=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=cwd,
        timeout=60,
    )


def one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """stderr is exactly one line starting 'imgconv: ' and naming every fragment."""
    err = proc.stderr.decode()
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("imgconv: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.fixture
def chelsea(tmp_path: Path) -> Path:
    path = tmp_path / "chelsea.png"
    shutil.copy(SAMPLES / "chelsea.png", path)
    return path


def expected_edge(path: Path) -> np.ndarray:
    image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.filter2D(image, -1, EDGE, borderType=cv2.BORDER_REFLECT_101)


# -- the main job ---------------------------------------------------------------------------
def test_apply_writes_beside_the_input_with_the_kernel_name(chelsea: Path) -> None:
    before = chelsea.read_bytes()
    proc = run("apply", "edge", str(chelsea))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    out = chelsea.with_name("chelsea.edge.png")
    assert proc.stderr.decode() == f"wrote {out}\n"
    assert np.array_equal(decode(out.read_bytes()), expected_edge(chelsea))
    assert chelsea.read_bytes() == before  # the input untouched


def test_apply_to_an_explicit_output_and_quiet(chelsea: Path, tmp_path: Path) -> None:
    out = tmp_path / "edges.png"
    proc = run("apply", "edge", str(chelsea), "-o", str(out), "--quiet")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert np.array_equal(decode(out.read_bytes()), expected_edge(chelsea))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_apply_post_shift_and_depth_float32(chelsea: Path, tmp_path: Path) -> None:
    image = cv2.imread(str(chelsea), cv2.IMREAD_UNCHANGED)
    raw = cv2.filter2D(image, cv2.CV_32F, SOBEL_X)
    out = tmp_path / "sobel.tiff"
    assert run("apply", "sobel-x", str(chelsea), "-o", str(out), "--depth", "float32").returncode == 0
    written = decode(out.read_bytes())
    assert written.dtype == np.float32 and written.min() < 0  # negatives kept, input units
    np.testing.assert_allclose(written, raw, rtol=1e-6, atol=1e-4)
    shifted = tmp_path / "shift.png"
    assert run("apply", "sobel-x", str(chelsea), "-o", str(shifted), "--post", "shift").returncode == 0
    expect = np.clip(np.rint(raw + 128), 0, 255).astype(np.uint8)
    assert np.array_equal(decode(shifted.read_bytes()), expect)


def test_several_inputs_into_a_folder_and_one_bad_file(chelsea: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    camera = tmp_path / "camera.png"
    shutil.copy(SAMPLES / "camera.png", camera)
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = run("apply", "edge", str(chelsea), str(bad), str(camera), "-o", str(outdir))
    assert proc.returncode == 1
    err = proc.stderr.decode().splitlines()
    assert f"imgconv: {bad}: corrupt PNG (what follows the signature is not a chunk)" in err
    assert err[-1].startswith("2 done, 1 failed, 0 skipped in ")
    assert sorted(p.name for p in outdir.iterdir()) == ["camera.png", "chelsea.png"]
    assert np.array_equal(decode((outdir / "chelsea.png").read_bytes()), expected_edge(chelsea))


# -- never overwrite ------------------------------------------------------------------------
def test_existing_output_is_kept_without_overwrite(chelsea: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    proc = run("apply", "edge", str(chelsea), "-o", str(out))
    assert proc.returncode == 1
    one_line_error(proc, str(out), "output exists", "--overwrite")
    assert out.read_bytes() == b"precious"
    skipped = run("apply", "edge", str(chelsea), "-o", str(out), "--skip-existing")
    assert skipped.returncode == 0 and out.read_bytes() == b"precious"
    assert "skipped" in skipped.stderr.decode()
    assert run("apply", "edge", str(chelsea), "-o", str(out), "--overwrite").returncode == 0
    assert np.array_equal(decode(out.read_bytes()), expected_edge(chelsea))


@pytest.mark.parametrize("how", ["same", "hardlink", "symlink"])
def test_the_input_is_never_overwritten(chelsea: Path, tmp_path: Path, how: str) -> None:
    before = chelsea.read_bytes()
    target = tmp_path / "alias.png"
    if how == "same":
        target = chelsea
    elif how == "hardlink":
        os.link(chelsea, target)
    else:
        os.symlink(chelsea, target)
    proc = run("apply", "edge", str(chelsea), "-o", str(target), "--overwrite")
    assert proc.returncode == 1
    one_line_error(proc, "never overwrites an input")
    assert chelsea.read_bytes() == before


# -- errors: one line, the contract's exit code -----------------------------------------------
def test_missing_input_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    proc = run("apply", "edge", str(missing))
    assert proc.returncode == 1 and proc.stdout == b""
    assert one_line_error(proc) == f"imgconv: {missing}: no such file\n"


def test_corrupt_input_leaves_no_output(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("<html>not an image</html>")
    proc = run("apply", "edge", str(bad))
    assert proc.returncode == 1
    one_line_error(proc, str(bad), "not an image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png"]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["apply", "edgy", "x.png"], ["unknown kernel 'edgy'", "did you mean 'edge'"]),
        (["apply", "[[1,2],[3]]", "x.png"], ["not rectangular"]),
        (["apply", "[[NaN]]", "x.png"], ["NaN is not a finite number"]),
        (["apply", "gaussian:size=4", "x.png"], ["size must be odd"]),
        (["apply", "edge", "x.png", "--border", "mirror"], ["unknown border 'mirror'", "reflect101"]),
        (["apply", "edge", "x.png", "--post", "wrap"], ["unknown post 'wrap'", "stretch"]),
        (["apply", "edge", "x.png", "--depth", "int8"], ["unknown depth 'int8'", "float32"]),
        (["apply", "edge", "x.png", "--engine", "gpu"], ["unknown engine 'gpu'", "cv2, numpy, both"]),
        (["apply", "edge", "x.png", "--format", "gif", "-o", "-"], ["unknown image format 'gif'"]),
        (["apply", "edge", "x.png", "--bogus"], ["No such option: --bogus"]),
        (["apply", "edge", "x.png", "--border-value", "abc"], ["--border-value"]),
        (["apply", "edge", "x.png", "--overwrite", "--skip-existing"], ["choose one"]),
        (["kernels", "show", "nope"], ["unknown kernel 'nope'"]),
        (["frobnicate"], ["No such command"]),
    ],
)
def test_usage_errors_exit_2_in_one_line(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == b""
    one_line_error(proc, *fragments)
    assert "Usage:" not in proc.stderr.decode() and "╭" not in proc.stderr.decode()


def test_bad_kernel_file_names_the_file(tmp_path: Path, chelsea: Path) -> None:
    kernel = tmp_path / "k.json"
    kernel.write_text('{"kernel": [[1, 2], [3, 4]], "divsor": 2}')
    proc = run("apply", str(kernel), str(chelsea))
    assert proc.returncode == 2
    one_line_error(proc, str(kernel), "unknown key 'divsor'")


def test_user_kernel_file_and_inline_matrix(tmp_path: Path, chelsea: Path) -> None:
    kernel = tmp_path / "my-sharpen.json"
    kernel.write_text(json.dumps({"name": "my-sharpen", "kernel": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]}))
    assert run("apply", str(kernel), str(chelsea)).returncode == 0
    from_file = decode(chelsea.with_name("chelsea.my-sharpen.png").read_bytes())
    inline = run("apply", "[[0,-1,0],[-1,5,-1],[0,-1,0]]", str(chelsea), "-o", "-", "--format", "png")
    assert inline.returncode == 0
    image = cv2.imread(str(chelsea), cv2.IMREAD_UNCHANGED)
    expect = cv2.filter2D(image, -1, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32))
    assert np.array_equal(from_file, expect)
    assert np.array_equal(decode(inline.stdout), expect)


def test_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/caf\xe9 \xff.png"
    with open(name, "wb") as handle:
        handle.write((SAMPLES / "camera.png").read_bytes())
    proc = run("apply", "blur", name)
    assert proc.returncode == 0, proc.stderr
    assert os.path.exists(os.fsencode(tmp_path) + b"/caf\xe9 \xff.blur.png")
    missing = run("apply", "blur", os.fsencode(tmp_path) + b"/gone\xe9\n.png")
    assert missing.returncode == 1
    one_line_error(missing, "gone\\xe9\\n.png", "no such file")


# -- pipelines --------------------------------------------------------------------------------
def test_stdin_to_stdout_pipeline(chelsea: Path) -> None:
    data = chelsea.read_bytes()
    proc = run("apply", "edge", "-", "-o", "-", "--format", "png", stdin=data)
    assert proc.returncode == 0 and proc.stderr == b""
    assert np.array_equal(decode(proc.stdout), expected_edge(chelsea))
    # without -o, standard input goes to standard output in the input's format
    default = run("apply", "edge", "-", stdin=data)
    assert default.returncode == 0 and default.stdout.startswith(b"\x89PNG")
    assert np.array_equal(decode(default.stdout), expected_edge(chelsea))


def test_jpeg_to_stdout_keeps_jpeg_unless_told(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    ok, buf = cv2.imencode(".jpg", cv2.imread(str(SAMPLES / "coffee.png")))
    photo.write_bytes(buf.tobytes())
    proc = run("apply", "blur", str(photo), "-o", "-")
    assert proc.returncode == 0 and proc.stdout.startswith(b"\xff\xd8\xff")
    as_png = run("apply", "blur", str(photo), "-o", "-", "--format", "png")
    assert as_png.stdout.startswith(b"\x89PNG")


def test_empty_and_garbage_stdin() -> None:
    empty = run("apply", "edge", "-", "-o", "-", "--format", "png")
    assert empty.returncode == 1 and empty.stdout == b""
    one_line_error(empty, "standard input is empty")
    garbage = run("apply", "edge", "-", stdin=b"hello world\n")
    assert garbage.returncode == 1 and garbage.stdout == b""
    one_line_error(garbage, "-: a text file, not an image")


def test_installed_command_in_a_real_shell_pipe(chelsea: Path, tmp_path: Path) -> None:
    exe = shutil.which("imgconv", path=os.path.dirname(sys.executable)) or shutil.which("imgconv")
    assert exe, "the imgconv console script is not installed"
    out = tmp_path / "piped.png"
    proc = subprocess.run(
        f'cat "{chelsea}" | "{exe}" apply edge - -o - --format png | "{exe}" apply blur - > "{out}"',
        shell=True,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr == b""
    image = cv2.imread(str(chelsea), cv2.IMREAD_UNCHANGED)
    expect = cv2.filter2D(cv2.filter2D(image, -1, EDGE), -1, np.ones((3, 3), np.float32) / 9)
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), expect)


def test_reader_closing_the_pipe_early_is_quiet(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.random.default_rng(1).integers(0, 256, (1500, 1500, 3), dtype=np.uint8))
    proc = subprocess.run(
        f'"{sys.executable}" -m imgconv apply edge "{big}" -o - | head -c 100 > /dev/null',
        shell=True,
        stderr=subprocess.PIPE,
        timeout=60,
        executable="/bin/bash",
    )
    assert proc.stderr == b""


EXIT_SCRIPT = """
import atexit, sys
import imgconv.cli as cli
marker, sys.argv = sys.argv[1], ["imgconv", *sys.argv[2:]]
real_main = cli.main

def main():  # as multiprocessing or tempfile do during a run: an exit handler
    atexit.register(lambda: open(marker, "w").write("ran"))
    code = real_main()
    print("end of run")  # still in the buffer when the run ends
    return code

cli.main = main
cli.run()
"""


@pytest.mark.parametrize("args, code", [
    (["kernels", "show", "gaussian:size=31,sigma=5", "--json"], 0),
    (["apply", "edge", "no-such-file.png"], 1),
    (["apply", "edge", "--border", "nonsense", "x.png"], 2),
])
def test_the_quick_exit_keeps_the_code_the_output_and_other_exit_handlers(tmp_path: Path, args: list[str],
                                                                          code: int) -> None:
    # run() ends the process with os._exit after the exit handlers registered during the
    # run: they still run, buffered stdout is all written, and the exit code is main()'s
    marker = tmp_path / "marker"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as for users
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, str(marker), *args], capture_output=True,
                          timeout=60, env=env)
    assert proc.returncode == code, proc.stderr
    assert marker.read_text() == "ran"
    output = proc.stdout.decode()
    assert output.endswith("end of run\n")  # written from the buffer at the very end
    body = output.removesuffix("end of run\n")
    if code == 0:
        shown = json.loads(body)  # the whole document
        oracle = cv2.getGaussianKernel(31, 5, cv2.CV_64F)
        assert np.allclose(np.asarray(shown["kernel"], float), oracle @ oracle.T, rtol=1e-6, atol=0)
    else:
        assert body == ""
        one_line_error(proc)


THREADS_SCRIPT = """
import os, sys
import imgconv.cli as cli

def main():
    import numpy  # as a run imports it, after run() began
    tasks = "/proc/self/task"  # Linux: one entry per thread of the process
    print(os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir(tasks)) if os.path.isdir(tasks) else "unknown")
    return 0

cli.main = main
cli.run()
"""


@pytest.mark.parametrize("given, expected", [(None, "1"), ("2", "2")])
def test_a_run_keeps_numpy_from_starting_blas_threads_unless_told(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    proc = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    value, threads = proc.stdout.decode().split()
    assert value == expected  # the user's own setting is kept
    if given is None and sys.platform.startswith("linux"):
        assert threads == "1"  # no thread besides the main one after numpy's import


def test_binary_output_to_a_terminal_is_refused(chelsea: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        proc = run("apply", "edge", str(chelsea), "-o", "-", stdout=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 2
    one_line_error(proc, "terminal")


# -- kernels, version, help -----------------------------------------------------------------
CONTRACT_MATRICES = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "vertical-edge": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal-edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "laplacian-8": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
}


def test_kernels_list_json_names_every_contract_kernel() -> None:
    proc = run("kernels", "list", "--json")
    assert proc.returncode == 0 and proc.stderr == b""
    names = {row["name"] for row in json.loads(proc.stdout)}
    assert set(CONTRACT_MATRICES) | {"blur", "gaussian", "box"} <= names
    table = run("kernels", "list")
    assert table.returncode == 0 and b"sobel-x" in table.stdout


@pytest.mark.parametrize("name", sorted(CONTRACT_MATRICES))
def test_kernels_show_json_has_the_contract_keys(name: str) -> None:
    proc = run("kernels", "show", name, "--json")
    assert proc.returncode == 0
    info = json.loads(proc.stdout)
    assert {"name", "kernel", "divisor", "offset", "anchor", "sum", "separable"} <= set(info)
    assert info["kernel"] == CONTRACT_MATRICES[name]
    assert info["divisor"] == 1 and info["offset"] == 0 and info["anchor"] == [1, 1]


def test_kernels_show_blur_and_parametric() -> None:
    blur = json.loads(run("kernels", "show", "blur", "--json").stdout)
    assert blur["kernel"] == [[1, 1, 1]] * 3 and blur["divisor"] == 9 and blur["sum"] == 1
    gauss = json.loads(run("kernels", "show", "gaussian:size=3", "--json").stdout)
    assert gauss["kernel"] == [[1, 2, 1], [2, 4, 2], [1, 2, 1]] and gauss["divisor"] == 16
    assert gauss["separable"] is True
    table = run("kernels", "show", "sobel-x")
    assert table.returncode == 0 and b"separable yes" in table.stdout


def test_version() -> None:
    from imgconv import __version__

    proc = run("--version")
    assert (proc.returncode, proc.stdout.decode(), proc.stderr) == (0, f"imgconv {__version__}\n", b"")


@pytest.mark.parametrize(
    "command",
    [[], ["apply"], ["kernels"], ["kernels", "list"], ["kernels", "show"], ["diff"], ["shape"], ["conv1d"], ["bench"]],
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    proc = run(*command, "--help")
    assert proc.returncode == 0 and proc.stderr == b""
    assert "Example: imgconv" in proc.stdout.decode() or command == ["kernels"]


def test_help_does_not_load_numpy_or_opencv() -> None:
    code = (
        "import sys\n"
        "from imgconv.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'cv2') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.stdout.decode().strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("kernel", ["edge", "sobel-x", "box:size=5"])
def test_apply_does_not_load_modules_it_does_not_need(kernel: str, chelsea: Path, tmp_path: Path) -> None:
    # numpy.ma (18 ms, loaded by np.unique) and fractions (5 ms) were loaded on every run
    # by the cv2 engine's kernel analysis; only an odd-divisor kernel needs fractions
    code = (
        "import sys\n"
        "from imgconv.cli import main\n"
        f"main(['apply', {kernel!r}, {str(chelsea)!r}, '-o', {str(tmp_path / 'o.png')!r}])\n"
        "print(sorted(m for m in ('numpy.ma', 'fractions') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "o.png").exists()
    expected = "['fractions']" if kernel.startswith("box") else "[]"
    assert proc.stdout.decode().strip().splitlines()[-1] == expected


def test_explain_and_dry_run(chelsea: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    proc = run("apply", "sobel-x", str(chelsea), "-o", str(out), "--explain")
    assert proc.returncode == 0 and out.exists()
    lines = proc.stderr.decode().splitlines()
    # the default engine, auto, says which engine it took and the estimates it compared
    assert lines[0].startswith(f"{chelsea} -> {out}: auto: cv2: cv2.sepFilter2D (exact separable factors "
                               "[1,2,1] x [-1,0,1]) (estimated cv2 ")
    assert lines[0].endswith("; built-in costs); output 300x451")
    dry = run("apply", "gaussian", str(chelsea), "--stride", "2", "--dry-run")
    assert dry.returncode == 0 and dry.stdout == b""
    assert "-> 150x226" in dry.stderr.decode()
    assert not chelsea.with_name("chelsea.gaussian.png").exists()  # nothing written
