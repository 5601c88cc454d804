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
from .formats import FORMAT_NAMES, FORMATS, TABLE, Format, format_for, sniff_format  # noqa: F401 - re-exported
from .headers import DEFAULT_MAX_PIXELS, png_damage, read_header

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
    if sniff_format(data) == "heic":
        image = _heif_decode(data, name, reading.max_pixels)
        return image if channel_order == "rgb" or image.ndim == 2 else _swap_red_blue(image)
    header = read_header(data)
    if header is not None:
        _check_header(header, name, reading.max_pixels)
    if header is not None and header.complete is False:  # some libjpeg builds decode it with a warning
        damage = _damage(data) or _truncation_reason(header.format)
        if not damage.startswith("truncated"):  # a bad CRC found on the way: no option helps
            raise ImageReadError(damage, name)
        image = _truncated(data, damage, name, reading.allow_truncated)
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
    if reading.orient and header is not None and header.orientation != 1:
        image = apply_orientation(image, header.orientation)
    if channel_order == "rgb":
        image = _swap_red_blue(image)
    return image


def _label(kind: str) -> str:
    return TABLE[kind].label


def _check_header(header, name, max_pixels: int | None) -> None:  # noqa: ANN001
    if max_pixels and header.pixels > max_pixels:
        raise ImageReadError(
            f"{header.width}x{header.height} pixels ({header.pixels:,}) is more than the limit of "
            f"{max_pixels:,} (--max-pixels); refused before decoding",
            name,
        )
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


def _pillow_heif(name: str | os.PathLike | bytes | None, doing: str):  # noqa: ANN202 - the module
    try:
        import pillow_heif
    except ImportError:
        raise ImageReadError(f"{doing} HEIC needs the heif extra: pip install 'imgconv[heif]'", name) from None
    return pillow_heif


def _heif_decode(data: bytes, name: str | os.PathLike | bytes | None, max_pixels: int | None) -> np.ndarray:
    """A HEIC/HEIF image's primary picture (RGB(A), turned as its transforms say), by
    pillow-heif; its size checked against ``max_pixels`` before it is decoded."""
    pillow_heif = _pillow_heif(name, "reading")
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        width, height = heif.size
        if max_pixels and width * height > max_pixels:
            raise ImageReadError(f"{width}x{height} pixels ({width * height:,}) is more than the limit of "
                                 f"{max_pixels:,} (--max-pixels); refused before decoding", name)
        if len(heif) > 1:
            raise ImageReadError(f"a HEIC holding {len(heif)} images; imgconv filters still images", name)
        return np.ascontiguousarray(np.asarray(heif))
    except ImageReadError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a damaged file makes libheif say: one line
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ImageReadError(f"cannot decode this HEIC: {reason}", name) from None


def _heif_encode(image: np.ndarray, quality: int | None, name: str | os.PathLike | None) -> bytes:
    """``image`` (RGB(A) order) as a HEIC, by pillow-heif (x265)."""
    pillow_heif = _pillow_heif(name, "writing")
    mode = {3: "RGB", 4: "RGBA"}[image.shape[2]]
    buffer = io.BytesIO()
    pillow_heif.from_bytes(mode, (image.shape[1], image.shape[0]), np.ascontiguousarray(image).tobytes()).save(
        buffer, quality=quality or DEFAULT_QUALITY)
    return buffer.getvalue()


@tifffile_quiet()
def _tiff_by_tifffile(data: bytes) -> np.ndarray | None:
    """A TIFF decoded by tifffile (with imagecodecs' codecs), in OpenCV's BGR order; None
    without the ``big`` extra or where tifffile cannot decode it either."""
    try:
        import tifffile
    except ImportError:
        return None
    try:
        image = tifffile.imread(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - the caller says why it cannot be decoded
        return None
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = _swap_red_blue(image)
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
    return _swap_red_blue(array)


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
    source: str | os.PathLike | bytes, *, channel_order: str = "rgb", reading: ReadOptions | None = None
) -> np.ndarray:
    """Read an image file (or ``"-"`` for standard input) into a numpy array.

    Parameters
    ----------
    source : path or "-"
    channel_order : "rgb" or "bgr"
        Channel order of colour images; alpha stays last.
    reading : ReadOptions, optional
        The pixel limit, truncated files, EXIF orientation (see :func:`decode_image`).

    Raises
    ------
    ImageReadError
        A missing, unreadable or undecodable file (exit code 1), naming the file.
    """
    return decode_image(read_bytes(source), name=source, channel_order=channel_order, reading=reading)


