"""Reading and writing images: bytes in, numpy arrays out, and back, without surprises.

* Files are read as bytes and decoded with ``cv2.imdecode(..., IMREAD_UNCHANGED)``:
  ``cv2.imread`` on a path can crash the interpreter on names that are not valid UTF-8
  and fails on non-ASCII paths on some platforms. Depth (uint8, uint16, float32),
  channel count and alpha are kept.
* Arrays are RGB(A) by default, as numpy users expect; ``channel_order="bgr"`` skips the
  swap (OpenCV's own order; the CLI uses it since filtering does not care).
* Writing encodes first, then writes a temporary file in the target folder and renames it
  into place, so no partial file is ever left behind. An existing output is only replaced
  when asked (``overwrite=True``), and a rename never follows a symlink at the output.
* ``-`` means standard input / standard output.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ._cv import cv2, native_stderr_silenced
from .errors import ImageReadError, ImageWriteError, OutputExistsError, UsageError

__all__ = [
    "read_image",
    "read_bytes",
    "write_image",
    "decode_image",
    "encode_image",
    "FORMATS",
    "format_for",
    "sniff_format",
]


@dataclass(frozen=True)
class Format:
    name: str
    extension: str  # what cv2.imencode is given
    dtypes: tuple[str, ...]
    channels: tuple[int, ...]


FORMATS: dict[str, Format] = {
    "png": Format("png", ".png", ("uint8", "uint16"), (1, 3, 4)),
    "jpg": Format("jpg", ".jpg", ("uint8",), (1, 3)),
    "tiff": Format("tiff", ".tiff", ("uint8", "uint16", "float32"), (1, 3, 4)),
    "bmp": Format("bmp", ".bmp", ("uint8",), (1, 3)),
    "webp": Format("webp", ".webp", ("uint8",), (1, 3, 4)),
    "pgm": Format("pgm", ".pgm", ("uint8", "uint16"), (1,)),
    "ppm": Format("ppm", ".ppm", ("uint8", "uint16"), (3,)),
}
_ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff", "pnm": "ppm", "pbm": "pgm"}
FORMAT_NAMES: tuple[str, ...] = tuple(FORMATS)


def format_for(name: str | None, *, path: str | os.PathLike | None = None) -> Format:
    """The output format called ``name``, or the one a path's extension names.

    >>> format_for(None, path="out.JPEG").name
    'jpg'
    """
    if name is None:
        ext = os.path.splitext(os.fsdecode(path or ""))[1].lower().lstrip(".")
        if not ext:
            raise UsageError(
                f"cannot tell the image format from {os.fsdecode(path or '-')!r}; "
                f"give --format ({', '.join(FORMAT_NAMES)})"
            )
        name = ext
    key = _ALIASES.get(name.lower().lstrip("."), name.lower().lstrip("."))
    if key not in FORMATS:
        raise UsageError(f"unknown image format {name!r}; expected one of: {', '.join(FORMAT_NAMES)}")
    return FORMATS[key]


def sniff_format(data: bytes) -> str | None:
    """The format of encoded image bytes, from their first bytes (None if unknown).

    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n....")
    'png'
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] in (b"P2", b"P5"):
        return "pgm"
    if data[:2] in (b"P3", b"P6"):
        return "ppm"
    return None


