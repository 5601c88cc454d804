"""TIFF in, tiled BigTIFF out, band by band (imgconv.bigtiff.filter_tiff), on real files.

The oracle is imgconv.apply on the image tifffile decodes whole; the output is read back
with tifffile and its layout (BigTIFF, tiles) checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

import imgconv
from imgconv.bigtiff import COMPRESSIONS, filter_tiff
from imgconv.errors import ImageReadError, ImageWriteError, UsageError
from imgconv.options import FilterOptions
from imgconv.zarrs import open_zarr


def _write(path: Path, image: np.ndarray, **layout) -> Path:  # noqa: ANN003
    tifffile.imwrite(path, image, **layout)
    return path


@pytest.mark.parametrize("layout", [{"tile": (32, 32), "compression": "zlib"}, {"rowsperstrip": 7}, {}])
@pytest.mark.parametrize("border", ["reflect101", "wrap", "constant"])
def test_a_streamed_tiff_equals_the_in_memory_result(tmp_path: Path, layout: dict, border: str) -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (150, 97, 3), dtype=np.uint8)
    source = _write(tmp_path / "in.tif", image, photometric="rgb", **layout)
    options = FilterOptions(border=border, border_value=9)
    # a memory budget that allows one 16-row tile per band: ten bands for 150 rows
    done = filter_tiff(source, tmp_path / "out.tif", "gaussian:size=9,sigma=2", options, memory=1, tile=16)
    assert done["band_rows"] == 16 and done["bands"] == 10
    out = tifffile.imread(tmp_path / "out.tif")
    assert np.array_equal(out, imgconv.apply(image, "gaussian:size=9,sigma=2", options))
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        page = tif.pages[0]
        assert tif.is_bigtiff and page.is_tiled and (page.tilelength, page.tilewidth) == (16, 16)


def test_16_bit_grey_to_float_and_the_compressions(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 65536, (70, 45), dtype=np.uint16)
    source = _write(tmp_path / "in.tif", image)
    options = FilterOptions(depth="float32", engine="numpy")
    expect = imgconv.apply(image, "sobel-x", options)
    codecs = {"zstd": "ZSTD", "deflate": "ADOBE_DEFLATE", "lzw": "LZW", "none": "NONE"}
    assert set(COMPRESSIONS) == set(codecs)
    for compression, codec in codecs.items():
        target = tmp_path / f"{compression}.tif"
        filter_tiff(source, target, "sobel-x", options, memory=1, tile=32, compression=compression)
        assert np.array_equal(tifffile.imread(target), expect), compression
        with tifffile.TiffFile(target) as tif:  # what another reader sees in the file's tags
            assert tif.pages[0].compression.name == codec, compression
            predicted = compression != "none"
            assert (int(tif.pages[0].predictor) != 1) == predicted, compression


def test_a_band_follows_the_memory_budget(tmp_path: Path) -> None:
    image = np.random.default_rng(2).integers(0, 256, (600, 500, 3), dtype=np.uint8)
    source = _write(tmp_path / "in.tif", image, photometric="rgb")
    rows = {}
    for memory in (1, 4 << 20, 64 << 20):
        done = filter_tiff(source, tmp_path / f"{memory}.tif", "blur", memory=memory, tile=32, overwrite=True)
        rows[memory] = done["band_rows"]
        assert np.array_equal(tifffile.imread(tmp_path / f"{memory}.tif"), imgconv.apply(image, "blur"))
    assert rows[1] == 32  # at least a row of tiles
    # else whole rows of tiles whose pixels (in and out, two bands in flight) fit the budget
    assert rows[4 << 20] % 32 == 0 and 32 < rows[4 << 20] and 4 * rows[4 << 20] * 1500 <= 4 << 20
    assert rows[64 << 20] >= 600  # the whole image in one band


def test_refusals_leave_nothing_behind(tmp_path: Path) -> None:
    image = np.zeros((20, 20), np.uint8)
    source = _write(tmp_path / "in.tif", image)
    with pytest.raises(ImageWriteError, match="never overwrites an input"):
        filter_tiff(source, source, "blur", overwrite=True)
    (tmp_path / "out.tif").write_bytes(b"precious")
    with pytest.raises(ImageWriteError, match="output exists"):
        filter_tiff(source, tmp_path / "out.tif", "blur")
    assert (tmp_path / "out.tif").read_bytes() == b"precious"
    with pytest.raises(ImageReadError, match="no such file"):
        filter_tiff(tmp_path / "missing.tif", tmp_path / "x.tif", "blur")
    (tmp_path / "fake.tif").write_bytes(b"II*\x00 not really a tiff")
    with pytest.raises(ImageReadError, match="not a TIFF"):
        filter_tiff(tmp_path / "fake.tif", tmp_path / "y.tif", "blur")
    with pytest.raises(UsageError, match="compression"):
        filter_tiff(source, tmp_path / "z.tif", "blur", compression="jpeg2000")
    with pytest.raises(UsageError, match="minimum and maximum"):
        filter_tiff(source, tmp_path / "w.tif", "blur", FilterOptions(post="stretch"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.tif", "in.tif", "out.tif"]  # no temporary files


def test_the_cli_streams_a_tiff_over_max_memory_and_keeps_the_rest_in_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    rng = np.random.default_rng(6)
    image = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    source = _write(tmp_path / "in.tif", image, photometric="rgb", rowsperstrip=8)
    command = [sys.executable, "-m", "imgconv", "apply"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)

    streamed = run("sharpen", str(source), "-o", str(tmp_path / "out.tif"), "--max-memory", "64K")
    in_memory = run("sharpen", str(source), "-o", str(tmp_path / "mem.tif"))
    assert streamed.returncode == 0 and in_memory.returncode == 0, (streamed.stderr, in_memory.stderr)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif, tifffile.TiffFile(tmp_path / "mem.tif") as mem:
        assert tif.is_bigtiff and tif.pages[0].is_tiled and not mem.is_bigtiff  # which way each went
        assert np.array_equal(tif.asarray(), mem.asarray())
        assert np.array_equal(tif.asarray(), imgconv.apply(image, "sharpen"))
    # a PNG output cannot be written in bands: refused before decoding, saying what can
    png = run("sharpen", str(source), "-o", str(tmp_path / "out.png"), "--max-memory", "64K")
    assert png.returncode == 1 and "write a .tif output" in png.stderr
    assert not (tmp_path / "out.png").exists()
    bad = run("sharpen", str(source), "-o", str(tmp_path / "bad.tif"), "--max-memory", "lots")
    assert bad.returncode == 2 and "--max-memory takes a size such as 512M" in bad.stderr


def test_compression_of_tiff_outputs_filtered_in_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    # (not RGBA: OpenCV reads a TIFF's unassociated alpha premultiplied, whatever is written)
    image = np.random.default_rng(8).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    source = _write(tmp_path / "in.tif", image, photometric="rgb")
    expect = imgconv.apply(image, "blur")
    codecs = {"zstd": "ZSTD", "deflate": "ADOBE_DEFLATE", "lzw": "LZW", "none": "NONE"}
    for compression, codec in codecs.items():
        target = tmp_path / f"{compression}.tif"
        proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", "blur", str(source), "-o", str(target),
                               "--compression", compression], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        with tifffile.TiffFile(target) as tif:
            assert tif.pages[0].compression.name == codec and not tif.is_bigtiff, compression
            assert np.array_equal(tif.asarray(), expect), compression
    for args, code, words in (
        (["-o", str(tmp_path / "x.png"), "--compression", "zstd"], 1, "zstd is a TIFF method; a PNG takes a level, 0-9"),
        (["-o", str(tmp_path / "y.tif"), "--compression", "9"], 1, "9 is a PNG level; a TIFF takes zstd, deflate, lzw, none"),
        (["-o", str(tmp_path / "z.tif"), "--compression", "jpeg"], 2, "a TIFF method (zstd, deflate, lzw, none) or a PNG level (0-9)"),
        (["-o", str(tmp_path / "w.jpg"), "--compression", "lzw"], 1, "applies to TIFF and PNG outputs, not JPEG"),
    ):
        proc = subprocess.run([sys.executable, "-m", "imgconv", "apply", "blur", str(source), *args],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == code and words in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.tif"] + [f"{c}.tif" for c in codecs])


def _halve(a: np.ndarray) -> np.ndarray:
    """2x2 means, an odd last row or column paired with itself, rounded half to even."""
    if a.shape[0] % 2:
        a = np.concatenate([a, a[-1:]])
    if a.shape[1] % 2:
        a = np.concatenate([a, a[:, -1:]], axis=1)
    total = a[0::2, 0::2].astype(np.float64) + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
    return np.rint(total / 4).astype(a.dtype)


@pytest.mark.parametrize("shape, dtype", [((333, 517, 3), np.uint8), ((300, 200), np.uint16)])
def test_pyramid_levels_as_subifds(tmp_path: Path, shape: tuple, dtype: type) -> None:
    info = np.iinfo(dtype)
    image = np.random.default_rng(9).integers(0, info.max + 1, shape, dtype=dtype)
    source = _write(tmp_path / "in.tif", image, photometric="rgb" if len(shape) == 3 else None)
    done = filter_tiff(source, tmp_path / "out.tif", "blur", memory=1, tile=32, pyramid=True)
    level = imgconv.apply(image, "blur")
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        levels = tif.series[0].levels
        assert np.array_equal(levels[0].asarray(), level)
        assert len(levels) == len(done["levels"]) + 1 >= 4 and max(levels[-1].shape[:2]) <= 32
        for stored in levels[1:]:
            level = _halve(level)
            assert stored.shape == level.shape and np.array_equal(stored.asarray(), level)
            assert stored.keyframe.is_tiled
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.tif"]  # the levels' folder is gone


def test_a_multi_page_tiff_is_refused_streamed_as_in_memory(tmp_path: Path) -> None:
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        tif.write(np.zeros((60, 50), np.uint8))
        tif.write(np.zeros((30, 20), np.uint8))  # another size: a second image, not a stack
    with pytest.raises(ImageReadError, match="multi-page TIFF"):
        filter_tiff(tmp_path / "pages.tif", tmp_path / "out.tif", "blur", memory=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages.tif"]


@pytest.mark.parametrize("shape, dtype", [((333, 517, 3), np.uint8), ((300, 200), np.uint16)])
def test_pyramid_levels_as_an_ome_zarr_multiscale_image(tmp_path: Path, shape: tuple, dtype: type) -> None:
    zarr = pytest.importorskip("zarr")
    info = np.iinfo(dtype)
    image = np.random.default_rng(10).integers(0, info.max + 1, shape, dtype=dtype)
    source = _write(tmp_path / "in.tif", image, photometric="rgb" if len(shape) == 3 else None)
    done = filter_tiff(source, tmp_path / "out.zarr", "blur", memory=1, tile=32, pyramid=True)
    group = zarr.open_group(tmp_path / "out.zarr", mode="r")  # zarr reads what NGFF 0.5 says
    ome = group.attrs["ome"]
    scales = ome["multiscales"][0]
    colour = len(shape) == 3
    assert ome["version"] == "0.5" and [a["name"] for a in scales["axes"]] == (["c"] if colour else []) + ["y", "x"]
    assert [d["path"] for d in scales["datasets"]] == [str(k) for k in range(len(done["levels"]) + 1)]
    assert scales["datasets"][2]["coordinateTransformations"][0]["scale"][-2:] == [4.0, 4.0]
    level = imgconv.apply(image, "blur")
    for k, dataset in enumerate(scales["datasets"]):
        stored = np.asarray(group[dataset["path"]])
        stored = np.moveaxis(stored, 0, -1) if colour else stored  # NGFF: the channels first
        assert np.array_equal(stored, level), k
        level = _halve(level)
    assert max(stored.shape[:2]) <= 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif", "out.zarr"]  # the levels' folder is gone
    read, read_shape, _ = open_zarr(str(tmp_path / "out.zarr"))  # imgconv reads it back as one image
    assert read_shape == shape and np.array_equal(read(0, shape[0]), imgconv.apply(image, "blur"))


def test_the_input_file_is_closed_when_filtering_ends(tmp_path: Path) -> None:
    import gc
    import warnings

    image = np.random.default_rng(11).integers(0, 256, (200, 150, 3), dtype=np.uint8)
    source = _write(tmp_path / "in.tif", image, photometric="rgb")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for target, pyramid in (("out.tif", False), ("out.zarr", True)):
            filter_tiff(source, tmp_path / target, "blur", memory=1, tile=32, pyramid=pyramid)
        gc.collect()  # an unclosed file would warn here, once collected
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]
