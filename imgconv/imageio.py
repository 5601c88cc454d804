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

What each format is (extensions, magic bytes, what it holds) is :mod:`imgconv.formats`'s
table; ``FORMATS``, ``format_for`` and ``sniff_format`` are re-exported from there.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ._cv import cv2, native_stderr_silenced
from ._quiet import tifffile_quiet
from .dtypes import DTYPE_NAMES, supported
from .errors import ImageReadError, ImageWriteError, OutputExistsError, UsageError
from .encoding import TIFF_COMPRESSIONS, encode_image, plugin, swap_red_blue  # noqa: F401 - re-exported
from .formats import FORMAT_NAMES, FORMATS, TABLE, Format, format_for, sniff_format  # noqa: F401 - re-exported
from .headers import DEFAULT_MAX_PIXELS, png_damage, read_header
from .metadata import Metadata, read_metadata

__all__ = [
    "read_image",
    "read_bytes",
    "write_image",
    "decode_image",
    "ReadOptions",
    "DEFAULT_MAX_PIXELS",
    "apply_orientation",
    "encode_image",
    "TIFF_COMPRESSIONS",
    "FORMATS",
    "format_for",
    "sniff_format",
]


# -- reading ------------------------------------------------------------------------------
def read_bytes(source: str | os.PathLike | bytes) -> bytes:
    """The bytes of a regular file, or of standard input for ``-``; errors name the file."""
    if source == "-" or source == b"-":
        terminal = getattr(sys.stdin, "isatty", None)  # (a caller may have replaced sys.stdin)
        if terminal is not None and terminal():  # nothing is piped in: reading would wait for the user
            raise ImageReadError(
                "standard input is a terminal, not image data; pipe an image in (cat photo.png | imgconv ...) "
                "or name the file", "-")
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
        if os.path.islink(source):
            raise ImageReadError(f"a dangling symlink (its target {os.readlink(source)!r} does not exist)", source) from None
        raise ImageReadError("no such file", source) from None
    except PermissionError:
        raise ImageReadError("permission denied", source) from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ImageReadError("a symlink loop (the links point at each other)", source) from None
        if error.errno == errno.ENAMETOOLONG:
            raise ImageReadError("the file name is too long", source) from None
        raise ImageReadError(f"cannot read: {error.strerror or error}", source) from None


@dataclass(frozen=True)
class ReadOptions:
    """How cautious decoding is (see :func:`decode_image`); picklable for worker processes."""

    max_pixels: int | None = DEFAULT_MAX_PIXELS
    allow_truncated: bool = False
    orient: bool = True

    def __post_init__(self) -> None:
        if self.max_pixels is not None and (isinstance(self.max_pixels, bool) or self.max_pixels < 0):
            raise UsageError(f"--max-pixels must be a whole number >= 0 (0: no limit), got {self.max_pixels!r}")