# -- reading ------------------------------------------------------------------------------
def read_bytes(source: str | os.PathLike | bytes) -> bytes:
    """The bytes of a regular file, or of standard input for ``-``; errors name the file."""
    if source == "-" or source == b"-":
        data = sys.stdin.buffer.read()
        if not data:
            raise ImageReadError("standard input is empty (expected image bytes)", "-")
        return data
    if "\0" in os.fsdecode(source):
        raise ImageReadError("a file name cannot contain a NUL byte", source)
    try:
        info = os.stat(source)
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError("is a folder, not an image", source)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise ImageReadError("not a regular file", source)
        with open(source, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ImageReadError("no such file", source) from None
    except PermissionError:
        raise ImageReadError("permission denied", source) from None
    except OSError as error:
        raise ImageReadError(f"cannot read: {error.strerror or error}", source) from None


def decode_image(data: bytes, *, name: str | os.PathLike | bytes | None = None, channel_order: str = "rgb") -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, TIFF, BMP, WebP, PNM) into an array.

    Keeps depth, channels and alpha; grey images come back H x W.
    """
    if not data:
        raise ImageReadError("empty file (0 bytes)", name)
    cv = cv2()
    with native_stderr_silenced():
        image = cv.imdecode(np.frombuffer(data, dtype=np.uint8), cv.IMREAD_UNCHANGED)
    if image is None:
        kind = sniff_format(data)
        reason = f"cannot decode the {kind.upper()} data (truncated or corrupt)" if kind else "not an image in a known format (or corrupt)"
        raise ImageReadError(reason, name)
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(f"{image.dtype} samples are not supported (uint8, uint16 and float32 are)", name)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if channel_order == "rgb":
        image = _swap_red_blue(image)
    return image


def read_image(source: str | os.PathLike | bytes, *, channel_order: str = "rgb") -> np.ndarray:
    """Read an image file (or ``"-"`` for standard input) into a numpy array.

    Parameters
    ----------
    source : path or "-"
    channel_order : "rgb" or "bgr"
        Channel order of colour images; alpha stays last.

    Raises
    ------
    ImageReadError
        A missing, unreadable or undecodable file (exit code 1), naming the file.
    """
    return decode_image(read_bytes(source), name=source, channel_order=channel_order)


def _swap_red_blue(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] in (3, 4):
        order = [2, 1, 0] + ([3] if image.shape[2] == 4 else [])
        return np.ascontiguousarray(image[:, :, order])
    return image


# -- writing ------------------------------------------------------------------------------
def encode_image(image: np.ndarray, fmt: Format | str, *, channel_order: str = "rgb", name: str | os.PathLike | None = None) -> bytes:
    """Encode an array as ``fmt`` (a :class:`Format` or a name such as ``"png"``).

    A depth or channel count the format cannot hold is an :class:`ImageWriteError` (OpenCV
    would silently drop it to 8 bits); gray+alpha is written as RGBA, since OpenCV's
    encoders take 1, 3 or 4 channels.
    """
    if isinstance(fmt, str):
        fmt = format_for(fmt)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 2:  # grey + alpha -> RGBA
        image = np.dstack([image[:, :, 0]] * 3 + [image[:, :, 1]])
        channels = 4
    if image.dtype.name not in fmt.dtypes:
        hint = "tiff" if image.dtype == np.float32 else "png or tiff"
        raise ImageWriteError(
            f"{fmt.name} cannot hold {image.dtype} samples; write {hint}, or choose --depth "
            f"{' or '.join(fmt.dtypes)}",
            name,
        )
    if channels not in fmt.channels:
        what = {1: "grey", 3: "colour without alpha", 4: "colour with alpha"}[channels]
        raise ImageWriteError(
            f"{fmt.name} cannot hold {what} images ({channels} channels); write png or tiff", name
        )
    if channel_order == "rgb":
        image = _swap_red_blue(image)
    try:
        with native_stderr_silenced():
            ok, buffer = cv2().imencode(fmt.extension, np.ascontiguousarray(image))
    except cv2().error as error:
        raise ImageWriteError(f"cannot encode as {fmt.name}: {str(error).strip().splitlines()[-1]}", name) from None
    if not ok:
        raise ImageWriteError(f"cannot encode as {fmt.name}", name)
    return buffer.tobytes()


def write_image(
    destination: str | os.PathLike,
    image: np.ndarray,
    *,
    format: str | None = None,
    overwrite: bool = False,
    channel_order: str = "rgb",
) -> None:
    """Write ``image`` to a file (or ``"-"``: standard output), atomically.

    The format comes from ``format`` or the file's extension. The bytes go to a temporary
    file in the same folder, which is then renamed into place: a reader never sees a
    partial file and a failure leaves none behind. Without ``overwrite``, an existing
    ``destination`` (even a dangling symlink) is an :class:`OutputExistsError`.
    """
    fmt = format_for(format, path=destination)
    data = encode_image(image, fmt, channel_order=channel_order, name=destination)
    if destination == "-":
        write_stdout(data)
        return
    write_bytes_atomic(destination, data, overwrite=overwrite)


def write_stdout(data: bytes, stream: BinaryIO | None = None) -> None:
    """Write all of ``data`` to standard output (a short write is retried, not ignored)."""
    stream = stream or sys.stdout.buffer
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if written is None:  # a buffered stream writes everything or raises
            break
        view = view[written:]
    stream.flush()


def _create_temporary(folder: str) -> tuple[int, str]:
    """A new empty file in ``folder`` with a random name, opened for writing.

    Created with mode 0666 so that the kernel applies the process's current umask, as for
    any file a program writes (``tempfile.mkstemp`` would make it 0600).
    """
    for _ in range(100):
        name = os.path.join(folder, f".imgconv-{os.urandom(6).hex()}.part")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", folder)


def write_bytes_atomic(destination: str | os.PathLike | bytes, data: bytes, *, overwrite: bool = False) -> None:
    """Put ``data`` at ``destination`` through a temporary file and a rename."""
    destination = os.fsdecode(os.fspath(destination))
    if "\0" in destination:
        raise ImageWriteError("a file name cannot contain a NUL byte", destination)
    folder = os.path.dirname(destination) or "."
    if not overwrite and os.path.lexists(destination):
        raise OutputExistsError("output exists; use --overwrite to replace it", destination)
    try:
        fd, temporary = _create_temporary(folder)
    except OSError as error:
        raise ImageWriteError(_write_reason(error, folder), destination) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if overwrite:
            os.replace(temporary, destination)
        else:
            _link_no_clobber(temporary, destination)
    except OutputExistsError:
        _remove_quietly(temporary)
        raise
    except OSError as error:
        _remove_quietly(temporary)
        raise ImageWriteError(_write_reason(error, folder), destination) from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def _link_no_clobber(temporary: str, destination: str) -> None:
    """Rename ``temporary`` to ``destination`` unless that exists (no race: link fails)."""
    try:
        os.link(temporary, destination)
    except FileExistsError:
        raise OutputExistsError("output exists; use --overwrite to replace it", destination) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(destination):  # a file system without hard links
            raise OutputExistsError("output exists; use --overwrite to replace it", destination) from None
        os.replace(temporary, destination)
        return
    os.unlink(temporary)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_reason(error: OSError, folder: str) -> str:
    if error.errno == errno.ENOENT:
        return f"cannot write: the folder {folder!r} does not exist"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write: permission denied in {folder!r}"
    if error.errno == errno.ENOSPC:
        return "cannot write: no space left on the device"
    return f"cannot write: {error.strerror or error}"
