"""Batch folders and shell pipelines (issue 4), as a user meets them.

Every CLI test runs the real program in a subprocess (``python -m imgconv``) and asserts
what a shell sees: the exit code, stdout, stderr and the files on disk. Expected pixels
come from ``cv2.filter2D`` called directly on the decoded input, never from imgconv.
"""

from __future__ import annotations

import concurrent.futures
import glob
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32)
BLUR = np.ones((3, 3), np.float32) / 9
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)
SUMMARY = re.compile(r"^(\d+) done, (\d+) failed, (\d+) skipped in ")
REPORT_KEYS = {"input", "output", "status", "error", "milliseconds", "engine"}


# -- helpers ------------------------------------------------------------------------------------
def run(*args: str | Path, stdin: bytes = b"", cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imgconv", *map(str, args)],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        timeout=timeout,
    )


def load(path: Path | str) -> np.ndarray:
    image = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} does not decode"
    return image


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None, "the bytes do not decode"
    return image


def filt(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)


def assert_filtered(output: Path, source: Path, *kernels: np.ndarray) -> None:
    expect = load(source)
    for kernel in kernels:
        expect = filt(expect, kernel)
    got = load(output)
    assert got.shape == expect.shape and got.dtype == expect.dtype, (output, got.shape, expect.shape)
    assert np.array_equal(got, expect), f"{output}: pixels differ from cv2.filter2D on {source}"


def files_under(root: Path) -> set[str]:
    """Every entry below ``root`` that is not a folder (hidden ones too), as relative paths."""
    found = set()
    for folder, dirs, names in os.walk(root):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def stderr_lines(proc: subprocess.CompletedProcess) -> list[str]:
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    return err.splitlines()


def summary_counts(proc: subprocess.CompletedProcess) -> tuple[int, int, int]:
    lines = stderr_lines(proc)
    assert lines, "no summary line on stderr"
    match = SUMMARY.match(lines[-1])
    assert match, f"the last stderr line is not the summary: {lines[-1]!r}"
    return tuple(int(g) for g in match.groups())  # type: ignore[return-value]


def no_temporaries(root: Path) -> None:
    left = [p for p in glob.glob(str(root / "**" / ".imgconv-*"), recursive=True)]
    left += glob.glob(str(root / ".imgconv-*"))
    assert left == [], left


def copy_sample(name: str, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / name, destination)
    return destination


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """photos/{a,b}.png, photos/sub/c.png, photos/sub/deep/d.png and things to skip."""
    root = tmp_path / "photos"
    copy_sample("camera.png", root / "a.png")  # grey
    copy_sample("astronaut.png", root / "b.png")  # colour
    copy_sample("chelsea.png", root / "sub" / "c.png")
    copy_sample("coffee.png", root / "sub" / "deep" / "d.png")
    (root / "readme.txt").write_text("not an image\n")
    return root


IMAGES = ["a.png", "b.png", os.path.join("sub", "c.png"), os.path.join("sub", "deep", "d.png")]


def add_things_to_skip(root: Path) -> None:
    copy_sample("brick.png", root / ".hidden.png")
    copy_sample("brick.png", root / ".secret" / "x.png")
    copy_sample("brick.png", root / "sub" / ".cache" / "y.png")
    os.mkfifo(root / "fifo.png")
    os.mkfifo(root / "sub" / "pipe.jpg")
    os.symlink(root / "gone.png", root / "dangling.png")
    os.symlink("..", root / "sub" / "loop")  # sub/loop/sub/loop/... forever
    os.symlink("a.png", root / "alias.png")  # the same file again