def decode_image(
    data: bytes,
    *,
    name: str | os.PathLike | bytes | None = None,
    channel_order: str = "rgb",
    reading: ReadOptions | None = None,
) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, TIFF, BMP, WebP, GIF, PNM) into an array.

    Keeps depth, channels and alpha; grey images come back H x W. The header is read first
    (:mod:`imgconv.headers`) and, before a pixel is decoded, these are refused with an
    :class:`ImageReadError` that says why:

    * more than ``reading.max_pixels`` pixels (None or 0: no limit): a decompression bomb;
    * animated images (GIF, APNG, WebP) and multi-page TIFFs: only still images are filtered;
    * CMYK JPEG and TIFF: OpenCV would silently turn them into RGB;
    * truncated JPEG and PNG, unless ``reading.allow_truncated``: then what the data holds is decoded
      (with Pillow; the missing rows are left as its decoder leaves them, grey for JPEG and
      black for PNG).

    With ``reading.orient`` (the default) an EXIF orientation is applied, so the pixels come back
    upright as a viewer shows them (the output carries no EXIF to turn it again).

    >>> decode_image(b"GIF89a" + bytes.fromhex("1027102700"), name="bomb.gif", reading=ReadOptions(max_pixels=10**6))
    Traceback (most recent call last):
    ...
    imgconv.errors.ImageReadError: bomb.gif: 10000x10000 pixels (100,000,000) is more than the limit of 1,000,000 (--max-pixels); refused before decoding
    """
    reading = reading or ReadOptions()
    if not data:
        raise ImageReadError("empty file (0 bytes)", name)
    kind = sniff_format(data)
    if kind in ("heic", "jxl"):
        image = _plugin_decode(data, kind, name, reading.max_pixels)
        return image if channel_order == "rgb" or image.ndim == 2 else swap_red_blue(image)
    avif_orientation = _avif_header(data, name, reading.max_pixels) if kind == "avif" else 1
    header = read_header(data)
    if header is not None:
        _check_header(header, name, reading.max_pixels)
    if header is not None and header.complete is False:  # some libjpeg builds decode it with a warning
        damage = _damage(data) or _truncation_reason(header.format)
        if not damage.startswith("truncated"):  # a bad CRC found on the way: no option helps
            raise ImageReadError(damage, name)
        image = _truncated(data, damage, name, reading.allow_truncated)
    elif header is not None and header.straight_alpha and (image := _tiff_by_tifffile(data)) is not None:
        pass  # OpenCV would premultiply the colour by the alpha
    else:
        cv = cv2()
        try:
            with native_stderr_silenced():
                image = cv.imdecode(np.frombuffer(data, dtype=np.uint8), cv.IMREAD_UNCHANGED)
        except cv.error as error:  # e.g. OpenCV's own limit of 2**30 pixels
            reason = str(error).strip().splitlines()[-1]
            if "CV_IO_MAX_IMAGE_PIXELS" in reason:
                reason = "more pixels than OpenCV decodes (2**30; OPENCV_IO_MAX_IMAGE_PIXELS raises it)"
            raise ImageReadError(f"cannot decode: {reason}", name) from None
        if image is None and header is not None and header.format == "tiff":
            image = _tiff_by_tifffile(data)  # a codec OpenCV's libtiff lacks (zstd, which imgconv writes)
        if image is None:
            damage = _damage(data)
            if damage is not None and damage.startswith("truncated"):
                image = _truncated(data, damage, name, reading.allow_truncated)
            else:
                raise ImageReadError(damage or _undecodable_reason(data), name)
    if not supported(image.dtype):
        raise ImageReadError(
            f"{image.dtype} samples are not supported ({', '.join(DTYPE_NAMES[:-1])} and {DTYPE_NAMES[-1]} are)", name
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if kind == "avif" and image.dtype == np.uint16:
        image = _full_range(image, _avif_bits(data))
    orientation = header.orientation if header is not None else avif_orientation
    if reading.orient and orientation != 1:
        image = apply_orientation(image, orientation)
    if channel_order == "rgb":
        image = swap_red_blue(image)
    return image


def _label(kind: str) -> str:
    return TABLE[kind].label


def _check_pixels(width: int, height: int, name, max_pixels: int | None) -> None:  # noqa: ANN001
    """A decompression bomb refused before decoding: more than ``max_pixels`` (None, 0: no limit)."""
    if max_pixels and width * height > max_pixels:
        raise ImageReadError(f"{width}x{height} pixels ({width * height:,}) is more than the limit of "
                             f"{max_pixels:,} (--max-pixels); refused before decoding", name)


def _check_header(header, name, max_pixels: int | None) -> None:  # noqa: ANN001
    _check_pixels(header.width, header.height, name, max_pixels)
    if header.width == 0 or header.height == 0:
        raise ImageReadError(f"corrupt {_label(header.format)} header: {header.width}x{header.height} pixels", name)
    if header.frames > 1:
        what = "a multi-page TIFF" if header.format == "tiff" else f"an animated {_label(header.format)}"
        unit = "pages" if header.format == "tiff" else "frames"
        raise ImageReadError(
            f"{what} ({header.frames} {unit}); imgconv filters still images: extract one first "
            f"(e.g. magick 'in.{header.format}[0]' frame.png)",
            name,
        )
    if header.cmyk:
        raise ImageReadError(
            f"a CMYK {_label(header.format)}; imgconv filters grey and RGB(A) images: convert it first "
            f"(e.g. magick in.{header.format} -colorspace sRGB out.png)",
            name,
        )


def _truncated(data: bytes, reason: str, name, allow: bool) -> np.ndarray:  # noqa: ANN001
    if not allow:
        raise ImageReadError(reason + "; --allow-truncated decodes what is there", name)
    return _decode_truncated(data, name)


def _truncation_reason(kind: str) -> str:
    if kind == "jpg":
        return "truncated JPEG (the data ends before its end-of-image marker)"
    return f"truncated {_label(kind)}"


def _damage(data: bytes) -> str | None:
    """Why undecodable bytes are so, when the structure of the file tells."""
    kind = sniff_format(data)
    if kind == "png":
        return png_damage(data)
    if kind == "jpg" and data.rfind(b"\xff\xd9") < 0:
        return _truncation_reason("jpg")
    return None


def _plugin_decode(data: bytes, fmt: str, name: str | os.PathLike | bytes | None,
                   max_pixels: int | None) -> np.ndarray:
    """A HEIC/HEIF's primary picture (turned as its transforms say; by pillow-heif; 10 and 12
    bits as full-range 16-bit) or a JPEG XL (by pillow-jxl-plugin, 8-bit), RGB(A); its size
    checked against ``max_pixels`` before it is decoded."""
    module = plugin(fmt, name, "reading")
    label = "HEIC" if fmt == "heic" else "JPEG XL"
    try:
        if fmt == "heic":  # 10 and 12 bits kept, as 16 (pillow-heif shifts them to the top bits)
            opened = module.open_heif(data, convert_hdr_to_8bit=False)
            frames = len(opened)
        else:
            from PIL import Image

            opened = Image.open(io.BytesIO(data), formats=["JXL"])
            frames = getattr(opened, "n_frames", 1)
        _check_pixels(*opened.size, name, max_pixels)
        if frames > 1:
            raise ImageReadError(f"a {label} holding {frames} images; imgconv filters still images", name)
        if fmt == "jxl" and opened.mode not in ("L", "RGB", "RGBA"):
            opened = opened.convert("RGBA" if "A" in opened.mode else "RGB")
        image = np.ascontiguousarray(np.asarray(opened))
        bits = int(opened.info.get("bit_depth", 8)) if fmt == "heic" else 8
        if image.dtype == np.uint16 and 8 < bits < 16:
            image = _full_range(image >> (16 - bits), bits)
        return image
    except ImageReadError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a damaged file makes the decoder say: one line
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ImageReadError(f"cannot decode this {label}: {reason}", name) from None


def _avif_header(data: bytes, name, max_pixels: int | None) -> int:  # noqa: ANN001
    """An AVIF's orientation (its ``irot`` and ``imir`` boxes, which OpenCV's decoder does not
    apply, as Pillow reads them into an EXIF orientation); refused over ``max_pixels`` before
    OpenCV decodes it."""
    from PIL import Image

    try:
        opened = Image.open(io.BytesIO(data), formats=["AVIF"])
        (width, height), orientation = opened.size, int(opened.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - OpenCV's decoder says what is wrong with the file
        return 1
    _check_pixels(width, height, name, max_pixels)
    return orientation if orientation in _ORIENT else 1


def _avif_bits(data: bytes) -> int:
    """An AVIF's bits per sample: its ``pixi`` box, else its ``av1C`` flags (8, 10 or 12)."""
    at = data.find(b"pixi", 0, 65536)
    if at >= 0 and len(data) > at + 9 and data[at + 8] > 0:
        return int(data[at + 9])
    at = data.find(b"av1C", 0, 65536)
    if at >= 0 and len(data) > at + 6:
        flags = data[at + 6]
        return 12 if flags & 0x20 else 10 if flags & 0x40 else 8
    return 16


