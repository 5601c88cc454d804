"""Encoding an array as an image file's bytes: the format's depths and channels checked,
quality and compression chosen, the photo's metadata written in.

Who encodes what:

* OpenCV (``cv2.imencode``): PNG, JPEG, TIFF (LZW, deflate, none), WebP, AVIF, BMP, PNM.
  For WebP and AVIF the metadata goes in with the pixels (``cv2.imencodeWithMetadata``);
  JPEG, PNG and TIFF get theirs afterwards from :mod:`imgconv.metadata` (OpenCV writes no
  XMP into JPEG, and an ``eXIf`` chunk libpng calls invalid).
* tifffile (the ``big`` extra): zstd TIFF, which OpenCV's libtiff lacks.
* Pillow plugins, optional extras: HEIC by ``pillow-heif`` (``heif``), JPEG XL by
  ``pillow-jxl-plugin`` (``jxl``); a missing extra is one line naming it.

Defaults (no ``--quality``), those of each format's own encoder tool, which ImageMagick and
libvips use too: JPEG 92 (ImageMagick's; the batch keeps a JPEG input's own quality), WebP
75 (cwebp; lossless for a lossless WebP input), AVIF 60 (avifenc), HEIC 50 (libheif),
JPEG XL 90 (cjxl's distance 1). PNG at zlib level 1, OpenCV's (``--compression 0-9``).
"""

from __future__ import annotations

import importlib
import io
import os

import numpy as np

from ._cv import cv2, native_stderr_silenced
from .errors import ImageReadError, ImageWriteError, UsageError
from .formats import Format, format_for
from .metadata import Metadata, attach_metadata, profile_for

__all__ = ["encode_image", "TIFF_COMPRESSIONS", "PNG_LEVELS", "COMPRESSIONS", "DEFAULT_QUALITY", "QUALITY_FORMATS", "LOSSLESS",
           "check_compression", "plugin", "swap_red_blue"]

TIFF_COMPRESSIONS = ("zstd", "deflate", "lzw", "none")
"""How a TIFF may be compressed (``--compression``), all but none with the horizontal
predictor (the floating-point one for float images in OpenCV's). zstd is written by
``tifffile`` (the ``big`` extra: OpenCV's libtiff has no zstd), the others by OpenCV."""

PNG_LEVELS = tuple(str(level) for level in range(10))
"""PNG's zlib levels (``--compression 9``: smallest; 0: stored)."""

COMPRESSIONS = TIFF_COMPRESSIONS + PNG_LEVELS
"""Every ``--compression`` value: a TIFF method or a PNG level."""

_CV2_TIFF = {"none": (1, 1), "lzw": (5, 2), "deflate": (8, 2)}  # libtiff's codec and predictor

DEFAULT_QUALITY = {"jpg": 92, "webp": 75, "avif": 60, "heic": 50, "jxl": 90}
"""The quality when neither ``--quality`` nor a JPEG input says."""

LOSSLESS = 101
"""``quality=LOSSLESS``: a lossless WebP (OpenCV's own convention: above 100)."""

QUALITY_FORMATS = ("jpg", "webp", "avif", "heic", "jxl")
"""The formats ``--quality`` applies to."""

_PLUGINS = {"heic": ("pillow_heif", "heif"), "jxl": ("pillow_jxl", "jxl")}  # module, extra


def check_compression(value: str) -> None:
    """A :class:`UsageError` listing the choices, for a ``--compression`` that is not one."""
    if value not in COMPRESSIONS:
        raise UsageError(f"unknown compression {value!r}; expected a TIFF method ({', '.join(TIFF_COMPRESSIONS)}) "
                         "or a PNG level (0-9)")


def plugin(fmt: str, name: str | os.PathLike | bytes | None, doing: str):  # noqa: ANN201 - the module
    """The Pillow plugin module that reads and writes ``fmt`` (``heic``, ``jxl``); its extra
    named in one line when it is not installed."""
    module, extra = _PLUGINS[fmt]
    try:
        return importlib.import_module(module)
    except ImportError:
        label = {"heic": "HEIC", "jxl": "JPEG XL"}[fmt]
        error = ImageReadError if doing == "reading" else ImageWriteError
        raise error(f"{doing} {label} needs the {extra} extra: pip install 'imgconv[{extra}]'", name) from None


def swap_red_blue(image: np.ndarray) -> np.ndarray:
    """RGB(A) <-> BGR(A); other images as they are."""
    if image.ndim == 3 and image.shape[2] in (3, 4):
        order = [2, 1, 0] + ([3] if image.shape[2] == 4 else [])
        return np.ascontiguousarray(image[:, :, order])
    return image