# -- mirrored trees and naming ----------------------------------------------------------------
def test_recursive_mirrors_the_tree(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("apply", "edge", photos, "-o", out, "--recursive")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert summary_counts(proc) == (4, 0, 0)
    assert files_under(out) == set(IMAGES)
    for rel in IMAGES:
        assert_filtered(out / rel, photos / rel, EDGE)
    no_temporaries(tmp_path)


def test_without_recursive_only_the_top_level(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("apply", "edge", photos, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert summary_counts(proc) == (2, 0, 0)
    assert files_under(out) == {"a.png", "b.png"}
    assert not (out / "sub").exists()
    assert_filtered(out / "a.png", photos / "a.png", EDGE)


def test_without_o_outputs_go_beside_the_inputs(photos: Path, tmp_path: Path) -> None:
    jpeg = photos / "sub" / "photo.jpg"
    ok, buf = cv2.imencode(".jpg", load(SAMPLES / "coffee.png"))
    jpeg.write_bytes(buf.tobytes())
    before = {rel: (photos / rel).read_bytes() for rel in IMAGES}
    proc = run("apply", "edge", photos, "--recursive")
    assert proc.returncode == 0, proc.stderr
    assert summary_counts(proc) == (5, 0, 0)
    new = files_under(photos) - set(IMAGES) - {"readme.txt", "sub/photo.jpg"}
    assert new == {"a.edge.png", "b.edge.png", "sub/c.edge.png", "sub/deep/d.edge.png", "sub/photo.edge.jpg"}
    for rel in IMAGES:
        assert (photos / rel).read_bytes() == before[rel]  # inputs untouched
        root, ext = os.path.splitext(rel)
        assert_filtered(photos / f"{root}.edge{ext}", photos / rel, EDGE)
    written = load(photos / "sub" / "photo.edge.jpg")
    assert (photos / "sub" / "photo.edge.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # still a JPEG
    assert cv2.PSNR(written, filt(load(jpeg), EDGE)) > 30


EDGED = {"a.edge.png", "b.edge.png", "sub/c.edge.png", "sub/deep/d.edge.png"}


def test_a_second_run_beside_the_inputs_does_not_filter_the_first_runs_outputs(photos: Path) -> None:
    first = run("apply", "edge", photos, "--recursive")
    assert first.returncode == 0 and summary_counts(first) == (4, 0, 0), first.stderr
    written = {rel: (photos / rel).read_bytes() for rel in EDGED}
    again = run("apply", "edge", photos, "--recursive", "--skip-existing")  # resuming: nothing left to do
    assert again.returncode == 0 and summary_counts(again) == (0, 0, 4), again.stderr
    assert files_under(photos) == set(IMAGES) | EDGED | {"readme.txt"}  # no a.edge.edge.png
    assert {rel: (photos / rel).read_bytes() for rel in EDGED} == written
    plain = run("apply", "edge", photos, "--recursive")  # without it: each existing output refused
    assert plain.returncode == 1 and summary_counts(plain) == (0, 4, 0)
    assert files_under(photos) == set(IMAGES) | EDGED | {"readme.txt"}
    other = run("apply", "blur", photos)  # another kernel's run takes them as the images they are
    assert other.returncode == 0 and summary_counts(other) == (4, 0, 0), other.stderr
    assert_filtered(photos / "a.edge.blur.png", photos / "a.edge.png", BLUR)


def test_a_shell_expanded_rerun_skips_the_inputs_that_this_batch_writes(tmp_path: Path) -> None:
    # `imgconv apply edge *.png` run twice: the shell names a.edge.png too, and a.png's
    # job writes it; filtering it as well would make a.edge.edge.png from a file that
    # the same batch replaces
    for name in ("a.png", "b.png"):
        copy_sample("camera.png" if name == "a.png" else "astronaut.png", tmp_path / name)
    first = run("apply", "edge", "a.png", "b.png", cwd=tmp_path)
    assert first.returncode == 0 and summary_counts(first) == (2, 0, 0), first.stderr
    named = sorted(p.name for p in tmp_path.glob("*.png"))  # what the shell's *.png gives
    report = tmp_path / "r.json"
    again = run("apply", "edge", *named, "--overwrite", "--report", report, cwd=tmp_path)
    assert again.returncode == 0 and summary_counts(again) == (2, 0, 2), again.stderr
    notes = [line for line in stderr_lines(again) if "skipped" in line and "done" not in line]
    assert notes == ["a.edge.png: skipped: it is this batch's output for a.png",
                     "b.edge.png: skipped: it is this batch's output for b.png"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["a.edge.png", "a.png", "b.edge.png", "b.png"]
    assert_filtered(tmp_path / "a.edge.png", tmp_path / "a.png", EDGE)
    records = {r["input"]: r for r in json.loads(report.read_text())}
    assert records["a.edge.png"]["status"] == "skipped" and records["a.edge.png"]["error"] is None
    assert records["a.edge.png"]["reason"] == "skipped: it is this batch's output for a.png"
    assert "reason" not in records["a.png"]
    quiet = run("apply", "edge", *named, "--skip-existing", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_an_output_folder_inside_the_input_folder_is_not_read_back(photos: Path) -> None:
    out = photos / "out"
    first = run("apply", "edge", photos, "-o", out, "--recursive")
    assert first.returncode == 0 and summary_counts(first) == (4, 0, 0), first.stderr
    (out / "stray.png").write_bytes((photos / "a.png").read_bytes())  # whatever is in it
    again = run("apply", "edge", photos, "-o", out, "--recursive", "--skip-existing")
    assert again.returncode == 0 and summary_counts(again) == (0, 0, 4), again.stderr
    assert files_under(out) == set(IMAGES) | {"stray.png"}  # no out/out/
    for rel in IMAGES:
        assert_filtered(out / rel, photos / rel, EDGE)
    named = run("apply", "edge", out / "a.png", "-o", photos / "named.png")
    assert named.returncode == 0, named.stderr  # a file named on the command line is always taken
    assert_filtered(photos / "named.png", out / "a.png", EDGE)


def test_a_folder_without_images_at_its_top_says_why(tmp_path: Path) -> None:
    copy_sample("camera.png", tmp_path / "shoot" / "day1" / "a.png")
    out = tmp_path / "out"
    proc = run("apply", "edge", tmp_path / "shoot", "-o", out)
    assert proc.returncode == 0 and proc.stdout == b""
    lines = stderr_lines(proc)
    assert lines[0] == f"imgconv: no image files in {tmp_path / 'shoot'}; its sub-folders hold some: add --recursive"
    assert summary_counts(proc) == (0, 0, 0) and not out.exists()
    glob_miss = run("apply", "edge", tmp_path / "shoot", "--recursive", "--glob", "*.jpg", "-o", out)
    assert stderr_lines(glob_miss)[0] == f"imgconv: no image files matching '*.jpg' in {tmp_path / 'shoot'}"
    assert run("apply", "edge", tmp_path / "shoot", "-o", out, "--quiet").stderr == b""
    again = run("apply", "edge", tmp_path / "shoot", "-o", out, "--recursive")
    assert again.returncode == 0, again.stderr
    assert_filtered(out / "day1" / "a.png", tmp_path / "shoot" / "day1" / "a.png", EDGE)


def test_glob_option_filters_by_name(photos: Path, tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".jpg", load(SAMPLES / "coffee.png"))
    (photos / "sub" / "photo.jpg").write_bytes(buf.tobytes())
    (photos / "e.jpg").write_bytes(buf.tobytes())
    out = tmp_path / "out"
    proc = run("apply", "edge", photos, "-o", out, "--recursive", "--glob", "*.png")
    assert proc.returncode == 0, proc.stderr
    assert files_under(out) == set(IMAGES)  # no .jpg
    only_c = run("apply", "blur", photos, "-o", tmp_path / "only-c", "--recursive", "--glob", "c.*")
    assert only_c.returncode == 0, only_c.stderr
    assert files_under(tmp_path / "only-c") == {"sub/c.png"}
    assert_filtered(tmp_path / "only-c" / "sub" / "c.png", photos / "sub" / "c.png", BLUR)


def test_quoted_glob_patterns_are_expanded_by_imgconv(photos: Path, tmp_path: Path) -> None:
    add_things_to_skip(photos)
    out = tmp_path / "out"
    proc = run("apply", "edge", "photos/*.png", "-o", out, cwd=tmp_path, timeout=30)
    assert proc.returncode == 0, proc.stderr
    # hidden files, the FIFO and the dangling link match no image (glob skips dot-files)
    assert files_under(out) == {"a.png", "b.png"}
    assert_filtered(out / "b.png", photos / "b.png", EDGE)
    deep = run("apply", "edge", "photos/**/*.png", "-o", tmp_path / "deep", cwd=tmp_path, timeout=30)
    assert deep.returncode == 0, deep.stderr
    written = files_under(tmp_path / "deep")
    assert {os.path.basename(p) for p in written} == {"a.png", "b.png", "c.png", "d.png"}
    assert len(written) == 4


def test_files_and_folders_mixed(photos: Path, tmp_path: Path) -> None:
    single = copy_sample("brick.png", tmp_path / "elsewhere" / "brick.png")
    out = tmp_path / "out"
    proc = run("apply", "edge", photos / "a.png", photos / "sub", single, "-o", out, "--recursive")
    assert proc.returncode == 0, proc.stderr
    assert summary_counts(proc) == (4, 0, 0)
    # a file keeps its name; a folder's tree is mirrored below -o
    assert files_under(out) == {"a.png", "c.png", "deep/d.png", "brick.png"}
    assert_filtered(out / "a.png", photos / "a.png", EDGE)
    assert_filtered(out / "c.png", photos / "sub" / "c.png", EDGE)
    assert_filtered(out / "deep" / "d.png", photos / "sub" / "deep" / "d.png", EDGE)
    assert_filtered(out / "brick.png", single, EDGE)


# -- skip rules ---------------------------------------------------------------------------------
def test_skip_rules_in_folders(photos: Path, tmp_path: Path) -> None:
    add_things_to_skip(photos)
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    proc = run("apply", "edge", photos, "-o", out, "--recursive", "--report", report, "--workers", "2", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert summary_counts(proc) == (4, 0, 2)  # the two FIFOs: listed as skipped, never opened
    records = json.loads(report.read_text())
    assert sorted(r["reason"].split(",")[0] for r in records if r["status"] == "skipped") == [
        "skipped: a FIFO (named pipe)"] * 2
    records = [r for r in records if r["status"] != "skipped"]
    inputs = [os.path.relpath(r["input"], photos) for r in records]
    # each real image once; not the hidden ones, readme.txt, the dangling link, nor anything
    # again through sub/loop or alias.png
    assert len(inputs) == 4, inputs
    real = {os.path.realpath(photos / i) for i in inputs}
    assert real == {os.path.realpath(photos / rel) for rel in IMAGES}
    assert files_under(out) == set(IMAGES)
    assert {r["status"] for r in records} == {"done"}


def test_a_fifo_named_directly_does_not_hang(photos: Path, tmp_path: Path) -> None:
    os.mkfifo(photos / "fifo.png")
    out = tmp_path / "out"
    proc = run("apply", "edge", photos / "fifo.png", photos / "a.png", "-o", out, timeout=30)
    assert proc.returncode in (0, 1), proc.stderr
    assert files_under(out) == {"a.png"}
    lines = stderr_lines(proc)
    naming = [line for line in lines if "fifo.png" in line]
    if proc.returncode == 1:  # reported as a failure: once, in one line
        assert len(naming) == 1 and naming[0].startswith("imgconv: "), lines
    assert_filtered(out / "a.png", photos / "a.png", EDGE)


def test_a_dangling_symlink_named_directly_fails_cleanly(photos: Path, tmp_path: Path) -> None:
    os.symlink(photos / "gone.png", photos / "dangling.png")
    out = tmp_path / "out"
    proc = run("apply", "edge", photos / "dangling.png", photos / "a.png", "-o", out)
    assert proc.returncode == 1
    lines = stderr_lines(proc)
    assert [line for line in lines if "dangling.png" in line and line.startswith("imgconv: ")] != []
    assert summary_counts(proc) == (1, 1, 0)
    assert files_under(out) == {"a.png"}


def test_symlink_loop_terminates_and_each_file_once(photos: Path, tmp_path: Path) -> None:
    os.symlink("..", photos / "sub" / "loop")
    os.symlink(photos, photos / "sub" / "deep" / "up")  # an absolute loop too
    out = tmp_path / "out"
    proc = run("apply", "edge", photos, "-o", out, "--recursive", "--report", "-", timeout=30)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert sorted(os.path.realpath(r["input"]) for r in records) == sorted(os.path.realpath(photos / r) for r in IMAGES)
    assert len(files_under(out)) == 4


def test_the_same_file_given_twice_is_processed_once(photos: Path, tmp_path: Path) -> None:
    a = photos / "a.png"
    os.symlink(a, photos / "alias.png")
    proc = run("apply", "edge", a, a, photos / "alias.png", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads((tmp_path / "r.json").read_text())) == 1
    assert files_under(photos) - set(IMAGES) - {"readme.txt", "alias.png"} == {"a.edge.png"}
    assert_filtered(photos / "a.edge.png", a, EDGE)


def test_the_same_file_twice_into_a_new_output_folder(photos: Path, tmp_path: Path) -> None:
    # Two INPUTs make -o a folder (contract: "a folder (several inputs ...)"), even when
    # they turn out to be the same file.
    a = photos / "a.png"
    out = tmp_path / "out"
    proc = run("apply", "edge", a, a, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert out.is_dir()
    assert files_under(out) == {"a.png"}
    assert_filtered(out / "a.png", a, EDGE)


# -- never overwrite ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["hardlink", "symlink"])
def test_an_output_that_is_a_link_to_an_input_is_refused(photos: Path, tmp_path: Path, how: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    link = getattr(os, "link" if how == "hardlink" else "symlink")
    link(photos / "a.png", out / "a.png")
    before = (photos / "a.png").read_bytes()
    proc = run("apply", "edge", photos, "-o", out, "--overwrite")
    assert proc.returncode == 1
    assert (photos / "a.png").read_bytes() == before
    lines = stderr_lines(proc)
    errors = [line for line in lines if line.startswith("imgconv: ")]
    assert len(errors) == 1 and str(out / "a.png") in errors[0], lines
    assert summary_counts(proc) == (1, 1, 0)
    assert_filtered(out / "b.png", photos / "b.png", EDGE)  # the other one is done


def test_default_output_name_that_is_a_hard_link_to_the_input(photos: Path, tmp_path: Path) -> None:
    os.link(photos / "a.png", photos / "a.edge.png")
    before = (photos / "a.png").read_bytes()
    proc = run("apply", "edge", photos / "a.png", photos / "b.png", "--overwrite")
    assert proc.returncode == 1
    assert (photos / "a.png").read_bytes() == before
    assert (photos / "a.edge.png").read_bytes() == before
    assert summary_counts(proc) == (1, 1, 0)
    assert_filtered(photos / "b.edge.png", photos / "b.png", EDGE)


def test_output_folder_that_is_the_input_folder(photos: Path) -> None:
    before = {rel: (photos / rel).read_bytes() for rel in IMAGES}
    proc = run("apply", "edge", photos, "-o", photos, "--recursive", "--overwrite")
    assert proc.returncode == 1
    assert summary_counts(proc) == (0, 4, 0)
    errors = [line for line in stderr_lines(proc) if line.startswith("imgconv: ")]
    assert len(errors) == 4
    for rel in IMAGES:
        assert (photos / rel).read_bytes() == before[rel]
    assert files_under(photos) == set(IMAGES) | {"readme.txt"}


def test_single_input_onto_itself_without_overwrite(photos: Path) -> None:
    before = (photos / "b.png").read_bytes()
    proc = run("apply", "edge", photos / "b.png", "-o", photos / "b.png")
    assert proc.returncode == 1
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("imgconv: ") and "b.png" in lines[0]
    assert (photos / "b.png").read_bytes() == before


def test_existing_output_without_overwrite_fails_and_others_continue(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "c.png").write_bytes(b"precious")
    proc = run("apply", "edge", photos, "-o", out, "--recursive")
    assert proc.returncode == 1
    assert (out / "sub" / "c.png").read_bytes() == b"precious"
    errors = [line for line in stderr_lines(proc) if line.startswith("imgconv: ")]
    assert len(errors) == 1 and str(out / "sub" / "c.png") in errors[0], errors
    assert summary_counts(proc) == (3, 1, 0)
    for rel in ("a.png", "b.png", "sub/deep/d.png"):
        assert_filtered(out / rel, photos / rel, EDGE)
    no_temporaries(tmp_path)


def test_existing_output_symlink_is_replaced_not_followed(photos: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.png"
    shutil.copy(SAMPLES / "brick.png", victim)
    before = victim.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(victim, out / "a.png")
    proc = run("apply", "edge", photos, "-o", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_bytes() == before
    assert not (out / "a.png").is_symlink()
    assert (out / "a.png").is_file()
    assert_filtered(out / "a.png", photos / "a.png", EDGE)


# -- a corrupt file in the middle, reports ------------------------------------------------------
@pytest.fixture
def with_corrupt(tmp_path: Path) -> Path:
    root = tmp_path / "batch"
    copy_sample("camera.png", root / "a.png")
    good = (SAMPLES / "chelsea.png").read_bytes()
    (root / "b.png").write_bytes(good[: len(good) // 2])  # truncated: the middle one of three
    copy_sample("coffee.png", root / "c.png")
    return root


def check_report(records: list, root: Path, out: Path, failure_line: str) -> None:
    assert isinstance(records, list) and len(records) == 3
    by_input = {r["input"]: r for r in records}
    assert set(by_input) == {str(root / n) for n in ("a.png", "b.png", "c.png")}
    for name in ("a.png", "b.png", "c.png"):
        record = by_input[str(root / name)]
        assert set(record) == REPORT_KEYS, record
        assert record["output"] == str(out / name)
        assert record["engine"] == "auto"  # the default engine
        assert isinstance(record["milliseconds"], (int, float)) and record["milliseconds"] >= 0
        if name == "b.png":
            assert record["status"] == "failed"
            assert isinstance(record["error"], str) and "b.png" in record["error"]
            assert failure_line == f"imgconv: {record['error']}"
        else:
            assert record["status"] == "done" and record["error"] is None


def test_corrupt_file_in_the_middle_of_a_batch(with_corrupt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    proc = run("apply", "edge", with_corrupt, "-o", out, "--report", report, "--workers", "2")
    assert proc.returncode == 1
    assert proc.stdout == b""
    lines = stderr_lines(proc)
    naming = [line for line in lines if "b.png" in line]
    assert len(naming) == 1 and naming[0].startswith("imgconv: "), lines
    assert len(lines) == 2  # the failure and the summary, nothing else
    assert summary_counts(proc) == (2, 1, 0)
    assert files_under(out) == {"a.png", "c.png"}
    assert_filtered(out / "a.png", with_corrupt / "a.png", EDGE)
    assert_filtered(out / "c.png", with_corrupt / "c.png", EDGE)
    check_report(json.loads(report.read_text()), with_corrupt, out, naming[0])
    no_temporaries(tmp_path)


def test_report_to_stdout_is_the_only_thing_on_stdout(with_corrupt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("apply", "edge", with_corrupt, "-o", out, "--report", "-")
    assert proc.returncode == 1
    records = json.loads(proc.stdout.decode())  # the whole of stdout is one JSON document
    naming = [line for line in stderr_lines(proc) if "b.png" in line]
    assert len(naming) == 1
    check_report(records, with_corrupt, out, naming[0])


def test_report_lists_the_inputs_in_their_order_whichever_finishes_first(tmp_path: Path) -> None:
    # a.png is large and goes first; with two workers the small ones finish before it
    root = tmp_path / "in"
    root.mkdir()
    rng = np.random.default_rng(3)
    cv2.imwrite(str(root / "a.png"), rng.integers(0, 256, (2500, 2500, 3), dtype=np.uint8))
    names = ["a.png", *(f"{c}.png" for c in "bcdefg")]
    for name in names[1:]:
        cv2.imwrite(str(root / name), rng.integers(0, 256, (16, 16), dtype=np.uint8))
    report = tmp_path / "r.json"
    proc = run("apply", "edge", root, "-o", tmp_path / "out", "--report", report, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    records = json.loads(report.read_text())
    assert [Path(r["input"]).name for r in records] == names
    assert [Path(r["output"]).name for r in records] == names
    assert all(r["status"] == "done" for r in records)
    small = max(r["milliseconds"] for r in records[1:])
    assert records[0]["milliseconds"] > 6 * small  # so the order was not the finishing order


# -- resumable ----------------------------------------------------------------------------------
def test_skip_existing_resumes_an_interrupted_batch(tmp_path: Path) -> None:
    root = tmp_path / "in"
    names = [f"img{i}.png" for i in range(6)]
    base = load(SAMPLES / "astronaut.png")
    root.mkdir()
    for i, name in enumerate(names):
        cv2.imwrite(str(root / name), np.roll(base, 37 * i, axis=1))
    out = tmp_path / "out"
    first = run("apply", "sharpen", root, "-o", out, "--quiet")
    assert first.returncode == 0, first.stderr
    old = 1_000_000_000 * 10**9  # 2001: any rewrite would change it
    for name in names:
        os.utime(out / name, ns=(old, old))
    redo = {"img1.png", "img4.png"}
    for name in redo:
        (out / name).unlink()
    report = tmp_path / "r.json"
    second = run("apply", "sharpen", root, "-o", out, "--skip-existing", "--report", report)
    assert second.returncode == 0, second.stderr
    assert summary_counts(second) == (2, 0, 4)
    statuses = {os.path.basename(r["input"]): r["status"] for r in json.loads(report.read_text())}
    assert statuses == {name: ("done" if name in redo else "skipped") for name in names}
    for name in names:
        if name in redo:
            assert_filtered(out / name, root / name, SHARPEN)
        else:
            assert os.stat(out / name).st_mtime_ns == old, name


# -- kernel chains ------------------------------------------------------------------------------
def test_kernel_chain_blur_then_sharpen(photos: Path) -> None:
    proc = run("apply", "blur+sharpen", photos / "b.png")
    assert proc.returncode == 0, proc.stderr
    out = photos / "b.blur+sharpen.png"
    assert out.exists(), sorted(files_under(photos))
    assert_filtered(out, photos / "b.png", BLUR, SHARPEN)
    # the order matters, and is the order written
    piped = run("apply", "sharpen+blur", "-", "-o", "-", "--format", "png", stdin=(photos / "b.png").read_bytes())
    assert piped.returncode == 0, piped.stderr
    assert np.array_equal(decode(piped.stdout), filt(filt(load(photos / "b.png"), SHARPEN), BLUR))


def test_a_plus_inside_a_number_is_not_a_chain(photos: Path, tmp_path: Path) -> None:
    g = cv2.getGaussianKernel(5, 1.0)
    proc = run("apply", "gaussian:size=5,sigma=1e+0", photos / "b.png", "-o", tmp_path / "g.png")
    assert proc.returncode == 0, proc.stderr
    assert_filtered(tmp_path / "g.png", photos / "b.png", g @ g.T)
    # the brief's spelling: sigma only, the size taken from it; one kernel, same as sigma=1
    plus = run("apply", "gaussian:sigma=1e+0", photos / "b.png", "-o", tmp_path / "plus.png")
    plain = run("apply", "gaussian:sigma=1", photos / "b.png", "-o", tmp_path / "plain.png")
    assert plus.returncode == 0 and plain.returncode == 0, (plus.stderr, plain.stderr)
    assert np.array_equal(load(tmp_path / "plus.png"), load(tmp_path / "plain.png"))
    assert not np.array_equal(load(tmp_path / "plus.png"), load(photos / "b.png"))


# -- workers, summary ---------------------------------------------------------------------------
def test_workers_give_identical_bytes_and_summary_unless_quiet(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    base = load(SAMPLES / "coffee.png")
    for i in range(8):
        cv2.imwrite(str(root / f"p{i}.png"), np.roll(base, 23 * i, axis=0))
    one = run("apply", "laplacian", root, "-o", tmp_path / "w1", "--workers", "1")
    two = run("apply", "laplacian", root, "-o", tmp_path / "w2", "--workers", "2", "--quiet")
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    assert summary_counts(one) == (8, 0, 0)
    assert len(stderr_lines(one)) == 1
    assert two.stderr == b"" and two.stdout == b""
    assert files_under(tmp_path / "w1") == files_under(tmp_path / "w2") == {f"p{i}.png" for i in range(8)}
    for i in range(8):
        assert (tmp_path / "w1" / f"p{i}.png").read_bytes() == (tmp_path / "w2" / f"p{i}.png").read_bytes()
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    assert_filtered(tmp_path / "w2" / "p3.png", root / "p3.png", laplacian)


# -- Ctrl-C -------------------------------------------------------------------------------------
def wait_for_group_to_end(pgid: int, seconds: float = 5) -> bool:
    """True when no process of the group remains (killing the rest if some do)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)
    return False


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    image = cv2.resize(load(SAMPLES / "astronaut.png"), (1200, 1200), interpolation=cv2.INTER_CUBIC)
    image = cv2.add(image, np.random.default_rng(4).integers(0, 24, image.shape, dtype=np.uint8))
    ok, buf = cv2.imencode(".png", image)
    for i in range(30):
        buf.tofile(str(root / f"img{i:02d}.png"))  # separate files, same content
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgconv", "apply", "gaussian:size=31", str(root), "-o", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(1.5)
        deadline = time.monotonic() + 20  # a loaded machine: wait until the batch is under way
        while not glob.glob(str(out / "*.png")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the batch finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert wait_for_group_to_end(proc.pid), "worker processes outlived imgconv"
    err = stderr.decode()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert stdout == b""
    no_temporaries(tmp_path)
    written = sorted(files_under(out)) if out.exists() else []
    assert len(written) < 30, "nothing was interrupted"
    g = cv2.getGaussianKernel(31, 0)
    expect = filt(image, g @ g.T)
    for name in written:
        assert name.startswith("img") and name.endswith(".png"), written
        assert np.array_equal(load(out / name), expect), name  # complete, correct files only


def test_ctrl_c_while_a_worker_waits_for_work(tmp_path: Path) -> None:
    # Two files, two workers: one worker finishes the small file and then waits for work
    # while the other is still busy with the big one. Ctrl-C reaches both (the terminal
    # sends SIGINT to the whole foreground process group): the waiting one must not print
    # a Python traceback either.
    root = tmp_path / "in"
    root.mkdir()
    image = load(SAMPLES / "astronaut.png")
    cv2.imwrite(str(root / "a-big.png"), cv2.resize(image, (2500, 2500), interpolation=cv2.INTER_CUBIC))
    cv2.imwrite(str(root / "b-small.png"), image[:64, :64])
    chain = "+".join(["gaussian:size=31"] * 12)  # slow enough on the big one
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgconv", "apply", chain, str(root), "-o", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (out / "b-small.png").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the worker that wrote it is back, waiting for the next job
        assert proc.poll() is None and not (out / "a-big.png").exists(), "the big file was done too soon"
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert wait_for_group_to_end(proc.pid), "worker processes outlived imgconv"
    err = stderr.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "interrupted" in err, err
    assert stdout == b""
    no_temporaries(tmp_path)
    assert files_under(out) == {"b-small.png"}


# -- pipelines ----------------------------------------------------------------------------------
def test_stdin_to_stdout_png(photos: Path) -> None:
    proc = run("apply", "edge", "-", "-o", "-", "--format", "png", stdin=(photos / "b.png").read_bytes())
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    assert proc.stdout.startswith(b"\x89PNG\r\n\x1a\n") and proc.stdout.endswith(b"IEND\xaeB`\x82")
    assert np.array_equal(decode(proc.stdout), filt(load(photos / "b.png"), EDGE))


def test_empty_stdin_is_a_one_line_error() -> None:
    proc = run("apply", "edge", "-", "-o", "-", "--format", "png", stdin=b"")
    assert proc.returncode == 1 and proc.stdout == b""
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("imgconv: "), lines


def test_stdin_that_is_a_terminal_is_refused_at_once(tmp_path: Path) -> None:
    # `imgconv apply blur -` typed without a pipe: reading would wait for the user forever
    import pty

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", "blur", "-", "-o", str(tmp_path / "x.png")],
                              stdin=terminal, capture_output=True, timeout=30)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 1 and proc.stdout == b""
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("imgconv: -: standard input is a terminal"), lines
    assert not (tmp_path / "x.png").exists()


def test_truncated_png_on_stdin(photos: Path) -> None:
    data = (photos / "b.png").read_bytes()
    proc = run("apply", "edge", "-", "-o", "-", "--format", "png", stdin=data[: len(data) * 2 // 3])
    assert proc.returncode == 1 and proc.stdout == b""
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("imgconv: "), lines


def test_reader_closing_early_is_quiet(tmp_path: Path) -> None:
    big = tmp_path / "noise.png"
    cv2.imwrite(str(big), np.random.default_rng(2).integers(0, 256, (1400, 1400, 3), dtype=np.uint8))
    err = tmp_path / "err.txt"
    proc = subprocess.run(
        f'"{sys.executable}" -m imgconv apply edge - -o - --format png < "{big}" 2> "{err}" | head -c 100 > /dev/null;'
        ' echo "${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        stdout=subprocess.PIPE,
        timeout=60,
    )
    assert err.read_bytes() == b"", err.read_text()
    assert int(proc.stdout.decode().strip()) != 0  # it could not deliver the image


def test_stdout_is_only_image_bytes_with_a_report_file(photos: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = run("apply", "sharpen", "-", "-o", "-", "--format", "png", "--report", report, stdin=(photos / "a.png").read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x89PNG\r\n\x1a\n") and proc.stdout.endswith(b"IEND\xaeB`\x82")
    assert np.array_equal(decode(proc.stdout), filt(load(photos / "a.png"), SHARPEN))
    records = json.loads(report.read_text())
    assert len(records) == 1 and set(records[0]) == REPORT_KEYS
    assert records[0]["input"] == "-" and records[0]["output"] == "-" and records[0]["status"] == "done"


def test_report_dash_with_image_to_stdout_is_refused(photos: Path) -> None:
    proc = run("apply", "edge", photos / "a.png", "-o", "-", "--report", "-")
    assert proc.returncode == 2 and proc.stdout == b""
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("imgconv: ")


# -- the runner's executor is replaceable -------------------------------------------------------
class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that remembers the most jobs it ever held at once."""

    def __init__(self, n: int) -> None:
        super().__init__(max_workers=n)
        self.lock = threading.Lock()
        self.held = 0
        self.most = 0
        self.submitted = 0
        self.closed = False

    def submit(self, fn, /, *args, **kwargs):  # noqa: ANN001, ANN201
        with self.lock:
            self.held += 1
            self.submitted += 1
            self.most = max(self.most, self.held)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future) -> None:  # noqa: ANN001
        with self.lock:
            self.held -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.closed = True
        super().shutdown(wait=wait, cancel_futures=cancel_futures)


def shifted_copies(root: Path, base: np.ndarray, prefix: str, count: int, step: int, *, broken: int) -> Path:
    """``count`` PNGs ``{prefix}00.png ...`` of ``base`` rolled by ``step * i`` columns;
    number ``broken`` is a corrupt PNG instead."""
    root.mkdir()
    for i in range(count):
        cv2.imwrite(str(root / f"{prefix}{i:02d}.png"), np.roll(base, step * i, axis=1))
    (root / f"{prefix}{broken:02d}.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return root


def test_run_jobs_with_a_thread_pool_executor(tmp_path: Path) -> None:
    from imgconv.batch import find_inputs, plan_jobs, run_jobs
    from imgconv.kernels import load_kernel_chain
    from imgconv.options import FilterOptions

    root = shifted_copies(tmp_path / "in", load(SAMPLES / "camera.png")[:128, :128], "t", 12, 5, broken=5)
    jobs = plan_jobs(find_inputs([str(root)]), str(tmp_path / "out"), "edge")
    assert len(jobs) == 12
    made: list[CountingExecutor] = []

    def factory(n: int) -> CountingExecutor:
        made.append(CountingExecutor(n))
        return made[0]

    consumed = []

    def lazily():
        for job in jobs:
            consumed.append(job)
            yield job

    results = run_jobs(lazily(), load_kernel_chain("edge"), FilterOptions(), workers=2, executor_factory=factory)
    first = next(results)
    assert len(consumed) < len(jobs), "the runner read every job before the first result"
    everything = [first, *results]
    assert len(made) == 1 and made[0].submitted == 12
    assert made[0].most <= 4  # bounded: at most 2 x workers in flight
    assert len(everything) == 12
    assert sorted(r.job.input for r in everything) == sorted(j.input for j in jobs)
    status = {os.path.basename(r.job.input): r.status for r in everything}
    assert status.pop("t05.png") == "failed" and set(status.values()) == {"done"}
    for i in range(12):
        if i != 5:
            assert_filtered(tmp_path / "out" / f"t{i:02d}.png", root / f"t{i:02d}.png", EDGE)
    assert made[0].closed  # the runner closed the executor it was given


def test_jobs_planned_as_skipped_are_reported_in_order_without_a_worker(tmp_path: Path) -> None:
    from dataclasses import replace

    from imgconv.batch import Job, run_jobs
    from imgconv.kernels import load_kernel_chain
    from imgconv.options import FilterOptions

    copy_sample("camera.png", tmp_path / "a.png")
    real = Job(str(tmp_path / "a.png"), str(tmp_path / "a.edge.png"))
    skipped = [replace(Job(str(tmp_path / f"s{i}.png"), str(tmp_path / f"s{i}.x.png")), skip=f"skipped: note {i}")
               for i in range(5)]
    jobs = [skipped[0], real, *skipped[1:]]
    made: list[CountingExecutor] = []

    def factory(n: int) -> CountingExecutor:
        made.append(CountingExecutor(n))
        return made[0]

    results = list(run_jobs(jobs, load_kernel_chain("edge"), FilterOptions(), workers=2, executor_factory=factory))
    assert made[0].submitted == 1  # only the real job went to the executor
    notes = [r.explanation for r in results if r.status == "skipped"]
    assert notes == [f"skipped: note {i}" for i in range(5)]
    assert [r.status for r in results].count("done") == 1
    assert_filtered(tmp_path / "a.edge.png", tmp_path / "a.png", EDGE)
    assert not any(p.name.startswith("s") for p in tmp_path.iterdir())  # nothing made for them


def test_worker_processes_after_opencv_ran_in_this_process(tmp_path: Path) -> None:
    # A library user who used OpenCV (here: a diff heat map, which starts OpenCV's thread
    # pool) and then runs a batch in worker processes: a forked worker waited forever in
    # cv2.setNumThreads for pool threads that do not exist in the child. Run in a fresh
    # interpreter, with a timeout, so that a hang fails the test.
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(tmp_path / name), np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    script = f"""
import numpy as np, imgconv
from imgconv.batch import find_inputs, plan_jobs, run_jobs
from imgconv.options import FilterOptions
a = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
imgconv.heatmap(a, a ^ 1)
jobs = plan_jobs(find_inputs([{str(tmp_path)!r}]), {str(tmp_path / 'out')!r}, "blur")
results = list(run_jobs(jobs, [imgconv.load_kernel("blur")], FilterOptions(), workers=2))
print(sorted(r.status for r in results))
"""
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker processes hung")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "['done', 'done', 'done']"


@pytest.mark.parametrize("openblas_threads", [None, "1"])
def test_forked_workers_inherit_opencv_loaded_once_before_the_fork(tmp_path: Path, openblas_threads) -> None:
    # two workers loading OpenCV at once took 50-100 ms of wall time; loaded in the main
    # process just before the fork, it costs 40 ms once and the workers share its pages.
    # Without OPENBLAS_NUM_THREADS (a library user), loading it starts its OpenBLAS's
    # threads before the fork: the workers must still run (a timeout fails the test).
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(tmp_path / name), np.random.default_rng(6).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    script = f"""
import sys, numpy, imgconv
from imgconv.batch import find_inputs, plan_jobs, run_jobs
from imgconv.batch.run import _start_context
from imgconv.options import FilterOptions
print(_start_context().get_start_method(), 'cv2' in sys.modules)
jobs = plan_jobs(find_inputs([{str(tmp_path)!r}]), {str(tmp_path / 'out')!r}, "blur")
print(sorted(r.status for r in run_jobs(jobs, [imgconv.load_kernel("blur")], FilterOptions(), workers=2)))
"""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if openblas_threads:
        env["OPENBLAS_NUM_THREADS"] = openblas_threads
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker processes hung")
    assert proc.returncode == 0, proc.stderr.decode()
    # where there is no fork, the workers start afresh and nothing is loaded for them
    methods = multiprocessing.get_all_start_methods()
    first = "fork True" if "fork" in methods else ("forkserver" if "forkserver" in methods else "spawn") + " False"
    assert proc.stdout.decode().split("\n")[:2] == [first, "['done', 'done', 'done']"]
    for name in ("a", "b", "c"):
        assert_filtered(tmp_path / "out" / f"{name}.png", tmp_path / f"{name}.png", BLUR)


# -- jobs travel to the worker processes in small groups --------------------------------------
def test_chunk_size_groups_only_large_batches() -> None:
    from imgconv.batch.run import _chunk_size

    assert _chunk_size(200, 2) == 4
    assert _chunk_size(40, 2) == 2
    assert _chunk_size(30, 2) == 1  # the last tasks must still spread out
    assert _chunk_size(5, 2) == 1
    assert _chunk_size(None, 2) == 1  # a lazy iterable: unknown length


def test_large_batch_in_groups_reports_every_file(tmp_path: Path) -> None:
    # 70 files on 2 workers go 4, then 3, 2 and 1 to a task; a corrupt file inside a
    # group fails alone
    root = shifted_copies(tmp_path / "in", load(SAMPLES / "coffee.png")[:48, :64], "p", 70, 3, broken=33)
    out, report = tmp_path / "out", tmp_path / "r.json"
    proc = run("apply", "edge", root, "-o", out, "--workers", "2", "--report", report, "--quiet")
    assert proc.returncode == 1, proc.stderr.decode()
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "p33.png" in lines[0], lines
    records = json.loads(report.read_text())
    assert sorted(os.path.basename(r["input"]) for r in records) == sorted(f"p{i:02d}.png" for i in range(70))
    assert {os.path.basename(r["input"]): r["status"] for r in records}.pop("p33.png") == "failed"
    assert sum(r["status"] == "done" for r in records) == 69
    for i in range(70):
        if i != 33:
            assert_filtered(out / f"p{i:02d}.png", root / f"p{i:02d}.png", EDGE)
    assert not (out / "p33.png").exists()


def test_interrupted_group_returns_the_jobs_done_before(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import signal

    import imgconv.batch.run as jobs_module

    ran = []

    def fake_run_job(job, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if job == "third":
            raise KeyboardInterrupt  # as run_job does once it has removed its partial file
        ran.append(job)
        return f"result of {job}"

    monkeypatch.setattr(jobs_module, "run_job", fake_run_job)
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(jobs_module._Interrupted) as stopped:
            jobs_module._run_in_worker(["first", "second", "third", "fourth"], [], None, jobs_module.JobSettings())
    finally:
        signal.signal(signal.SIGINT, before)
    got = stopped.value.args[0]
    assert got == ["result of first", "result of second"]
    assert ran == ["first", "second"]  # nothing after the interrupted job starts

    # the main process hands over those results, then stops as if Ctrl-C had reached it
    finished, interrupted = concurrent.futures.Future(), concurrent.futures.Future()
    finished.set_result(["result of zero"])
    interrupted.set_exception(stopped.value)
    handed = []
    with pytest.raises(KeyboardInterrupt):
        for result in jobs_module._collect([finished, interrupted]):
            handed.append(result)
    assert handed == ["result of zero", "result of first", "result of second"]


def test_workers_default_to_the_cpus_this_process_may_use(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import imgconv.batch
    from imgconv.cli import main

    for name in ("a.png", "b.png", "c.png"):
        copy_sample("camera.png", tmp_path / "in" / name)
    seen = []
    real = imgconv.batch.run_jobs

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(kwargs["workers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(imgconv.batch, "run_jobs", spy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)  # as under taskset -c 0
    assert main(["apply", "edge", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert seen == [1]
    assert_filtered(tmp_path / "out" / "a.png", tmp_path / "in" / "a.png", EDGE)


def test_the_numpy_engine_uses_one_thread_when_pinned_to_one_cpu(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.random.default_rng(0).integers(0, 256, (1500, 1500, 3), dtype=np.uint8))
    command = [sys.executable, "-m", "imgconv", "apply", "box:size=15", str(big), "--engine", "numpy", "--dry-run"]
    cpus = sorted(os.sched_getaffinity(0))
    free = subprocess.run(command, capture_output=True, timeout=60)
    # as `taskset -c N` does: the child may run on one CPU only
    pinned = subprocess.run(command, capture_output=True, timeout=60,
                            preexec_fn=lambda: os.sched_setaffinity(0, {cpus[0]}))
    assert free.returncode == pinned.returncode == 0, (free.stderr, pinned.stderr)
    assert (f"{len(cpus)} threads" in free.stderr.decode()) == (len(cpus) > 1)
    assert "threads" not in pinned.stderr.decode()


def test_path_keys_are_realpath_with_each_folder_resolved_once(tmp_path: Path, monkeypatch) -> None:
    from imgconv.batch.plan import _path_keys

    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "a.png").write_bytes(b"x")
    (tmp_path / "linked").symlink_to(tmp_path / "real")  # a folder link
    (tmp_path / "real" / "b.png").symlink_to(tmp_path / "real" / "a.png")  # a file link
    (tmp_path / "real" / "gone.png").symlink_to(tmp_path / "nowhere.png")  # dangling
    (tmp_path / "real" / "loop.png").symlink_to(tmp_path / "real" / "loop.png")  # a loop
    monkeypatch.chdir(tmp_path)
    paths = [
        "real/a.png", "linked/a.png", "linked/b.png", "linked/gone.png", "linked/loop.png",
        "linked/sub/../a.png", "linked/../real/a.png", "linked/new.png", "missing/dir/out.png",
        "a.png", "./linked/sub/", "linked", ".", "..", str(tmp_path / "linked" / "b.png"), "linked/sub/..",
    ]
    key = _path_keys()
    for path in paths * 2:  # the second time from the cached folders
        assert key(path) == os.path.normcase(os.path.realpath(path)), path


@pytest.mark.parametrize("spelling", ["tree", "tree/", "./tree", "tree/../tree", "ABS", "."])
def test_found_files_are_named_relative_to_the_folder_however_it_is_spelt(tmp_path: Path, monkeypatch,
                                                                           spelling: str) -> None:
    from imgconv.batch import find_inputs

    for name in ("a.png", "sub/b.png", "sub/deep/c.png"):
        copy_sample("camera.png", tmp_path / "tree" / name)
    monkeypatch.chdir(tmp_path if spelling != "." else tmp_path / "tree")
    folder = str(tmp_path / "tree") if spelling == "ABS" else spelling
    sources = find_inputs([folder], recursive=True)
    assert len(sources) == 3
    for source in sources:
        assert source.relative == os.path.relpath(source.path, folder)
    assert sorted(s.relative for s in sources) == sorted(os.path.join(*n.split("/")) for n in ("a.png", "sub/b.png", "sub/deep/c.png"))


def test_fifos_and_sockets_in_a_folder_are_listed_as_skipped_never_opened(tmp_path) -> None:  # noqa: ANN001
    import json
    import socket
    import subprocess
    import sys

    import cv2

    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 8), np.uint8))
    os.mkfifo(folder / "b.png")  # opened, it would block until a writer came
    os.mkfifo(folder / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "s.sock"))
    try:
        proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", "blur", str(folder), "-o",
                               str(tmp_path / "out"), "--report", str(tmp_path / "report.json")],
                              capture_output=True, text=True, timeout=60)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert f"{folder / 'b.png'}: skipped: a FIFO (named pipe), not a regular file (never opened)" in lines
    assert f"{folder / 'pipe'}: skipped: a FIFO (named pipe), not a regular file (never opened)" in lines
    assert f"{folder / 's.sock'}: skipped: a socket, not a regular file (never opened)" in lines
    assert lines[-1].startswith("1 done, 0 failed, 3 skipped")
    records = {os.path.basename(r["input"]): r for r in json.loads((tmp_path / "report.json").read_text())}
    assert records["a.png"]["status"] == "done"
    assert {n: (r["status"], r["reason"].split(",")[0]) for n, r in records.items() if n != "a.png"} == {
        "b.png": ("skipped", "skipped: a FIFO (named pipe)"), "pipe": ("skipped", "skipped: a FIFO (named pipe)"),
        "s.sock": ("skipped", "skipped: a socket")}
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png"]