def _full_range(image: np.ndarray, bits: int) -> np.ndarray:
    """``bits``-bit samples (OpenCV hands a 10- or 12-bit AVIF back as 0..1023 or 0..4095 in
    uint16, pillow-heif a HEIC's after a shift) scaled to uint16's 0..65535, as every other
    16-bit image is: white stays white."""
    if not 8 < bits < 16:
        return image
    top = (1 << bits) - 1
    return np.rint(image.astype(np.float64) * (65535 / top)).astype(np.uint16)


@tifffile_quiet()
def _tiff_by_tifffile(data: bytes) -> np.ndarray | None:
    """A TIFF decoded by tifffile (with imagecodecs' codecs), in OpenCV's BGR order; None
    without the ``big`` extra or where tifffile cannot decode it either."""
    try:
        import tifffile
    except ImportError:
        return None
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            series = tif.series[0]
            image, axes = series.asarray(), series.axes
    except Exception:  # noqa: BLE001 - the caller says why it cannot be decoded
        return None
    if "S" in axes and axes.index("S") != len(axes) - 1:  # planar samples (C x H x W): H x W x C
        image = np.moveaxis(image, axes.index("S"), -1)
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
        return None  # pages, or more samples than an image has: OpenCV says what it makes of them
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = swap_red_blue(image)
    return np.ascontiguousarray(image)


