"""Zarr images in and out of the CLI, streamed band by band (issue 16).

Oracles: zarr and tifffile read what imgconv wrote; imgconv.apply on the same pixels in
memory (checked against OpenCV elsewhere) is what they must hold.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import imgconv

zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", "apply", *args], capture_output=True, text=True,
                          timeout=300)


def _image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _ome(path: Path, data: np.ndarray, axes: str) -> None:
    """An OME-Zarr image: a group whose multiscales metadata names array 0 and its axes."""
    group = zarr.open_group(str(path), mode="w")
    array = group.create_array("0", shape=data.shape, chunks=tuple(min(s, 64) for s in data.shape), dtype=data.dtype)
    array[:] = data
    kinds = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
    group.attrs["multiscales"] = [{"axes": [{"name": a, "type": kinds[a]} for a in axes], "datasets": [{"path": "0"}]}]


def test_tiff_to_zarr_and_back_with_a_chain(tmp_path: Path) -> None:
    image = _image((600, 300, 3))
    tifffile.imwrite(tmp_path / "in.tif", image, photometric="rgb")
    proc = cli("gaussian:size=15,sigma=3+sharpen", str(tmp_path / "in.tif"), "-o", str(tmp_path / "out.zarr"))
    assert proc.returncode == 0, proc.stderr
    expect = imgconv.apply(imgconv.apply(image, "gaussian:size=15,sigma=3"), "sharpen")
    stored = zarr.open(str(tmp_path / "out.zarr"), mode="r")
    assert stored.shape == expect.shape and stored.chunks == (256, 256, 3)  # whole rows of chunks per write
    assert np.array_equal(stored[:], expect)
    proc = cli("edge", str(tmp_path / "out.zarr"), "-o", str(tmp_path / "back.tif"), "--stride", "2")
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(tifffile.imread(tmp_path / "back.tif"), imgconv.apply(expect, "edge", stride=2))


@pytest.mark.parametrize("axes", ["yx", "yxc", "cyx", "tczyx", "czyx"])
def test_ome_zarr_axes(tmp_path: Path, axes: str) -> None:
    image = _image((130, 90, 3) if "c" in axes else (130, 90), seed=1)
    data = image if axes in ("yx", "yxc") else np.moveaxis(image, 2, 0)  # channels first
    data = {"tczyx": data[None, :, None], "czyx": data[:, None]}.get(axes, data)
    _ome(tmp_path / "in.zarr", np.ascontiguousarray(data), axes)
    proc = cli("emboss", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.tif"), "--engine", "numpy")
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(tifffile.imread(tmp_path / "out.tif"), imgconv.apply(image, "emboss"))


def test_a_folder_holds_zarr_images_and_outputs_are_replaced_only_when_asked(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    image = _image((80, 70), seed=2)
    zarr.create_array(str(folder / "scan.zarr"), shape=image.shape, chunks=(32, 32), dtype=image.dtype)[:] = image
    tifffile.imwrite(folder / "small.tif", image)
    proc = cli("blur", str(folder), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["scan.zarr", "small.tif"]  # not walked into
    assert np.array_equal(zarr.open(str(tmp_path / "out" / "scan.zarr"), mode="r")[:], imgconv.apply(image, "blur"))
    again = cli("sharpen", str(folder / "scan.zarr"), "-o", str(tmp_path / "out" / "scan.zarr"))
    assert again.returncode == 1 and "output exists" in again.stderr
    again = cli("sharpen", str(folder / "scan.zarr"), "-o", str(tmp_path / "out" / "scan.zarr"), "--overwrite",
                "--compression", "deflate")
    assert again.returncode == 0, again.stderr
    assert np.array_equal(zarr.open(str(tmp_path / "out" / "scan.zarr"), mode="r")[:], imgconv.apply(image, "sharpen"))
    assert [p for p in os.listdir(tmp_path / "out") if p.startswith(".")] == []


def test_errors_leave_nothing_behind(tmp_path: Path) -> None:
    image = _image((300, 40), seed=3)
    array = zarr.create_array(str(tmp_path / "in.zarr"), shape=image.shape, chunks=(50, 40), dtype=image.dtype,
                              compressors=[zarr.codecs.ZstdCodec()])
    array[:] = image
    checks = [
        (["-o", str(tmp_path / "out.png"), "--max-memory", "8K"], 1, "write a .tif or .zarr output"),
        (["-o", str(tmp_path / "out.zarr"), "--compression", "lzw"], 2, "not for Zarr outputs"),
        (["-o", str(tmp_path / "out.zarr"), "--transposed", "--stride", "2"], 2, "transposed"),
    ]
    for args, code, words in checks:
        proc = cli("blur", str(tmp_path / "in.zarr"), *args)
        assert proc.returncode == code and words in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    (tmp_path / "in.zarr" / "c" / "3" / "0").write_bytes(b"not zstd data")  # zarr v3's chunk of rows 150-199
    proc = cli("blur", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.zarr"))
    assert proc.returncode == 1 and "damaged Zarr chunk" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.zarr"]  # no output, no temporary folder


def test_a_small_zarr_image_to_another_format_is_read_into_memory(tmp_path: Path) -> None:
    import cv2

    image = _image((90, 70, 3), seed=5)
    zarr.create_array(str(tmp_path / "in.zarr"), shape=image.shape, chunks=(32, 32, 3), dtype=image.dtype)[:] = image
    proc = cli("sharpen", str(tmp_path / "in.zarr"), "-o", str(tmp_path / "out.png"))
    assert proc.returncode == 0, proc.stderr
    written = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]  # OpenCV gives BGR
    assert np.array_equal(written, imgconv.apply(image, "sharpen"))
