"""Image I/O: depth, channels and alpha survive; refusals instead of silent conversion;
errors that name the file; atomic writes; ``-`` for standard input and output.

Expected pixels come from numpy arrays built in the test and from OpenCV reading or
writing the same bytes directly (``cv2.imencode`` / ``cv2.imdecode``), never from imgconv.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from imgconv import imageio
from imgconv.errors import ImageReadError, ImageWriteError, OutputExistsError, UsageError
from imgconv.headers import read_header
from imgconv.imageio import (
    decode_image,
    encode_image,
    format_for,
    read_image,
    sniff_format,
    write_bytes_atomic,
    write_image,
    write_stdout,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RNG = np.random.default_rng(20240611)


def random_image(shape: tuple[int, ...], dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return (RNG.standard_normal(shape) * 300).astype(np.float32)  # negatives and > 1
    info = np.iinfo(dtype)
    image = RNG.integers(0, int(info.max) + 1, size=shape, dtype=np.int64).astype(dtype)
    image.flat[0] = info.max  # the extremes are in every image
    image.flat[1] = 0
    return image


def cv_read(path: Path | str) -> np.ndarray:
    """What OpenCV itself decodes from the file (BGR order)."""
    return cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 3:
        return image[:, :, ::-1]
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, [2, 1, 0, 3]]
    return image


def no_temporaries(folder: Path) -> None:
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".imgconv-") or p.name.endswith(".part")]
    assert leftovers == []


def read_error(source, *fragments: str) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(source)
    assert info.value.exit_code == 1
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# -- round trips ---------------------------------------------------------------------------
ROUND_TRIPS = [
    ("uint8", (17, 23), "png"),
    ("uint8", (17, 23, 3), "png"),
    ("uint8", (17, 23, 4), "png"),
    ("uint16", (17, 23), "png"),
    ("uint16", (17, 23, 3), "png"),
    ("uint16", (17, 23, 4), "png"),
    ("uint16", (17, 23), "tiff"),
    ("uint16", (17, 23, 3), "tiff"),
    ("uint16", (17, 23, 4), "tiff"),
    ("uint8", (17, 23, 3), "tiff"),
    ("float32", (17, 23), "tiff"),
    ("float32", (17, 23, 3), "tiff"),
    ("uint8", (17, 23), "bmp"),
    ("uint8", (17, 23, 3), "bmp"),
    ("uint8", (17, 23), "pgm"),
    ("uint16", (17, 23), "pgm"),
    ("uint16", (17, 23, 3), "ppm"),
]


@pytest.mark.parametrize("dtype,shape,fmt", ROUND_TRIPS, ids=lambda v: str(v))
def test_round_trip_keeps_depth_channels_alpha_and_values(tmp_path: Path, dtype: str, shape, fmt: str) -> None:
    image = random_image(shape, dtype)
    path = tmp_path / f"out.{fmt}"
    write_image(path, image)
    back = read_image(path)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == image.shape
    np.testing.assert_array_equal(back, image)
    # the file holds what OpenCV reads as the same image in its own (BGR) order
    on_disk = cv_read(path)
    assert on_disk.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(on_disk, to_bgr(image))
    no_temporaries(tmp_path)


def test_float32_tiff_keeps_negative_and_large_values(tmp_path: Path) -> None:
    image = np.array([[-1.5, 0.0, 0.25], [1.0, 255.5, 70000.0]], dtype=np.float32)
    write_image(tmp_path / "f.tif", image)
    back = read_image(tmp_path / "f.tif")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image)


def test_encode_decode_in_memory() -> None:
    image = random_image((9, 11, 4), np.uint16)
    data = encode_image(image, "png")
    assert sniff_format(data) == "png"
    np.testing.assert_array_equal(decode_image(data), image)
    np.testing.assert_array_equal(decode_image(encode_image(image, imageio.FORMATS["tiff"])), image)


def test_grey_plus_alpha_is_written_as_rgba(tmp_path: Path) -> None:
    la = random_image((5, 6, 2), np.uint8)
    write_image(tmp_path / "la.png", la)
    back = read_image(tmp_path / "la.png")
    assert back.shape == (5, 6, 4)
    for c in range(3):
        np.testing.assert_array_equal(back[:, :, c], la[:, :, 0])
    np.testing.assert_array_equal(back[:, :, 3], la[:, :, 1])


def test_single_channel_3d_is_grey(tmp_path: Path) -> None:
    image = random_image((5, 6, 1), np.uint8)
    write_image(tmp_path / "g.png", image)
    back = read_image(tmp_path / "g.png")
    assert back.shape == (5, 6)
    np.testing.assert_array_equal(back, image[:, :, 0])


def test_samples_decode_as_opencv_does() -> None:
    chelsea = read_image(SAMPLES / "chelsea.png")
    expected = cv2.imread(str(SAMPLES / "chelsea.png"), cv2.IMREAD_UNCHANGED)
    assert chelsea.shape == expected.shape == (300, 451, 3)
    np.testing.assert_array_equal(chelsea, expected[:, :, ::-1])
    camera = read_image(str(SAMPLES / "camera.png"))
    assert camera.shape == (512, 512) and camera.dtype == np.uint8
    np.testing.assert_array_equal(camera, cv2.imread(str(SAMPLES / "camera.png"), cv2.IMREAD_UNCHANGED))


def test_jpeg_round_trip_is_close(tmp_path: Path) -> None:
    image = cv2.imread(str(SAMPLES / "chelsea.png"))[:, :, ::-1].copy()
    write_image(tmp_path / "c.jpg", image)
    back = read_image(tmp_path / "c.jpg")
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image.astype(int)).mean() < 4  # lossy, colour order kept


# -- RGB order -----------------------------------------------------------------------------
def test_read_image_returns_rgb(tmp_path: Path) -> None:
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 255  # blue, in OpenCV's order
    ok, buffer = cv2.imencode(".png", bgr)
    assert ok
    path = tmp_path / "blue.png"
    path.write_bytes(buffer.tobytes())
    rgb = read_image(path)
    assert (rgb[..., 2] == 255).all() and (rgb[..., 0] == 0).all() and (rgb[..., 1] == 0).all()
    kept = read_image(path, channel_order="bgr")
    assert (kept[..., 0] == 255).all() and (kept[..., 2] == 0).all()


def test_rgba_order_on_read(tmp_path: Path) -> None:
    bgra = np.zeros((3, 3, 4), np.uint8)
    bgra[..., 0] = 200  # blue
    bgra[..., 3] = 50  # alpha
    path = tmp_path / "a.png"
    path.write_bytes(cv2.imencode(".png", bgra)[1].tobytes())
    rgba = read_image(path)
    assert (rgba[..., 2] == 200).all() and (rgba[..., 0] == 0).all() and (rgba[..., 3] == 50).all()


def test_write_image_takes_rgb(tmp_path: Path) -> None:
    red = np.zeros((4, 5, 3), np.uint8)
    red[..., 0] = 255  # red in RGB
    write_image(tmp_path / "red.png", red)
    on_disk = cv_read(tmp_path / "red.png")
    assert (on_disk[..., 2] == 255).all() and (on_disk[..., 0] == 0).all()
    write_image(tmp_path / "bgr.png", red, channel_order="bgr")
    assert (cv_read(tmp_path / "bgr.png")[..., 0] == 255).all()


def test_write_does_not_modify_the_callers_array(tmp_path: Path) -> None:
    image = random_image((4, 5, 3), np.uint8)
    copy = image.copy()
    write_image(tmp_path / "x.png", image)
    np.testing.assert_array_equal(image, copy)


# -- refusals instead of silent conversion -------------------------------------------------
@pytest.mark.parametrize(
    "dtype,shape,name,fmt_name",
    [
        ("uint16", (4, 4), "x.jpg", "jpg"),
        ("uint16", (4, 4, 3), "x.jpeg", "jpg"),
        ("float32", (4, 4), "x.png", "png"),
        ("float32", (4, 4, 3), "x.png", "png"),
        ("uint8", (4, 4, 4), "x.jpg", "jpg"),
        ("uint8", (4, 4, 3), "x.pgm", "pgm"),
        ("uint8", (4, 4), "x.ppm", "ppm"),
        ("uint16", (4, 4), "x.bmp", "bmp"),
        ("float32", (4, 4), "x.webp", "webp"),
        ("float64", (4, 4), "x.png", "png"),
        ("float16", (4, 4), "x.tiff", "tiff"),
        ("int16", (4, 4), "x.png", "png"),
    ],
)
def test_refuses_what_the_format_cannot_hold(tmp_path: Path, dtype: str, shape, name: str, fmt_name: str) -> None:
    image = np.zeros(shape, dtype=dtype)
    with pytest.raises(ImageWriteError) as info:
        write_image(tmp_path / name, image)
    assert info.value.exit_code == 1
    assert fmt_name in str(info.value)
    assert name in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_depth_refusal_says_what_to_do() -> None:
    with pytest.raises(ImageWriteError) as info:
        encode_image(np.zeros((2, 2), np.uint16), "jpg")
    assert "uint16" in str(info.value) and "png" in str(info.value)
    with pytest.raises(ImageWriteError) as info:
        encode_image(np.zeros((2, 2, 4), np.uint8), "jpg")
    assert "alpha" in str(info.value)


@pytest.mark.parametrize("fmt", ["gif", "exr", "", "png2"])
def test_unknown_format_name(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(UsageError) as info:
        write_image(tmp_path / "x.png", np.zeros((2, 2), np.uint8), format=fmt)
    assert info.value.exit_code == 2
    assert "png" in str(info.value) and "tiff" in str(info.value)  # lists the known ones
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        write_image(tmp_path / "x.gif", np.zeros((2, 2), np.uint8))
    assert "gif" in str(info.value)


@pytest.mark.parametrize("name", ["noext", "dir.d/noext", "-"])
def test_no_extension_and_no_format_asks_for_format(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError) as info:
        write_image(name if name == "-" else tmp_path / name, np.zeros((2, 2), np.uint8))
    assert "--format" in str(info.value)
    assert info.value.exit_code == 2


def test_format_for_names_and_extensions() -> None:
    assert format_for(None, path="out.JPEG").name == "jpg"
    assert format_for(None, path="a/b.tif").name == "tiff"
    assert format_for("TIFF").name == "tiff"
    assert format_for(".png").name == "png"
    assert format_for("png", path="x.jpg").name == "png"  # the explicit name wins


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    image = random_image((6, 7), np.uint16)
    write_image(tmp_path / "data.bin", image, format="png")
    assert sniff_format((tmp_path / "data.bin").read_bytes()) == "png"
    np.testing.assert_array_equal(read_image(tmp_path / "data.bin"), image)


# -- reading errors ------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    read_error(tmp_path / "missing.png", "missing.png", "no such file")


def test_folder(tmp_path: Path) -> None:
    (tmp_path / "pics.png").mkdir()
    read_error(tmp_path / "pics.png", "pics.png", "folder")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    read_error(tmp_path / "empty.png", "empty.png", "empty")


def test_text_file_named_png(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("hello, I am not a picture\n")
    read_error(tmp_path / "notes.png", "notes.png", "not an image")


def test_truncated_png(tmp_path: Path) -> None:
    data = (SAMPLES / "chelsea.png").read_bytes()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    read_error(tmp_path / "half.png", "half.png", "truncated PNG", "--allow-truncated")


def test_truncated_png_prints_nothing_itself(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # errors are reported in one line by imgconv; the decoder must not add its own
    data = (SAMPLES / "chelsea.png").read_bytes()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    capfd.readouterr()
    with pytest.raises(ImageReadError):
        read_image(tmp_path / "half.png")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_truncated_jpeg_is_an_error_by_default(tmp_path: Path) -> None:
    ok, buffer = cv2.imencode(".jpg", cv2.imread(str(SAMPLES / "chelsea.png")))
    data = buffer.tobytes()
    (tmp_path / "cut.jpg").write_bytes(data[:200])
    read_error(tmp_path / "cut.jpg", "cut.jpg", "truncated JPEG", "end-of-image", "--allow-truncated")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    outcome: dict[str, BaseException | object] = {}

    def target() -> None:
        try:
            outcome["result"] = read_image(fifo)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # unblock the reader so the test run can go on
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(5)
        pytest.fail("read_image blocked on a FIFO")
    error = outcome.get("error")
    assert isinstance(error, ImageReadError), outcome
    assert "not a regular file" in str(error) and "pipe.png" in str(error)


def test_device_is_refused() -> None:
    read_error("/dev/zero", "/dev/zero", "not a regular file")


def test_name_that_is_not_utf8(tmp_path: Path) -> None:
    image = random_image((5, 4, 3), np.uint8)
    png = cv2.imencode(".png", image[:, :, ::-1])[1].tobytes()
    raw = os.fsencode(tmp_path) + b"/caf\xe9.png"
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, png)
    finally:
        os.close(fd)
    np.testing.assert_array_equal(read_image(raw), image)
    np.testing.assert_array_equal(read_image(os.fsdecode(raw)), image)  # as argv gives it
    # an error about such a file is one printable line with the byte escaped
    missing = os.fsencode(tmp_path) + b"/gon\xe9.png"
    message = read_error(missing, "no such file")
    assert "gon\\xe9.png" in message
    message = read_error(os.fsdecode(missing), "no such file")
    assert "gon\\xe9.png" in message
    message.encode("utf-8")  # printable: no lone surrogates


def test_write_to_a_name_that_is_not_utf8_as_argv_gives_it(tmp_path: Path) -> None:
    image = random_image((5, 4), np.uint16)
    name = os.fsdecode(os.fsencode(tmp_path) + b"/out\xff.png")
    write_image(name, image)
    assert os.listdir(os.fsencode(tmp_path)) == [b"out\xff.png"]
    np.testing.assert_array_equal(read_image(name), image)


@pytest.mark.parametrize("name", ["café ☕.png", "-my photo.png", " lead and trail .png", "new\nline.png"])
def test_unusual_names_read_and_write(tmp_path: Path, name: str) -> None:
    image = random_image((6, 5, 3), np.uint8)
    path = tmp_path / name
    path.write_bytes(cv2.imencode(".png", image[:, :, ::-1])[1].tobytes())
    np.testing.assert_array_equal(read_image(str(path)), image)
    out = tmp_path / ("out " + name)
    write_image(str(out), image)
    np.testing.assert_array_equal(cv_read(out)[:, :, ::-1], image)


def test_leading_dash_relative_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = random_image((3, 3), np.uint8)
    monkeypatch.chdir(tmp_path)
    write_image("-dash.png", image)
    assert Path("-dash.png").is_file()
    np.testing.assert_array_equal(read_image("-dash.png"), image)


def test_nul_in_a_name_is_a_read_error(tmp_path: Path) -> None:
    read_error(str(tmp_path / "a\x00b.png"), "NUL")


@pytest.mark.parametrize("overwrite", [False, True])
def test_nul_in_an_output_name_is_a_write_error(tmp_path: Path, overwrite: bool) -> None:
    with pytest.raises(ImageWriteError) as info:
        write_image(str(tmp_path / "a\x00b.png"), random_image((3, 3), np.uint8), overwrite=overwrite)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_newline_in_a_missing_name_stays_one_line(tmp_path: Path) -> None:
    message = read_error(str(tmp_path / "a\nb.png"), "no such file")
    assert "a\\nb.png" in message


# -- atomic writes -------------------------------------------------------------------------
def test_no_temporary_left_after_a_write(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", random_image((8, 8, 3), np.uint8))
    write_image(tmp_path / "a.png", random_image((8, 8, 3), np.uint8), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_failed_encoding_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError):
        write_image(tmp_path / "a.jpg", np.zeros((4, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"old content")
    with pytest.raises(OutputExistsError) as info:
        write_image(path, random_image((4, 4), np.uint8))
    assert info.value.exit_code == 1
    assert isinstance(info.value, ImageWriteError)
    assert "a.png" in str(info.value) and "overwrite" in str(info.value)
    assert path.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_overwrite_replaces(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"old content")
    image = random_image((4, 4), np.uint8)
    write_image(path, image, overwrite=True)
    np.testing.assert_array_equal(cv_read(path), image)
    no_temporaries(tmp_path)


def test_overwrite_replaces_a_symlink_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target.png"
    target.write_bytes(b"precious")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    image = random_image((4, 4), np.uint8)
    write_image(link, image, overwrite=True)
    assert not link.is_symlink()
    assert stat.S_ISREG(os.lstat(link).st_mode)
    np.testing.assert_array_equal(cv_read(link), image)
    assert target.read_bytes() == b"precious"


def test_symlink_without_overwrite_is_an_existing_output(tmp_path: Path) -> None:
    target = tmp_path / "target.png"
    target.write_bytes(b"precious")
    (tmp_path / "link.png").symlink_to(target)
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    for name in ("link.png", "dangling.png"):
        with pytest.raises(OutputExistsError):
            write_image(tmp_path / name, random_image((4, 4), np.uint8))
    assert target.read_bytes() == b"precious"
    assert not (tmp_path / "nowhere.png").exists()
    no_temporaries(tmp_path)


def test_writing_into_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError) as info:
        write_image(tmp_path / "nope" / "a.png", random_image((4, 4), np.uint8))
    message = str(info.value)
    assert "folder" in message and "nope" in message and "does not exist" in message
    assert info.value.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_destination_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "d.png").mkdir()
    with pytest.raises(OutputExistsError):
        write_image(tmp_path / "d.png", random_image((4, 4), np.uint8))
    with pytest.raises(ImageWriteError):
        write_image(tmp_path / "d.png", random_image((4, 4), np.uint8), overwrite=True)
    assert (tmp_path / "d.png").is_dir()
    no_temporaries(tmp_path)


def test_permission_denied_in_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # root ignores chmod 0o500, so the refusal is simulated where the library meets it
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if os.fsdecode(path).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)  # where the temporary file is created
    with pytest.raises(ImageWriteError) as info:
        write_image(tmp_path / "a.png", random_image((4, 4), np.uint8))
    assert "permission denied" in str(info.value) and "a.png" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root: permissions are not enforced
            write_image(folder / "a.png", random_image((4, 4), np.uint8))
            assert [p.name for p in folder.iterdir()] == ["a.png"]
        else:
            with pytest.raises(ImageWriteError) as info:
                write_image(folder / "a.png", random_image((4, 4), np.uint8))
            assert "permission denied" in str(info.value)
            assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_disk_full_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, fd: int) -> None:
            self._file = real_fdopen(fd, "wb")

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            self._file.write(bytes(data)[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self._file.close()
            super().close()

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(fd))
    with pytest.raises(ImageWriteError) as info:
        write_image(tmp_path / "a.png", random_image((16, 16, 3), np.uint8))
    monkeypatch.undo()
    assert "no space left" in str(info.value) and "a.png" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_disk_full_with_overwrite_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.png").write_bytes(b"old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ImageWriteError) as info:
        write_image(tmp_path / "a.png", random_image((4, 4), np.uint8), overwrite=True)
    monkeypatch.undo()
    assert "no space left" in str(info.value)
    assert (tmp_path / "a.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_an_interrupt_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "link", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "a.png", random_image((4, 4), np.uint8))
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_image(tmp_path / "a.png", random_image((4, 4), np.uint8))
        assert stat.S_IMODE(os.stat(tmp_path / "a.png").st_mode) == 0o644
        os.umask(0o077)
        write_image(tmp_path / "b.png", random_image((4, 4), np.uint8))
        assert stat.S_IMODE(os.stat(tmp_path / "b.png").st_mode) == 0o600
        os.umask(0o002)
        write_bytes_atomic(tmp_path / "c.bin", b"data")
        assert stat.S_IMODE(os.stat(tmp_path / "c.bin").st_mode) == 0o664
    finally:
        os.umask(previous)


def test_write_bytes_atomic_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_bytes_atomic("plain.bin", b"\x00\x01\x02")
    assert Path("plain.bin").read_bytes() == b"\x00\x01\x02"
    with pytest.raises(OutputExistsError):
        write_bytes_atomic("plain.bin", b"new")
    assert Path("plain.bin").read_bytes() == b"\x00\x01\x02"
    write_bytes_atomic("plain.bin", b"new", overwrite=True)
    assert Path("plain.bin").read_bytes() == b"new"
    no_temporaries(tmp_path)


# -- standard input and output -------------------------------------------------------------
def fake_stdin(data: bytes) -> types.SimpleNamespace:
    return types.SimpleNamespace(buffer=io.BytesIO(data))


def test_read_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (SAMPLES / "chelsea.png").read_bytes()
    monkeypatch.setattr("sys.stdin", fake_stdin(data))
    image = read_image("-")
    expected = cv2.imread(str(SAMPLES / "chelsea.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(image, expected)


def test_empty_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", fake_stdin(b""))
    read_error("-", "standard input", "empty")


def test_garbage_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", fake_stdin(b"hello"))
    read_error("-", "not an image")


def test_write_png_to_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    monkeypatch.setattr("sys.stdout", types.SimpleNamespace(buffer=out))
    image = random_image((7, 9, 3), np.uint16)
    write_image("-", image, format="png")
    data = out.getvalue()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, image[:, :, ::-1])


def test_write_stdout_retries_short_writes() -> None:
    class Trickle:
        def __init__(self) -> None:
            self.received = bytearray()
            self.calls = 0
            self.flushed = False

        def write(self, data) -> int:
            self.calls += 1
            chunk = bytes(data[:7])
            self.received += chunk
            return len(chunk)

        def flush(self) -> None:
            self.flushed = True

    payload = bytes(range(256)) * 3 + b"tail"
    stream = Trickle()
    write_stdout(payload, stream)
    assert bytes(stream.received) == payload
    assert stream.calls == -(-len(payload) // 7)
    assert stream.flushed


def test_write_stdout_to_the_default_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    monkeypatch.setattr("sys.stdout", types.SimpleNamespace(buffer=out))
    write_stdout(b"abc" * 1000)
    assert out.getvalue() == b"abc" * 1000


# -- sniffing ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ext,expected,shape",
    [
        (".png", "png", (4, 4, 3)),
        (".jpg", "jpg", (4, 4, 3)),
        (".tiff", "tiff", (4, 4, 3)),
        (".bmp", "bmp", (4, 4, 3)),
        (".webp", "webp", (4, 4, 3)),
        (".pgm", "pgm", (4, 4)),
        (".ppm", "ppm", (4, 4, 3)),
    ],
)
def test_sniff_format_of_opencv_output(ext: str, expected: str, shape) -> None:
    ok, buffer = cv2.imencode(ext, np.full(shape, 77, np.uint8))
    assert ok
    assert sniff_format(buffer.tobytes()) == expected


def test_sniff_format_of_big_endian_tiff_and_unknowns() -> None:
    assert sniff_format(b"MM\x00*\x00\x00\x00\x08") == "tiff"
    assert sniff_format(b"hello") is None
    assert sniff_format(b"") is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert sniff_format(b"\x89PN") is None


def test_sniff_format_names_only_formats_imgconv_writes() -> None:
    # GIF and PBM headers are read (for the pixel limit), but an output never takes their format
    assert sniff_format(b"GIF89a\x01\x00\x01\x00\x00") is None
    assert sniff_format(b"P4\n3 5\n\x00") is None
    assert read_header(b"P4\n3 5\n\x00").format == "ppm"  # as it always was
    assert read_header(b"P1\n3 5\n0").format == "pgm"


def test_format_table_agrees_with_the_rest() -> None:
    from imgconv import batch, formats
    from imgconv.dtypes import DTYPE_NAMES

    # what a folder walk took before the table existed, written out by hand
    before = ".png .jpg .jpeg .jpe .jfif .tif .tiff .bmp .dib .webp .gif .pgm .ppm .pnm .pbm .pxm .sr .ras"
    assert formats.IMAGE_EXTENSIONS == frozenset(before.split()) | {".heic", ".heif", ".avif", ".jxl"}  # issue 17
    assert batch.IMAGE_EXTENSIONS is formats.IMAGE_EXTENSIONS
    for fmt in formats.TABLE.values():
        assert set(fmt.dtypes) <= set(DTYPE_NAMES), fmt.name
        assert all(ext == ext.lower() and ext.startswith(".") for ext in (*fmt.extensions, *fmt.input_extensions))
        if fmt.writable:
            assert fmt.extension == "." + fmt.name and format_for(fmt.name) is fmt
    every = [ext for fmt in formats.TABLE.values() for ext in (*fmt.extensions, *fmt.input_extensions)]
    assert len(every) == len(set(every))  # an extension means one format
    assert format_for("pbm").name == "pgm" and format_for("pnm").name == "ppm"
    for ext in (".jfif", ".dib", ".pxm", ".gif", ".ras"):  # read from folders, never named as outputs
        with pytest.raises(UsageError, match="unknown image format"):
            format_for(None, path="x" + ext)


@pytest.mark.parametrize("fmt", ["png", "jpg", "tiff", "bmp", "webp"])
def test_encode_image_produces_the_named_format(fmt: str) -> None:
    data = encode_image(np.full((4, 4, 3), 50, np.uint8), fmt)
    assert sniff_format(data) == fmt


def test_samples_folder_is_intact() -> None:
    # the tests above lean on these two files
    for name in ("chelsea.png", "camera.png"):
        assert sniff_format((SAMPLES / name).read_bytes()[:16]) == "png"