def _undecodable_reason(data: bytes) -> str:
    kind = sniff_format(data)
    if kind:
        return f"cannot decode the {_label(kind)} data (corrupt)"
    head = data[:1024]
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:256]:
        return "an HTML page, not an image (a download that returned an error page?)"
    if text.startswith(b"<?xml") and b"<svg" in data[:4096].lower() or text.startswith(b"<svg"):
        return "an SVG drawing, not a raster image (convert it first, e.g. rsvg-convert)"
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        decoded = None
    if decoded is not None and "\0" not in decoded and decoded.strip():
        return "a text file, not an image"
    return "not an image in a known format (or corrupt)"


def _decode_truncated(data: bytes, name) -> np.ndarray:  # noqa: ANN001
    """What a truncated JPEG or PNG holds, decoded by Pillow (OpenCV refuses such files),
    in OpenCV's conventions: BGR(A) order, grey as H x W, 16 bits kept."""
    import io
    import warnings

    from PIL import Image, ImageFile

    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()
                mode = picture.mode
                if mode == "P" or mode == "PA":
                    picture = picture.convert("RGBA" if mode == "PA" or "transparency" in picture.info else "RGB")
                elif mode == "1":
                    picture = picture.convert("L")
                elif mode == "LA":
                    picture = picture.convert("RGBA")  # as OpenCV decodes grey + alpha
                elif mode == "I;16B":
                    picture = picture.convert("I;16")
                array = np.array(picture)
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds for damaged data
        raise ImageReadError(f"cannot decode even the start of the truncated data ({error})", name) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    if array.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"truncated {mode} image: not a mode imgconv decodes", name)
    return swap_red_blue(array)


