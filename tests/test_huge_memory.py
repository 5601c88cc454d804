"""Images larger than the memory budget, through the installed CLI (issue 16).

The peak memory of a streamed run is the operating system's own account of the child
process (``ru_maxrss`` from ``os.wait4``), against a budget many times smaller than the
image; an image that cannot stream is refused before it is decoded, in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")
zarr = pytest.importorskip("zarr")

IMGCONV = shutil.which("imgconv") or ""


# A child forked from pytest starts with pytest's peak memory as its own (Linux carries
# ru_maxrss over fork and exec): a small launcher forks imgconv and reports its own peak.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024, file=sys.stderr)
"""


def _run(*args: str) -> tuple[int, str, int]:
    """Exit code, stderr and peak resident memory (bytes) of ``imgconv ARGS``."""
    command = [IMGCONV, *args] if IMGCONV else [sys.executable, "-m", "imgconv", *args]
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *command], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=600)
    *lines, last = proc.stderr.decode().splitlines()
    code, peak = last.split()
    return int(code), "\n".join(lines) + ("\n" if lines else ""), int(peak)  # ru_maxrss: KiB on Linux


def _smooth_rows(y0: int, y1: int, width: int) -> np.ndarray:
    """Rows of a smooth pattern with some texture (compresses, and has edges to filter)."""
    y = np.arange(y0, y1, dtype=np.int64)[:, None]
    x = np.arange(width, dtype=np.int64)[None, :]
    return ((x * 7 + y * 3) % 256 ^ ((x // 64 + y // 64) % 2) * 40).astype(np.uint8)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_a_grey_image_six_times_the_budget_streams_within_it(tmp_path) -> None:
    side, tile = 20000, 256
    source, target = tmp_path / "big.tif", tmp_path / "out.tif"

    def tiles():
        for y in range(0, side, tile):
            band = _smooth_rows(y, min(side, y + tile), side)
            for x in range(0, side, tile):
                yield band[:, x : x + tile]

    tifffile.imwrite(source, tiles(), shape=(side, side), dtype=np.uint8, tile=(tile, tile), bigtiff=True,
                     compression="zlib")
    # the same command on a small image: the interpreter, numpy, OpenCV and tifffile alone
    small = tmp_path / "small.tif"
    tifffile.imwrite(small, _smooth_rows(0, 600, 600), tile=(tile, tile), compression="zlib")
    code, err, baseline = _run("apply", "box:size=3", str(small), "-o", str(tmp_path / "small-out.tif"),
                               "--max-memory", "64K")
    assert code == 0, err
    code, err, peak = _run("apply", "box:size=3", str(source), "-o", str(target), "--max-memory", "64M")
    assert code == 0, err
    # 400 MB of pixels (and as much out) under a 64 MiB budget: what the budget bounds is
    # what the run adds to the process it shares with the libraries
    assert 40 << 20 < baseline < peak and peak - baseline < 96 << 20, (peak >> 20, baseline >> 20)
    with tifffile.TiffFile(target) as tif:
        assert tif.series[0].shape == (side, side) and tif.pages[0].is_tiled
        stored = zarr.open(tif.aszarr(), mode="r")
        # rows across a band boundary in the middle, and the last rows (the bottom border),
        # against OpenCV on the same rows with one more above and below
        for y0 in (9_990, side - 40):
            rows = _smooth_rows(y0 - 1, min(side, y0 + 41), side)  # ends with the image: its border
            expected = cv2.blur(rows, (3, 3), borderType=cv2.BORDER_REFLECT_101)[1:41]
            assert np.array_equal(stored[y0 : y0 + 40], expected), y0


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_an_image_that_cannot_stream_is_refused_before_decoding(tmp_path, suffix: str) -> None:
    source = tmp_path / f"big{suffix}"
    assert cv2.imwrite(str(source), np.zeros((6000, 5000, 3), np.uint8))  # 90 MB decoded, a small file
    before = source.read_bytes()
    target = tmp_path / "out.png"
    code, err, _ = _run("apply", "blur", str(source), "-o", str(target), "--max-memory", "64M")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(source) in lines[0] and "more than --max-memory" in lines[0] and "tiled TIFF" in lines[0]
    assert not target.exists() and source.read_bytes() == before
    assert os.listdir(tmp_path) == [source.name]  # nothing left behind


def test_a_tiff_with_an_output_that_cannot_stream_is_told_what_can(tmp_path) -> None:
    source = tmp_path / "big.tif"
    tifffile.imwrite(source, np.zeros((6000, 5000), np.uint8))
    code, err, _ = _run("apply", "blur", str(source), "-o", str(tmp_path / "out.png"), "--max-memory", "16M")
    assert code == 1 and "write a .tif output" in err and len(err.strip().splitlines()) == 1, err


def test_a_chain_with_stride_streams_and_explain_and_dry_run_say_so(tmp_path) -> None:
    import imgconv

    image = np.random.default_rng(5).integers(0, 256, (700, 300, 3), dtype=np.uint8)
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, image, photometric="rgb", tile=(64, 64))
    chain = "gaussian:size=15,sigma=3+sharpen"  # OpenCV's DFT, then a direct sum
    expect = imgconv.apply(imgconv.apply(image, "gaussian:size=15,sigma=3", stride=2), "sharpen", stride=2)
    code, err, _ = _run("apply", chain, str(source), "-o", str(tmp_path / "plan.tif"), "--max-memory", "64K",
                        "--stride", "2", "--dry-run")
    assert code == 0 and not (tmp_path / "plan.tif").exists(), err
    assert err.count("streamed in bands of") == 2, err  # one line, a part for each kernel
    code, err, _ = _run("apply", chain, str(source), "-o", str(tmp_path / "out.tif"), "--max-memory", "64K",
                        "--stride", "2", "--explain")
    assert code == 0 and "streamed in bands of" in err, err
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.is_bigtiff and tif.pages[0].is_tiled  # the streamed writer's, not OpenCV's
        assert np.array_equal(tif.asarray(), expect)
