"""Whatever imgconv is fed, it answers with one line, the contract's exit code, no traceback,
no partial output, the input untouched, and in a batch it carries on.

The files come from ``tests/corpus.py`` (generated, nothing binary committed). Files that
must be filtered are checked against an independent computation: decoded with Pillow (EXIF
orientation applied by ``ImageOps.exif_transpose``), filtered with ``scipy.ndimage``.
Most cases run the CLI in-process (``imgconv.cli.main``, the same error boundary as the
installed command); file names that are bytes, pipes, rlimits and the whole batch run the
real program in a subprocess.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image, ImageOps

import corpus
from imgconv.cli import main

BLUR = np.ones((3, 3)) / 9.0
CASES = corpus.cases()
REFUSED = [c for c in CASES if c.refused]
FILTERED = [c for c in CASES if not c.refused]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    corpus.write(folder)
    return folder


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capfd.readouterr()
    code = main([str(a) for a in args])
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def run(*args: str | bytes, stdin: bytes = b"", cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run(
        [sys.executable, "-m", "imgconv", *args], input=stdin, capture_output=True, cwd=cwd, timeout=120, **kwargs
    )


def assert_one_line(err: str, *fragments: str) -> None:
    """Exactly one line, 'imgconv: ...', holding every fragment; never a traceback."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("imgconv: ") and "Traceback" not in err and "internal error" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".imgconv-") or p.suffix == ".part")


# -- refused files ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_refused_file_one_line_exit_1_nothing_written(case: corpus.Case, files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = files / case.name
    before = digest(source)
    out = tmp_path / "out.png"
    code, stdout, err = cli(capfd, "apply", "blur", source, "-o", out)
    assert code == 1
    assert stdout == ""
    assert_one_line(err, f"imgconv: {source}: ", case.refused)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert digest(source) == before