def encode_image(image: np.ndarray, fmt: Format | str, *, channel_order: str = "rgb",
                 name: str | os.PathLike | None = None, compression: str | None = None,
                 quality: int | None = None, metadata: Metadata | None = None) -> bytes:
    """Encode an array as ``fmt`` (a :class:`Format` or a name such as ``"png"``).

    A depth or channel count the format cannot hold is an :class:`ImageWriteError` (OpenCV
    would silently drop it to 8 bits); gray+alpha is written as RGBA, since OpenCV's
    encoders take 1, 3 or 4 channels. ``compression``: a TIFF method
    (:data:`TIFF_COMPRESSIONS`; None: OpenCV's LZW) or a PNG level (:data:`PNG_LEVELS`).
    ``quality`` (1-100, :data:`QUALITY_FORMATS`; WebP also :data:`LOSSLESS`): None is
    :data:`DEFAULT_QUALITY`. ``metadata``: the ICC profile, EXIF, XMP and resolution to write with it,
    where the format holds them (an RGB profile is not given to a grey image).
    """
    if isinstance(fmt, str):
        fmt = format_for(fmt)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 2:  # grey + alpha -> RGBA
        image = np.dstack([image[:, :, 0]] * 3 + [image[:, :, 1]])
        channels = 4
    _check_holds(image, channels, fmt, name)
    _check_options(fmt, compression, quality, name)
    metadata = metadata or Metadata()
    if fmt.name == "avif" and image.dtype == np.uint16:  # 10-bit AVIF: OpenCV takes 0..1023
        image = np.rint(image * (1023 / 65535)).astype(np.uint16)
    rgb = image if channel_order == "rgb" else swap_red_blue(image)
    if fmt.name in _PLUGINS:
        return _by_plugin(rgb, fmt.name, quality or DEFAULT_QUALITY[fmt.name], metadata, channels, name)
    if fmt.name == "tiff" and (compression == "zstd" or (channels == 4 and _has_tifffile())):
        # zstd, which OpenCV's libtiff lacks; alpha, which OpenCV writes without ExtraSamples
        # (other readers then see a fourth channel of unknown meaning)
        return attach_metadata(_tiff_by_tifffile(rgb, compression or "lzw", name), "tiff", metadata, channels)
    params = list(fmt.encode_params) + _params(fmt.name, image.dtype, compression, quality)
    bgr = swap_red_blue(rgb)
    cv = cv2()
    try:
        with native_stderr_silenced():
            if fmt.name in ("webp", "avif") and metadata:
                kinds, blocks = _opencv_metadata(metadata, channels)
                ok, buffer = cv.imencodeWithMetadata(fmt.extension, bgr, kinds, blocks, params)
            else:
                ok, buffer = cv.imencode(fmt.extension, bgr, params)
    except cv.error as error:
        raise ImageWriteError(f"cannot encode as {fmt.name}: {str(error).strip().splitlines()[-1]}", name) from None
    if not ok:
        raise ImageWriteError(f"cannot encode as {fmt.name}", name)
    return attach_metadata(buffer.tobytes(), fmt.name, metadata, channels)


def _check_holds(image: np.ndarray, channels: int, fmt: Format, name) -> None:  # noqa: ANN001
    if image.dtype.name not in fmt.dtypes:
        hint = "tiff" if image.dtype.kind == "f" else "png or tiff"
        raise ImageWriteError(
            f"{fmt.name} cannot hold {image.dtype} samples; write {hint}, or choose --depth {' or '.join(fmt.dtypes)}",
            name,
        )
    if channels not in fmt.channels:
        what = {1: "grey", 3: "colour without alpha", 4: "colour with alpha"}[channels]
        raise ImageWriteError(f"{fmt.name} cannot hold {what} images ({channels} channels); write png or tiff", name)


def _check_options(fmt: Format, compression: str | None, quality: int | None, name) -> None:  # noqa: ANN001
    if quality == LOSSLESS:
        if fmt.name != "webp":
            raise ImageWriteError(f"--lossless applies to WebP outputs, not {fmt.label}", name)
    elif quality is not None and not (isinstance(quality, int) and 1 <= quality <= 100):
        raise UsageError(f"--quality takes a whole number from 1 to 100, not {quality!r}")
    elif quality is not None and fmt.name not in QUALITY_FORMATS:
        raise ImageWriteError(f"--quality applies to JPEG, WebP, AVIF, HEIC and JPEG XL outputs, not {fmt.label}",
                              name)
    if compression is None:
        return
    check_compression(compression)
    if fmt.name == "tiff" and compression not in TIFF_COMPRESSIONS:
        raise ImageWriteError(f"--compression {compression} is a PNG level; a TIFF takes "
                              f"{', '.join(TIFF_COMPRESSIONS)}", name)
    if fmt.name == "png" and compression not in PNG_LEVELS:
        raise ImageWriteError(f"--compression {compression} is a TIFF method; a PNG takes a level, 0-9", name)
    if fmt.name not in ("tiff", "png"):
        raise ImageWriteError(f"--compression applies to TIFF and PNG outputs, not {fmt.label}", name)


