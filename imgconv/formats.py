"""The image formats imgconv knows: one table, read wherever a fact about a format is needed.

Per format: its name, the file extensions that mean it, the magic bytes its files start
with, what it holds (pixel types; channel counts, 2 and 4 carrying alpha) and what its
encoder is given. :mod:`imgconv.imageio` picks output formats and sniffs input bytes from
it, :mod:`imgconv.headers` picks the header reader, and :data:`IMAGE_EXTENSIONS` is what a
folder walk takes for an image. Before, each of these restated the facts it needed.

Kept free of numpy and OpenCV imports: the CLI may build its ``--format`` choices from
:data:`FORMAT_NAMES` at start-up, so encoder parameters are plain numbers (OpenCV's
``IMWRITE_*`` values), not ``cv2`` constants.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .dtypes import DTYPE_NAMES
from .errors import UsageError

__all__ = [
    "Magic",
    "Format",
    "TABLE",
    "FORMATS",
    "FORMAT_NAMES",
    "IMAGE_EXTENSIONS",
    "identify",
    "format_for",
    "sniff_format",
]


@dataclass(frozen=True)
class Magic:
    """Bytes a file of a format starts with, and ``then`` at offset ``then_at`` when given
    (WebP is a RIFF container: ``RIFF``, a size, then ``WEBP``; HEIC and AVIF are ISO boxes:
    a size, then ``ftyp`` and the brand)."""

    head: bytes
    then: bytes = b""
    then_at: int = 0

    def matches(self, data: bytes) -> bool:
        if not data.startswith(self.head):
            return False
        return not self.then or data[self.then_at : self.then_at + len(self.then)] == self.then


@dataclass(frozen=True)
class Format:
    """One image format.

    ``extensions`` (lower case, with the dot) are those of its files; for a format imgconv
    writes each one also names it as an output format (``--format jpeg``, ``out.tif``), and
    the first is what the encoder is given. ``input_extensions`` are taken for this format
    in a folder but name no output format. ``dtypes`` and ``channels`` are what it holds;
    ``writable`` formats are encoded with ``encode_params`` (flag, value, ... for
    ``cv2.imencode``; none: OpenCV's defaults). ``label`` is its name in messages.
    """

    name: str
    label: str
    extensions: tuple[str, ...]
    magic: tuple[Magic, ...]
    dtypes: tuple[str, ...]
    channels: tuple[int, ...]
    writable: bool = True
    encode_params: tuple[int, ...] = ()
    input_extensions: tuple[str, ...] = ()

    @property
    def extension(self) -> str:
        """What ``cv2.imencode`` is given, e.g. ``".png"``."""
        return self.extensions[0]


_BYTE = ("uint8",)
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")  # ISO 23008-12's HEVC brands
_WHOLE = ("uint8", "uint16")

TABLE: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("png", "PNG", (".png",), (Magic(b"\x89PNG\r\n\x1a\n"),), _WHOLE, (1, 3, 4)),
        Format("jpg", "JPEG", (".jpg", ".jpeg", ".jpe"), (Magic(b"\xff\xd8\xff"),), _BYTE, (1, 3),
               input_extensions=(".jfif",)),
        Format("tiff", "TIFF", (".tiff", ".tif"), (Magic(b"II*\x00"), Magic(b"MM\x00*"), Magic(b"II+\x00"), Magic(b"MM\x00+")),
               DTYPE_NAMES, (1, 3, 4)),
        # iPhones' photos: read and written by pillow-heif (the heif extra), not OpenCV
        Format("heic", "HEIC", (".heic", ".heif"), tuple(Magic(b"", b"ftyp" + brand, 4) for brand in _HEIC_BRANDS),
               _WHOLE, (3, 4)),  # 16-bit images as 10-bit HEIC
        # AV1 stills: read and written by OpenCV (libavif)
        Format("avif", "AVIF", (".avif",), (Magic(b"", b"ftypavif", 4), Magic(b"", b"ftypavis", 4)), _WHOLE,
               (1, 3, 4)),  # 16-bit images as 10-bit AVIF
        # JPEG XL: read and written by pillow-jxl-plugin (the jxl extra): a bare codestream or an ISO box
        Format("jxl", "JPEG XL", (".jxl",), (Magic(b"\xff\x0a"), Magic(b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
               _BYTE, (1, 3, 4)),
        Format("bmp", "BMP", (".bmp",), (Magic(b"BM"),), _BYTE, (1, 3), input_extensions=(".dib",)),
        Format("webp", "WebP", (".webp",), (Magic(b"RIFF", b"WEBP", 8),), _BYTE, (1, 3, 4)),
        Format("pgm", "PGM", (".pgm", ".pbm"), (Magic(b"P2"), Magic(b"P5")), _WHOLE, (1,)),
        Format("ppm", "PPM", (".ppm", ".pnm"), (Magic(b"P3"), Magic(b"P6")), _WHOLE, (3,),
               input_extensions=(".pxm",)),
        # Read, never written (and so never named by sniff_format or format_for):
        Format("gif", "GIF", (".gif",), (Magic(b"GIF87a"), Magic(b"GIF89a")), _BYTE, (3, 4), writable=False),
        # 1-bit PNM bitmaps. An output named .pbm is a PGM (see pgm); the header reader
        # calls a P1 file "pgm" and a P4 file "ppm", as it always has in messages.
        Format("pbm", "PBM", (), (Magic(b"P1"), Magic(b"P4")), _BYTE, (1,), writable=False),
        Format("sunras", "Sun raster", (".sr", ".ras"), (Magic(b"\x59\xa6\x6a\x95"),), _BYTE, (1, 3), writable=False),
    )
}
"""Every format imgconv reads, by name: the ones it writes first."""

FORMATS: dict[str, Format] = {name: fmt for name, fmt in TABLE.items() if fmt.writable}
"""The formats imgconv writes (``--format`` choices), by name."""

FORMAT_NAMES: tuple[str, ...] = tuple(FORMATS)

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    ext for fmt in TABLE.values() for ext in (*fmt.extensions, *fmt.input_extensions)
)
"""What a folder contributes: files with these extensions (files named directly need none)."""

_BY_NAME = {ext.lstrip("."): fmt for fmt in FORMATS.values() for ext in fmt.extensions}


def identify(data: bytes) -> Format | None:
    """The format whose magic bytes start ``data``, among all of :data:`TABLE` (None if none).

    >>> identify(b"GIF89a...").name
    'gif'
    """
    for fmt in TABLE.values():
        if any(magic.matches(data) for magic in fmt.magic):
            return fmt
    return None


def sniff_format(data: bytes) -> str | None:
    """The format of encoded image bytes, from their first bytes (None if unknown).

    Only formats imgconv writes are named: this is what an output in "the input's format" gets.

    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n....")
    'png'
    """
    fmt = identify(data)
    return fmt.name if fmt is not None and fmt.writable else None


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
    fmt = _BY_NAME.get(name.lower().lstrip("."))
    if fmt is None:
        raise UsageError(f"unknown image format {name!r}; expected one of: {', '.join(FORMAT_NAMES)}")
    return fmt