@pytest.mark.parametrize("case", [c for c in REFUSED if c.name.startswith("bomb-")], ids=lambda c: c.name)
def test_bombs_are_refused_without_decoding(case: corpus.Case, files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "from the header": the decoder must not even be called
    import imgconv.imageio as imageio
    from imgconv.errors import ImageReadError

    def no_decoding(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the decoder was called on a decompression bomb")

    monkeypatch.setattr(imageio.cv2(), "imdecode", no_decoding)
    with pytest.raises(ImageReadError, match="--max-pixels"):
        imageio.read_image(files / case.name)


def test_max_pixels_sets_the_limit(files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = files / "rgba.png"  # 32 x 24 = 768 pixels
    code, _, err = cli(capfd, "apply", "blur", source, "-o", tmp_path / "a.png", "--max-pixels", "767")
    assert code == 1
    assert_one_line(err, "32x24 pixels (768) is more than the limit of 767 (--max-pixels)")
    code, _, err = cli(capfd, "apply", "blur", source, "-o", tmp_path / "b.png", "--max-pixels", "768")
    assert (code, err) == (0, f"wrote {tmp_path / 'b.png'}\n")


def test_max_pixels_zero_lifts_the_limit_and_opencv_still_refuses_a_bomb(files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    code, _, err = cli(capfd, "apply", "blur", files / "bomb-header.png", "-o", tmp_path / "x.png", "--max-pixels", "0")
    assert code == 1  # the memory it would take is refused before decoding
    assert_one_line(err, "bomb-header.png", "100000x100000 PNG decodes to 27.9 GiB, more than --max-memory")
    code, _, err = cli(capfd, "apply", "blur", files / "bomb-header.png", "-o", tmp_path / "x.png", "--max-pixels", "0",
                       "--max-memory", "64G")
    assert code == 1
    assert_one_line(err, "bomb-header.png", "more pixels than OpenCV decodes")
    assert list(tmp_path.iterdir()) == []


def test_negative_max_pixels_is_a_usage_error(files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    code, _, err = cli(capfd, "apply", "blur", files / "rgba.png", "-o", tmp_path / "x.png", "--max-pixels", "-5")
    assert code == 2
    assert_one_line(err, "--max-pixels must be a whole number >= 0")


def test_diff_has_the_same_limit(files: Path, capfd) -> None:  # noqa: ANN001
    code, _, err = cli(capfd, "diff", files / "rgba.png", files / "rgba.png", "--max-pixels", "100")
    assert code == 1
    assert_one_line(err, "rgba.png: 32x24 pixels (768) is more than the limit of 100")


# -- truncated files: an error by default, --allow-truncated filters what is there -------------
def test_allow_truncated_png_filters_the_rows_that_are_there(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    image = corpus.seed_bgr(64, 48)
    data = corpus.encode(image, ".png", [cv2.IMWRITE_PNG_COMPRESSION, 0])  # rows in order, uncompressed
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) * 3 // 5])
    out = tmp_path / "out.png"
    code, _, err = cli(capfd, "apply", "identity", cut, "-o", out, "--allow-truncated")
    assert (code, err) == (0, f"wrote {out}\n")
    result = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert result.shape == image.shape
    whole = [r for r in range(64) if np.array_equal(result[r], image[r])]
    assert 20 <= len(whole) < 64 and whole == list(range(len(whole)))  # the rows before the cut
    assert not result[len(whole) + 1 :].any()  # black below (Pillow's fill for PNG)


def test_allow_truncated_jpeg(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    image = corpus.seed_bgr(128, 96)
    data = corpus.encode(image, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95])
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    code, _, err = cli(capfd, "apply", "identity", cut, "-o", tmp_path / "refused.png")
    assert code == 1
    assert_one_line(err, "cut.jpg: truncated JPEG", "--allow-truncated")
    code, _, err = cli(capfd, "apply", "identity", cut, "-o", tmp_path / "out.png", "--allow-truncated")
    assert code == 0
    result = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert result.shape == full.shape
    assert np.abs(result[:16].astype(int) - full[:16]).max() <= 2  # the first rows are the image's
    assert np.abs(result[-16:].astype(int) - 128).max() <= 2  # libjpeg fills the rest with grey


def test_a_truncated_file_is_refused_even_where_the_decoder_would_accept_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # some libjpeg builds decode a truncated JPEG with only a warning: the policy must not
    # depend on the build, so the missing end-of-image marker is checked first
    import imgconv.imageio as imageio
    from imgconv.errors import ImageReadError

    data = corpus.encode(corpus.seed_bgr(), ".jpg")
    monkeypatch.setattr(imageio.cv2(), "imdecode", lambda *a: np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(ImageReadError, match="truncated JPEG"):
        imageio.decode_image(data[:-2], name="x.jpg")


# -- unusual but valid files: filtered correctly, depth, channels and alpha kept ---------------
def reference(data: bytes) -> np.ndarray:
    """The input as Pillow decodes it, upright, in RGB(A) order and OpenCV's conventions."""
    picture = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if picture.mode == "P":
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
    elif picture.mode == "1":
        picture = picture.convert("L")
    elif picture.mode == "LA":
        grey, alpha = picture.split()
        picture = Image.merge("RGBA", (grey, grey, grey, alpha))
    return np.array(picture)


def blurred(image: np.ndarray) -> np.ndarray:
    """3x3 box blur, reflect101, colour channels only (alpha untouched), as the contract says."""
    planes = image[:, :, None] if image.ndim == 2 else image
    colour = planes.shape[2] if planes.shape[2] in (1, 3) else planes.shape[2] - 1
    out = planes.astype(np.float64).copy()
    for c in range(colour):
        out[:, :, c] = ndi.correlate(planes[:, :, c].astype(np.float64), BLUR, mode="mirror")
    if image.dtype.kind == "f":
        result = out.astype(np.float32)
    else:
        result = np.clip(np.rint(out), 0, np.iinfo(image.dtype).max).astype(image.dtype)
    return result.reshape(image.shape)


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return image


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("case", FILTERED, ids=lambda c: c.name)
def test_unusual_files_are_filtered_correctly(case: corpus.Case, engine: str, files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = files / case.name
    before = digest(source)
    out = tmp_path / ("out.tiff" if case.dtype == "float32" else "out.png")
    code, stdout, err = cli(capfd, "apply", "blur", source, "-o", out, "--engine", engine)
    assert (code, stdout, err) == (0, "", f"wrote {out}\n")
    assert digest(source) == before
    result = read_rgb(out)
    assert result.dtype == case.dtype
    assert (1 if result.ndim == 2 else result.shape[2]) == case.channels
    if case.shape is not None:
        assert result.shape[:2] == case.shape
    data = source.read_bytes()
    if case.name == "rgb16.png":  # Pillow reads 16-bit RGB PNG as 8 bits: OpenCV is the reference
        original = read_rgb(source)
    else:
        original = reference(data)
    expected = blurred(original)
    if case.dtype == "float32":
        np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
        assert np.isnan(result).sum() == 9 and np.isnan(result[4:7, 6:9]).all()  # a NaN spreads to its 3x3 neighbours
        assert np.nanmax(result) > 1.0 and np.nanmin(result) < 0.0  # out-of-range values kept, not clipped
    else:
        # two JPEG decoders (OpenCV's, Pillow's) may round chroma differently by a level
        tolerance = 2 if data.startswith(b"\xff\xd8") else 0
        assert np.abs(result.astype(int) - expected.astype(int)).max() <= tolerance


@pytest.mark.parametrize("case", FILTERED, ids=lambda c: c.name)
def test_unusual_files_engines_agree(case: corpus.Case, files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    out = tmp_path / ("out.tiff" if case.dtype == "float32" else "out.png")
    code, _, err = cli(capfd, "apply", "edge", files / case.name, "-o", out, "--engine", "both")
    assert code == 0, err
    assert "engines agree" in err


def test_exif_orientation_is_applied_as_viewers_show_it(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    for orientation in range(1, 9):
        source = tmp_path / f"o{orientation}.jpg"
        source.write_bytes(corpus.with_exif_orientation(orientation))
        out = tmp_path / f"o{orientation}.out.png"
        code, _, _ = cli(capfd, "apply", "identity", source, "-o", out)
        assert code == 0
        upright = reference(source.read_bytes())
        assert upright.shape[:2] == ((32, 24) if orientation >= 5 else (24, 32))
        assert np.abs(read_rgb(out).astype(int) - upright).max() <= 2, orientation


def test_a_still_gif_becomes_a_png_beside_it(files: Path, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = tmp_path / "still.gif"
    shutil.copy(files / "still.gif", source)
    code, _, err = cli(capfd, "apply", "blur", source)
    assert (code, err) == (0, f"wrote {tmp_path / 'still.blur.gif.png'}\n")
    assert Image.open(tmp_path / "still.blur.gif.png").format == "PNG"


# -- the whole corpus as one batch: the bad files named, the good ones written -----------------
def test_batch_over_the_corpus_carries_on(files: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(files, folder)
    before = {p.name: digest(p) for p in folder.iterdir()}
    out = tmp_path / "out"
    proc = run("apply", "blur", str(folder), "-o", str(out), "--report", str(tmp_path / "report.json"))
    assert proc.returncode == 1
    assert proc.stdout == b""
    err = proc.stderr.decode().splitlines()
    assert "Traceback" not in proc.stderr.decode()
    for case in REFUSED:
        lines = [line for line in err if line.startswith(f"imgconv: {folder / case.name}: ")]
        assert len(lines) == 1 and _reason(case) in lines[0], (case.name, lines)
    assert err[-1].startswith(f"{len(FILTERED)} done, {len(REFUSED)} failed, 0 skipped in ")
    assert len(err) == len(REFUSED) + 1
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(c.name + c.output_suffix for c in FILTERED)
    for name in written:  # each output is whole
        assert cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED) is not None, name
    assert leftovers(tmp_path) == []
    assert {p.name: digest(p) for p in folder.iterdir()} == before
    records = {Path(r["input"]).name: r for r in json.loads((tmp_path / "report.json").read_text())}
    assert {n for n, r in records.items() if r["status"] == "failed"} == {c.name for c in REFUSED}
    assert all(_reason(case) in records[case.name]["error"] for case in REFUSED)


def _reason(case: corpus.Case) -> str:
    """Why a batch refuses a case: a TIFF bomb written to a TIFF output is streamed (the
    default --max-pixels guards only decoding into memory), and its missing data says no."""
    if case.name == "bomb-tags.tiff":
        return "cannot be decoded"
    return case.refused


# -- file names ---------------------------------------------------------------------------------
GOOD = corpus.encode(corpus.seed_bgr(), ".png")
NAMES = [
    ("with space.png", "with space.png"),
    ("ünïcødé-猫.png", "ünïcødé-猫.png"),
    ("new\nline.png", "new\\nline.png"),  # shown escaped, so the error stays one line
    (b"caf\xe9.png", "caf\\xe9.png"),  # not valid UTF-8: shown as an escape, handled as bytes
]


@pytest.mark.parametrize(("name", "shown"), NAMES, ids=["space", "unicode", "newline", "not-utf8"])
def test_unusual_file_names(name: str | bytes, shown: str, tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    raw = os.fsencode(name)
    good = os.path.join(folder, raw)
    with open(good, "wb") as handle:
        handle.write(GOOD)
    proc = run("apply", "blur", good)
    assert proc.returncode == 0, proc.stderr
    derived = os.path.join(folder, raw[:-4] + b".blur.png")
    assert os.path.exists(derived) and open(good, "rb").read() == GOOD
    bad = os.path.join(folder, b"bad-" + raw)
    with open(bad, "wb") as handle:
        handle.write(b"not an image at all\n")
    proc = run("apply", "blur", bad)
    assert proc.returncode == 1
    assert_one_line(proc.stderr.decode("utf-8"), f"bad-{shown}: a text file, not an image")
    assert not os.path.exists(os.path.join(folder, b"bad-" + raw[:-4] + b".blur.png"))


def test_a_leading_dash(tmp_path: Path) -> None:
    (tmp_path / "-photo.png").write_bytes(GOOD)
    proc = run("apply", "blur", "-photo.png", cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line(proc.stderr.decode(), "'-photo.png' is a file: write ./-photo.png or put -- before it")
    proc = run("apply", "blur", "--", "-photo.png", cwd=tmp_path)
    assert proc.returncode == 0
    assert (tmp_path / "-photo.blur.png").exists()


def test_a_255_byte_name_whose_output_name_is_too_long(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = tmp_path / ("a" * 251 + ".png")
    source.write_bytes(GOOD)
    code, _, err = cli(capfd, "apply", "blur", source)
    assert code == 1
    assert_one_line(err, ".blur.png: cannot write: the file name is too long (260 bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


# -- the file system ------------------------------------------------------------------------------
def test_fifo_and_device_named_directly_do_not_hang(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for source in (fifo, Path("/dev/zero")):
        code, _, err = cli(capfd, "apply", "blur", source, "-o", tmp_path / "out.png")
        assert code == 1
        assert_one_line(err, f"{source}: not a regular file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.png"]


def test_fifo_in_a_folder_is_skipped_and_the_rest_done(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.png")
    (folder / "good.png").write_bytes(GOOD)
    os.symlink("/dev/zero", folder / "zero.png")
    code, _, err = cli(capfd, "apply", "blur", folder, "-o", tmp_path / "out", "-j", "1")
    lines = err.splitlines()
    assert code == 0 and lines[:2] == [  # listed, with why, never opened (reading /dev/zero never ends)
        f"{folder / 'pipe.png'}: skipped: a FIFO (named pipe), not a regular file (never opened)",
        f"{folder / 'zero.png'}: skipped: a device, not a regular file (never opened)",
    ] and lines[2].startswith("1 done, 0 failed, 2 skipped"), err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]


def test_symlink_loop_and_dangling_link(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    os.symlink(tmp_path / "b.png", tmp_path / "a.png")
    os.symlink(tmp_path / "a.png", tmp_path / "b.png")
    os.symlink(tmp_path / "gone.png", tmp_path / "dangling.png")
    code, _, err = cli(capfd, "apply", "blur", tmp_path / "a.png", "-o", tmp_path / "out1.png")
    assert code == 1
    assert_one_line(err, "a.png: a symlink loop")
    code, _, err = cli(capfd, "apply", "blur", tmp_path / "dangling.png", "-o", tmp_path / "out2.png")
    assert code == 1
    assert_one_line(err, "dangling.png: a dangling symlink (its target", "gone.png")
    assert not (tmp_path / "out1.png").exists() and not (tmp_path / "out2.png").exists()


def test_an_output_that_is_a_symlink_to_another_file(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = tmp_path / "in.png"
    source.write_bytes(GOOD)
    precious = tmp_path / "precious.txt"
    precious.write_bytes(b"keep me")
    link = tmp_path / "out.png"
    os.symlink(precious, link)
    code, _, err = cli(capfd, "apply", "blur", source, "-o", link)
    assert code == 1
    assert_one_line(err, "out.png: output exists; use --overwrite")
    assert link.is_symlink() and precious.read_bytes() == b"keep me"
    code, _, err = cli(capfd, "apply", "blur", source, "-o", link, "--overwrite")
    assert code == 0
    assert not link.is_symlink() and cv2.imread(str(link)) is not None  # the link replaced, not followed
    assert precious.read_bytes() == b"keep me"


@pytest.mark.parametrize("how", ["same path", "hard link"])
def test_an_output_that_is_the_input(how: str, tmp_path: Path, capfd) -> None:  # noqa: ANN001
    source = tmp_path / "in.png"
    source.write_bytes(GOOD)
    target = source
    if how == "hard link":
        target = tmp_path / "other-name.png"
        os.link(source, target)
    code, _, err = cli(capfd, "apply", "blur", source, "-o", target, "--overwrite")
    assert code == 1
    assert_one_line(err, "output is the input itself")
    assert source.read_bytes() == GOOD


def test_a_folder_nobody_may_write(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    # /sys refuses new files even to root (chmod would not stop root)
    source = tmp_path / "in.png"
    source.write_bytes(GOOD)
    code, _, err = cli(capfd, "apply", "blur", source, "-o", "/sys/imgconv-out.png")
    assert code == 1
    assert_one_line(err, "/sys/imgconv-out.png: cannot write: ")
    assert "permission denied" in err or "read-only" in err
    assert not os.path.exists("/sys/imgconv-out.png")


def test_a_read_only_folder_by_permissions(tmp_path: Path, capfd, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    # as root, chmod 0o555 is not enforced: the refusal is injected where the library meets it
    import imgconv.imageio as imageio

    source = tmp_path / "in.png"
    source.write_bytes(GOOD)
    folder = tmp_path / "ro"
    folder.mkdir()

    def refuse(folder_name: str):  # noqa: ANN202
        raise PermissionError(errno.EACCES, "Permission denied", folder_name)

    monkeypatch.setattr(imageio, "_create_temporary", refuse)
    code, _, err = cli(capfd, "apply", "blur", source, "-o", folder / "out.png")
    assert code == 1
    assert_one_line(err, f"out.png: cannot write: permission denied in '{folder}'")
    assert list(folder.iterdir()) == []


def test_disk_full_leaves_no_partial_file(tmp_path: Path, capfd, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    source = tmp_path / "in.png"
    source.write_bytes(GOOD)
    real_fdopen = os.fdopen

    class Full(io.BufferedWriter):
        def write(self, data) -> int:  # noqa: ANN001
            super().write(bytes(data[:100]))
            self.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real_fdopen(fd, "wb", buffering=0)))
    code, _, err = cli(capfd, "apply", "blur", source, "-o", tmp_path / "out.png")
    assert code == 1
    assert_one_line(err, "out.png: cannot write: no space left on the device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_a_file_size_limit_is_a_real_write_failure(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    shutil.copy(corpus.SAMPLES / "chelsea.png", source)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # the output is ~250 kB

    proc = run("apply", "blur", str(source), "-o", str(tmp_path / "out.png"), preexec_fn=limit)
    assert proc.returncode == 1
    assert_one_line(proc.stderr.decode(), "out.png: cannot write: the file is larger than this process may write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_standard_output_on_a_full_device(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(GOOD)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "imgconv", "apply", "blur", str(source), "-o", "-"],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    assert proc.returncode == 1
    assert_one_line(proc.stderr.decode(), "imgconv: -: cannot write to standard output: no space left on the device")


# -- streams --------------------------------------------------------------------------------------
def test_truncated_standard_input() -> None:
    proc = run("apply", "blur", "-", "-o", "-", stdin=GOOD[: len(GOOD) // 2])
    assert proc.returncode == 1 and proc.stdout == b""
    assert_one_line(proc.stderr.decode(), "imgconv: -: truncated PNG")


def test_a_reader_that_stops_early_is_not_told_success(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), np.random.default_rng(3).integers(0, 256, (1200, 1200, 3), dtype=np.uint8))
    proc = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m imgconv apply blur "{big}" -o - | head -c 1000 > /dev/null; echo "${{PIPESTATUS[0]}}"'],
        capture_output=True,
        timeout=60,
    )
    assert proc.stderr == b""  # quiet: no traceback, no "Broken pipe" message
    assert proc.stdout.decode().strip() == "1"  # but not a success: the image did not all go out


def test_a_bug_on_one_file_fails_that_file_and_the_batch_goes_on(tmp_path: Path, capfd, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    # an unexpected exception (a bug) in one file: named in one line, the others written
    import imgconv.filtering

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (folder / name).write_bytes(GOOD)
    (folder / "tall.png").write_bytes(corpus.encode(corpus.seed_bgr(30, 32), ".png"))
    real_apply = imgconv.filtering.apply

    def buggy(image, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if image.shape[0] == 30:
            raise KeyError(256)
        return real_apply(image, *args, **kwargs)

    monkeypatch.setattr(imgconv.filtering, "apply", buggy)
    monkeypatch.delenv("IMGCONV_DEBUG", raising=False)
    code, _, err = cli(capfd, "apply", "blur", folder, "-o", tmp_path / "out", "-j", "1")
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == (
        f"imgconv: {folder / 'tall.png'}: internal error: KeyError: 256 "
        "(a bug: please report it; IMGCONV_DEBUG=1 shows the traceback)"
    )
    assert lines[1].startswith("3 done, 1 failed, 0 skipped")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png"]


def test_a_tiff_without_its_size_tags_is_an_error_not_a_bug(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    # found by tools/fuzz.py: the header reader met an IFD without ImageWidth
    import struct as _struct

    source = tmp_path / "no-size.tiff"
    source.write_bytes(b"II*\x00" + _struct.pack("<I", 8) + _struct.pack("<H", 0) + _struct.pack("<I", 0))
    code, _, err = cli(capfd, "apply", "blur", source, "-o", tmp_path / "out.png")
    assert code == 1
    assert_one_line(err, "no-size.tiff: cannot decode the TIFF data")


def test_a_png_chunk_longer_than_the_file_is_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # found by tools/fuzz.py: a 310-byte PNG claiming a 2 GB PLTE kept OpenCV busy for seconds
    import imgconv.imageio as imageio
    from imgconv.errors import ImageReadError

    data = bytearray(GOOD)
    idat = data.index(b"IDAT")
    data[idat - 4 : idat] = (2**31 + 48).to_bytes(4, "big")
    monkeypatch.setattr(imageio.cv2(), "imdecode", lambda *a: pytest.fail("decoded"))
    with pytest.raises(ImageReadError, match="truncated PNG .the data ends inside the IDAT chunk"):
        imageio.decode_image(bytes(data), name="long.png")


def test_the_read_limits_from_python(files: Path) -> None:
    import imgconv

    with pytest.raises(imgconv.ImageReadError, match="32x24 pixels .768. is more than the limit of 500"):
        imgconv.read_image(files / "rgba.png", reading=imgconv.ReadOptions(max_pixels=500))
    with pytest.raises(imgconv.UsageError, match="--max-pixels must be a whole number >= 0"):
        imgconv.ReadOptions(max_pixels=-1)
    with pytest.raises(imgconv.ImageReadError, match="truncated PNG"):
        imgconv.read_image(files / "truncated.png")
    rows = imgconv.read_image(files / "truncated.png", reading=imgconv.ReadOptions(allow_truncated=True))
    assert rows.shape == (24, 32, 3) and rows.dtype == np.uint8
    upright = imgconv.read_image(files / "exif-rotated.jpg")
    stored = imgconv.read_image(files / "exif-rotated.jpg", reading=imgconv.ReadOptions(orient=False))
    assert upright.shape[:2] == (32, 24) and stored.shape[:2] == (24, 32)
    assert np.array_equal(upright, np.rot90(stored, -1))  # orientation 6: 90 degrees clockwise