def _params(fmt: str, dtype: np.dtype, compression: str | None, quality: int | None) -> list[int]:
    """OpenCV's encoder flags for the options."""
    cv = cv2()
    if fmt == "jpg":  # optimised Huffman tables, as ImageMagick writes: 4% smaller, the same pixels
        return [cv.IMWRITE_JPEG_QUALITY, quality or DEFAULT_QUALITY["jpg"], cv.IMWRITE_JPEG_OPTIMIZE, 1]
    if fmt == "webp":  # OpenCV writes WebP lossless from 101, and without a quality
        return [cv.IMWRITE_WEBP_QUALITY, quality or DEFAULT_QUALITY["webp"]]
    if fmt == "avif":
        depth = [cv.IMWRITE_AVIF_DEPTH, 10] if dtype == np.uint16 else []
        return [cv.IMWRITE_AVIF_QUALITY, quality or DEFAULT_QUALITY["avif"], *depth]
    if fmt == "png" and compression is not None:
        return [cv.IMWRITE_PNG_COMPRESSION, int(compression)]
    if fmt == "tiff" and compression is not None:
        codec, predictor = _CV2_TIFF[compression]
        return [cv.IMWRITE_TIFF_COMPRESSION, codec, cv.IMWRITE_TIFF_PREDICTOR,
                3 if predictor == 2 and dtype.kind == "f" else predictor]
    return []


def _opencv_metadata(metadata: Metadata, channels: int) -> tuple[list[int], list[np.ndarray]]:
    """What ``cv2.imencodeWithMetadata`` takes: the kinds, and each block's bytes."""
    cv = cv2()
    found = [(cv.IMAGE_METADATA_EXIF, metadata.exif), (cv.IMAGE_METADATA_XMP, metadata.xmp),
             (cv.IMAGE_METADATA_ICCP, profile_for(metadata, channels))]
    found = [(kind, block) for kind, block in found if block]
    return [kind for kind, _ in found], [np.frombuffer(block, np.uint8) for _, block in found]


def _by_plugin(image: np.ndarray, fmt: str, quality: int, metadata: Metadata, channels: int,
               name) -> bytes:  # noqa: ANN001
    """``image`` (RGB(A) order) as a HEIC (x265; 16-bit as 10-bit) or a JPEG XL (libjxl), by
    its Pillow plugin."""
    module = plugin(fmt, name, "writing")
    extra = {key: value for key, value in (("exif", metadata.exif), ("xmp", metadata.xmp),
                                           ("icc_profile", profile_for(metadata, channels)))
             if value}
    if "exif" in extra:
        extra["exif"] = b"Exif\x00\x00" + extra["exif"]
    buffer = io.BytesIO()
    try:
        if fmt == "heic":  # 16-bit samples as a 10-bit HEIC (pillow-heif keeps the top bits)
            mode = {3: "RGB", 4: "RGBA"}[image.shape[2]] + (";16" if image.dtype == np.uint16 else "")
            module.from_bytes(mode, (image.shape[1], image.shape[0]), np.ascontiguousarray(image).tobytes()).save(
                buffer, quality=quality, **extra)
        else:
            from PIL import Image

            Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="JXL", quality=quality, **extra)
    except Exception as error:  # noqa: BLE001 - whatever the encoder says: one line
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ImageWriteError(f"cannot encode as {fmt}: {reason}", name) from None
    return buffer.getvalue()


def _has_tifffile() -> bool:
    try:
        import tifffile  # noqa: F401
        import imagecodecs  # noqa: F401
    except ImportError:
        return False
    return True


_TIFFFILE = {"zstd": "zstd", "deflate": "adobe_deflate", "lzw": "lzw", "none": None}


def _tiff_by_tifffile(image: np.ndarray, compression: str, name: str | os.PathLike | None) -> bytes:
    """A TIFF of ``image`` (RGB order) written by tifffile, compressed as ``compression``
    with the predictor (but ``none``), alpha marked unassociated (ExtraSamples 2)."""
    try:
        import tifffile
    except ImportError:
        raise ImageWriteError("zstd TIFF needs tifffile and imagecodecs: pip install 'imgconv[big]'", name) from None
    buffer = io.BytesIO()
    colour = image.ndim == 3 and image.shape[2] in (3, 4)
    codec = _TIFFFILE[compression]
    tifffile.imwrite(buffer, image, compression=codec, predictor=codec is not None,
                     photometric="rgb" if colour else "minisblack",
                     extrasamples=("unassalpha",) if colour and image.shape[2] == 4 else None)
    return buffer.getvalue()