_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: a.swapaxes(0, 1)[::-1],
}


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright by their EXIF ``orientation`` (1 to 8), as viewers do.

    >>> apply_orientation(np.array([[1, 2, 3], [4, 5, 6]]), 6)   # 90 degrees clockwise
    array([[4, 1],
           [5, 2],
           [6, 3]])
    """
    turn = _ORIENT.get(orientation)
    return image if turn is None else np.ascontiguousarray(turn(image))


def read_image(
    source: str | os.PathLike | bytes, *, channel_order: str = "rgb", reading: ReadOptions | None = None,
    with_metadata: bool = False,
) -> np.ndarray | tuple[np.ndarray, Metadata]:
    """Read an image file (or ``"-"`` for standard input) into a numpy array.

    Parameters
    ----------
    source : path or "-"
    channel_order : "rgb" or "bgr"
        Channel order of colour images; alpha stays last.
    reading : ReadOptions, optional
        The pixel limit, truncated files, EXIF orientation (see :func:`decode_image`).
    with_metadata : bool
        Return ``(pixels, metadata)``: the file's ICC profile, EXIF (its orientation set to
        1 when the pixels were turned upright), XMP and resolution as a
        :class:`~imgconv.metadata.Metadata`, for :func:`write_image`.

    Raises
    ------
    ImageReadError
        A missing, unreadable or undecodable file (exit code 1), naming the file.
    """
    data = read_bytes(source)
    image = decode_image(data, name=source, channel_order=channel_order, reading=reading)
    return (image, read_metadata(data)) if with_metadata else image


# -- writing ------------------------------------------------------------------------------
def write_image(
    destination: str | os.PathLike,
    image: np.ndarray,
    *,
    format: str | None = None,
    overwrite: bool = False,
    channel_order: str = "rgb",
    metadata: Metadata | None = None,
    quality: int | None = None,
    compression: str | None = None,
) -> None:
    """Write ``image`` to a file (or ``"-"``: standard output), atomically.

    The format comes from ``format`` or the file's extension. The bytes go to a temporary
    file in the same folder, which is then renamed into place: a reader never sees a
    partial file and a failure leaves none behind. Without ``overwrite``, an existing
    ``destination`` (even a dangling symlink) is an :class:`OutputExistsError`.
    ``metadata`` (from ``read_image(..., with_metadata=True)``), ``quality`` and
    ``compression`` as for :func:`~imgconv.encoding.encode_image`.
    """
    fmt = format_for(format, path=destination)
    data = encode_image(image, fmt, channel_order=channel_order, name=destination, metadata=metadata,
                        quality=quality, compression=compression)
    if destination == "-":
        write_stdout(data)
        return
    write_bytes_atomic(destination, data, overwrite=overwrite)


def write_stdout(data: bytes, stream: BinaryIO | None = None) -> None:
    """Write all of ``data`` to standard output (a short write is retried, not ignored)."""
    stream = stream or sys.stdout.buffer
    view = memoryview(data)
    try:
        while view:
            written = stream.write(view)
            if written is None:  # a buffered stream writes everything or raises
                break
            view = view[written:]
        stream.flush()
    except BrokenPipeError:  # the reader went away: the CLI ends quietly (exit 1)
        raise
    except OSError as error:  # ENOSPC on `> /dev/full`, EIO, ...
        raise ImageWriteError(_write_reason(error, None).replace("cannot write", "cannot write to standard output"), "-") from None


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
        raise ImageWriteError(_write_reason(error, folder, destination), destination) from None
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


def _write_reason(error: OSError, folder: str | None, destination: str | None = None) -> str:
    if error.errno == errno.ENAMETOOLONG and destination is not None:
        size = len(os.fsencode(os.path.basename(destination)))
        return f"cannot write: the file name is too long ({size} bytes; most file systems allow 255)"
    if error.errno == errno.EFBIG:
        return "cannot write: the file is larger than this process may write (a file-size limit: ulimit -f)"
    if error.errno == errno.ENOENT and folder is not None:
        return f"cannot write: the folder {folder!r} does not exist"
    if error.errno == errno.EROFS:
        return "cannot write: a read-only file system" + (f" at {folder!r}" if folder is not None else "")
    if error.errno in (errno.EACCES, errno.EPERM) and folder is not None:
        return f"cannot write: permission denied in {folder!r}"
    if error.errno == errno.ENOSPC:
        return "cannot write: no space left on the device"
    return f"cannot write: {error.strerror or error}"