def _swap_red_blue(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] in (3, 4):
        order = [2, 1, 0] + ([3] if image.shape[2] == 4 else [])
        return np.ascontiguousarray(image[:, :, order])
    return image


# -- writing ------------------------------------------------------------------------------
TIFF_COMPRESSIONS = ("zstd", "deflate", "lzw", "none")
"""How a TIFF may be compressed (``--compression``), all but none with the horizontal
predictor (the floating-point one for float32 in OpenCV's). zstd is written by ``tifffile``
(the ``big`` extra: OpenCV's libtiff has no zstd), the others by OpenCV."""

_CV2_TIFF = {"none": (1, 1), "lzw": (5, 2), "deflate": (8, 2)}  # libtiff's codec and predictor


DEFAULT_QUALITY = 92
"""JPEG quality when neither ``--quality`` nor a JPEG input says (ImageMagick's default too)."""


def encode_image(image: np.ndarray, fmt: Format | str, *, channel_order: str = "rgb",
                 name: str | os.PathLike | None = None, compression: str | None = None,
                 quality: int | None = None) -> bytes:
    """Encode an array as ``fmt`` (a :class:`Format` or a name such as ``"png"``).

    A depth or channel count the format cannot hold is an :class:`ImageWriteError` (OpenCV
    would silently drop it to 8 bits); gray+alpha is written as RGBA, since OpenCV's
    encoders take 1, 3 or 4 channels. ``compression`` (TIFF only, one of
    :data:`TIFF_COMPRESSIONS`): None keeps OpenCV's default (LZW). ``quality`` (1-100, JPEG
    and WebP): None is :data:`DEFAULT_QUALITY` for JPEG and lossless for WebP.
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
        hint = "tiff" if image.dtype.kind == "f" else "png or tiff"
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
    params = list(fmt.encode_params)
    if quality is not None and not (isinstance(quality, int) and 1 <= quality <= 100):
        raise UsageError(f"--quality takes a whole number from 1 to 100, not {quality!r}")
    if fmt.name == "jpg":  # optimised Huffman tables, as ImageMagick writes: 4% smaller, the same pixels
        params += [cv2().IMWRITE_JPEG_QUALITY, quality or DEFAULT_QUALITY, cv2().IMWRITE_JPEG_OPTIMIZE, 1]
    elif fmt.name == "heic":
        if compression is not None:
            raise ImageWriteError(f"--compression applies to TIFF outputs, not {fmt.label}", name)
        return _heif_encode(image if channel_order == "rgb" else _swap_red_blue(image), quality, name)
    elif quality is not None and fmt.name == "webp":
        params += [cv2().IMWRITE_WEBP_QUALITY, quality]  # without it OpenCV writes WebP lossless
    elif quality is not None:
        raise ImageWriteError(f"--quality applies to JPEG, WebP and HEIC outputs, not {fmt.label}", name)
    if compression is not None:
        if fmt.name != "tiff":
            raise ImageWriteError(f"--compression applies to TIFF outputs, not {fmt.label}", name)
        if compression == "zstd":
            return _tiff_zstd(image if channel_order == "rgb" else _swap_red_blue(image), name)
        codec, predictor = _CV2_TIFF[compression]
        cv = cv2()
        params += [cv.IMWRITE_TIFF_COMPRESSION, codec, cv.IMWRITE_TIFF_PREDICTOR,
                   3 if predictor == 2 and image.dtype == np.float32 else predictor]
    if channel_order == "rgb":
        image = _swap_red_blue(image)
    try:
        with native_stderr_silenced():
            ok, buffer = cv2().imencode(fmt.extension, np.ascontiguousarray(image), params)
    except cv2().error as error:
        raise ImageWriteError(f"cannot encode as {fmt.name}: {str(error).strip().splitlines()[-1]}", name) from None
    if not ok:
        raise ImageWriteError(f"cannot encode as {fmt.name}", name)
    return buffer.tobytes()


def _tiff_zstd(image: np.ndarray, name: str | os.PathLike | None) -> bytes:
    """A zstd-compressed TIFF of ``image`` (RGB order), written by tifffile."""
    try:
        import tifffile
    except ImportError:
        raise ImageWriteError("zstd TIFF needs tifffile and imagecodecs: pip install 'imgconv[big]'", name) from None
    buffer = io.BytesIO()
    colour = image.ndim == 3 and image.shape[2] in (3, 4)
    tifffile.imwrite(buffer, image, compression="zstd", predictor=True, photometric="rgb" if colour else "minisblack",
                     extrasamples=("unassalpha",) if colour and image.shape[2] == 4 else None)
    return buffer.getvalue()


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
