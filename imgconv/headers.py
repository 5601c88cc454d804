"""What an image file says about itself, read from its header before anything is decoded.

A decoder believes the header: a 200-byte PNG whose header claims 100000 x 100000 pixels
makes it allocate tens of gigabytes (a *decompression bomb*). :func:`read_header` reads the
few bytes that give the size, the number of frames, the EXIF orientation and the colour
model, without decoding a pixel and without any third-party library, so that
:mod:`imgconv.imageio` can refuse such a file, or an animated or CMYK one, up front.

Formats read here: PNG (and APNG), JPEG, GIF, WebP, TIFF, BMP and PNM, recognised by their
magic bytes in :data:`imgconv.formats.TABLE`. For anything else,
or a header too damaged to read, :func:`read_header` returns None and the decoder decides
(OpenCV keeps its own limit of 2**30 pixels).

>>> h = read_header(bytes.fromhex("89504e470d0a1a0a0000000d49484452000186a0000186a00100000000"))
>>> (h.format, h.width, h.height)
('png', 100000, 100000)
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .formats import identify

__all__ = ["Header", "read_header", "png_damage", "ORIENTATIONS", "DEFAULT_MAX_PIXELS"]

DEFAULT_MAX_PIXELS = 178_956_970
"""The largest image decoded by default (width x height): Pillow's decompression-bomb limit
(twice its ``MAX_IMAGE_PIXELS``), about 13400 x 13400. ``--max-pixels`` changes it."""

ORIENTATIONS = {
    1: "as stored",
    2: "mirrored left-right",
    3: "rotated 180 degrees",
    4: "mirrored top-bottom",
    5: "mirrored along the main diagonal",
    6: "rotated 90 degrees clockwise",
    7: "mirrored along the anti-diagonal",
    8: "rotated 90 degrees counter-clockwise",
}
"""EXIF orientation values: how the stored pixels must be turned to be shown upright."""


@dataclass(frozen=True)
class Header:
    """The facts of an image file's header.

    ``width`` x ``height`` is the largest area the decoder will allocate (for a GIF, the
    logical screen or a larger frame). ``frames`` > 1: animated (or a multi-page TIFF).
    ``orientation`` is the EXIF orientation (1: as stored). ``cmyk``: the samples are
    CMYK (or YCCK). ``complete`` is False when the data visibly ends early (a JPEG
    without its end-of-image marker, a PNG chunk that runs past the end or no IEND),
    None when the header cannot tell.
    """

    format: str
    width: int
    height: int
    frames: int = 1
    orientation: int = 1
    cmyk: bool = False
    complete: bool | None = None
    samples: int | None = None  # values a pixel, where the header says (PNG, JPEG)
    bits: int | None = None  # bits a value, likewise
    quality: int | None = None  # a JPEG's estimated quality (from its luminance quantisation table)
    straight_alpha: bool = False  # a TIFF's alpha is unassociated (ExtraSamples 2), which OpenCV premultiplies
    lossless: bool = False  # a WebP compressed losslessly (VP8L)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """The bytes of the decoded pixels (four bytes a pixel where the header does not say).

        >>> Header("png", 1000, 1000, samples=3, bits=16).decoded_bytes
        6000000
        """
        return self.pixels * (self.samples or 4) * -(-(self.bits or 8) // 8)


def read_header(data: bytes) -> Header | None:
    """The :class:`Header` of encoded image bytes, or None when it cannot be read here."""
    reader = _reader_for(data)
    if reader is None:
        return None
    try:
        return reader(data)
    except Exception:  # noqa: BLE001 - a damaged header (a missing tag, a bad offset): the decoder decides
        return None


def _reader_for(data: bytes):  # noqa: ANN202
    fmt = identify(data)
    return None if fmt is None else _READERS.get(fmt.name)


# -- PNG ----------------------------------------------------------------------------------
def _png_chunks(data: bytes):  # noqa: ANN202 - yields (type, start of data, length)
    i = 8
    while i + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, i)
        yield kind, i + 8, length
        i += 12 + length


def _png(data: bytes) -> Header:
    kind = data[12:16]
    if kind != b"IHDR":
        raise ValueError("no IHDR")
    width, height = struct.unpack_from(">II", data, 16)
    bits, colour = data[24], data[25]
    samples = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(colour, 4)  # a palette may decode with alpha
    frames, orientation = 1, 1
    complete = False
    # Every chunk's header (not its CRC: cheap, a few thousand steps for a large file), so
    # that a length running past the data is caught before the decoder allocates it.
    for kind, start, length in _png_chunks(data):
        if start + length + 4 > len(data):
            break
        if kind == b"acTL":  # APNG: the number of frames
            frames = struct.unpack_from(">I", data, start)[0]
        elif kind == b"eXIf":
            orientation = _exif_orientation(data[start : start + length])
        elif kind == b"IEND":
            complete = True
            break
    return Header("png", width, height, frames=max(frames, 1), orientation=orientation, complete=complete,
                  samples=samples, bits=bits)


def png_damage(data: bytes) -> str | None:
    """Why PNG bytes do not decode, when the chunk structure tells: truncation or a bad CRC.

    >>> png_damage(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\x0dIHDR")
    'truncated PNG (the data ends inside the IHDR chunk)'
    """
    import zlib

    last = "the signature"  # the last good part
    for kind, start, length in _png_chunks(data):
        name = kind.decode("latin-1")
        if not kind.isalpha():
            return f"corrupt PNG (what follows {last} is not a chunk)"
        if start + length + 4 > len(data):
            return f"truncated PNG (the data ends inside the {name} chunk)"
        (crc,) = struct.unpack_from(">I", data, start + length)
        if zlib.crc32(data[start - 4 : start + length]) != crc:
            return f"corrupt PNG (the CRC of the {name} chunk does not match)"
        if kind == b"IEND":
            return None
        last = f"the {name} chunk"
    return f"truncated PNG (the data ends after {last}, before IEND)"


# -- JPEG ---------------------------------------------------------------------------------
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> Header:
    i = 2
    width = height = components = precision = luminance = None
    orientation = 1
    while True:
        if data[i] != 0xFF:
            raise ValueError("not a marker")
        while data[i] == 0xFF:  # fill bytes
            i += 1
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI before any scan
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length
            continue
        (length,) = struct.unpack_from(">H", data, i)
        if length < 2:
            raise ValueError("bad segment length")
        segment = data[i + 2 : i + length]
        if marker == 0xDA:  # start of scan: the header is over
            scan = i
            break
        if marker == 0xDB and luminance is None:  # DQT: the first table (0) is the luminance one
            luminance = _first_table(segment)
        if marker in _SOF:
            precision = segment[0]
            height, width = struct.unpack_from(">HH", segment, 1)
            components = segment[5]
        elif marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            orientation = _exif_orientation(segment[6:])
        i += length
    if width is None:
        raise ValueError("no frame header")
    # Entropy-coded data cannot contain FF D9 (an FF there is followed by 00 or a restart
    # marker), so a complete file has its end-of-image marker after the first scan's header.
    complete = marker == 0xDA and data.rfind(b"\xff\xd9") > scan
    return Header("jpg", width, height, orientation=orientation, cmyk=components == 4, complete=complete,
                  samples=components, bits=precision, quality=None if luminance is None else jpeg_quality(luminance))


# libjpeg's luminance table (ITU T.81, K.1) in zigzag order, as DQT segments store tables
_LUMINANCE = (16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40, 26, 24, 22, 22, 24, 49, 35, 37, 29,
              40, 58, 51, 61, 60, 57, 51, 56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87, 95, 98,
              103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99)


def _first_table(segment: bytes) -> tuple[int, ...] | None:
    """Table 0 of a DQT segment (8- or 16-bit values), or None if the segment starts with another."""
    precision, table = segment[0] >> 4, segment[0] & 15
    if table != 0:
        return None
    if precision:
        return struct.unpack_from(">64H", segment, 1)
    return tuple(segment[1:65])


def jpeg_quality(table: tuple[int, ...]) -> int:
    """The libjpeg quality (1-100) whose scaled standard table is closest to ``table``: how
    ImageMagick estimates a JPEG's quality, exact for files written by libjpeg-based encoders.

    >>> jpeg_quality(_LUMINANCE), jpeg_quality((1,) * 64)
    (50, 100)
    """

    def scaled(quality: int) -> list[int]:
        scale = 5000 // quality if quality < 50 else 200 - 2 * quality
        return [min(255, max(1, (q * scale + 50) // 100)) for q in _LUMINANCE]

    return min(range(1, 101), key=lambda q: (sum(abs(a - b) for a, b in zip(scaled(q), table)), -q))


# -- GIF ----------------------------------------------------------------------------------
def _skip_sub_blocks(data: bytes, i: int) -> int:
    while data[i]:
        i += data[i] + 1
    return i + 1


def _gif(data: bytes) -> Header:
    width, height, packed = struct.unpack_from("<HHB", data, 6)
    i = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    frames = 0
    try:
        while data[i] != 0x3B:  # the trailer
            if data[i] == 0x21:  # an extension
                i = _skip_sub_blocks(data, i + 2)
            elif data[i] == 0x2C:  # an image
                left, top, w, h, packed = struct.unpack_from("<HHHHB", data, i + 1)
                width, height = max(width, left + w), max(height, top + h)
                frames += 1
                i += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
                i = _skip_sub_blocks(data, i + 1)  # after the LZW code size
            else:
                break
    except IndexError:  # a truncated file: what was counted
        pass
    return Header("gif", width, height, frames=max(frames, 1))


# -- WebP ---------------------------------------------------------------------------------
def _webp(data: bytes) -> Header:
    kind = data[12:16]
    if kind == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("no VP8 start code")
        w, h = struct.unpack_from("<HH", data, 26)
        return Header("webp", w & 0x3FFF, h & 0x3FFF)
    if kind == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        return Header("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, lossless=True)
    if kind != b"VP8X":
        raise ValueError("unknown WebP chunk")
    w = int.from_bytes(data[24:27], "little") + 1
    h = int.from_bytes(data[27:30], "little") + 1
    frames, orientation, lossless = 1, 1, False
    i = 12
    count = 0
    while i + 8 <= len(data):
        kind, size = data[i : i + 4], struct.unpack_from("<I", data, i + 4)[0]
        if kind == b"ANMF":
            count += 1
        elif kind == b"VP8L":
            lossless = True
        elif kind == b"EXIF":
            orientation = _exif_orientation(data[i + 8 : i + 8 + size])
        i += 8 + size + (size & 1)
    if data[20] & 0x02:  # the animation flag
        frames = max(count, 2)
    return Header("webp", w, h, frames=frames, orientation=orientation, lossless=lossless)


# -- TIFF (also the body of an EXIF block) ------------------------------------------------
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def _ifd(data: bytes, offset: int, endian: str, big: bool = False) -> tuple[dict[int, int], int]:
    """The first value of each numeric tag of the IFD at ``offset``, and the next IFD's
    offset (``big``: a BigTIFF's, with 8-byte counts and offsets)."""
    count_fmt, entry, number_fmt, value_at, offset_fmt = ("Q", 20, "Q", 12, "Q") if big else ("H", 12, "I", 8, "I")
    (count,) = struct.unpack_from(endian + count_fmt, data, offset)
    start = offset + struct.calcsize(count_fmt)
    inline = 8 if big else 4  # bytes of values held in the entry itself
    tags: dict[int, int] = {}
    for n in range(min(count, 512)):  # real IFDs hold a few dozen entries; a bound for crafted ones
        at = start + entry * n
        tag, kind, number = struct.unpack_from(endian + "HH" + number_fmt, data, at)
        size = _TYPE_SIZES.get(kind, 0)
        value = at + value_at
        if number < 1:
            continue
        if size * number > inline:  # the values elsewhere: the first one
            (value,) = struct.unpack_from(endian + offset_fmt, data, value)
        if kind in (3, 8):
            tags[tag] = struct.unpack_from(endian + "H", data, value)[0]
        elif kind in (4, 9, 13):
            tags[tag] = struct.unpack_from(endian + "I", data, value)[0]
        elif kind in (16, 17, 18):  # BigTIFF's 8-byte integers
            tags[tag] = struct.unpack_from(endian + "Q", data, value)[0]
        elif kind in (1, 6, 7):
            tags[tag] = data[value]
    (following,) = struct.unpack_from(endian + offset_fmt, data, start + entry * count)
    return tags, following


def _endian(data: bytes) -> str:
    if data[:4] in (b"II*\x00", b"II+\x00"):
        return "<"
    if data[:4] in (b"MM\x00*", b"MM\x00+"):
        return ">"
    raise ValueError("not TIFF")


def _exif_orientation(block: bytes) -> int:
    """The orientation tag (274) of an EXIF block's first IFD; 1 when absent or unreadable."""
    try:
        endian = _endian(block)
        tags, _ = _ifd(block, struct.unpack_from(endian + "I", block, 4)[0], endian)
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not lose the size check
        return 1
    value = tags.get(274, 1)
    return value if value in ORIENTATIONS else 1


def _tiff_file(data: bytes) -> Header:
    endian = _endian(data)
    big = data[2:4] in (b"+\x00", b"\x00+")
    (offset,) = struct.unpack_from(endian + "Q", data, 8) if big else struct.unpack_from(endian + "I", data, 4)
    tags, following = _ifd(data, offset, endian, big)
    width, height = tags[256], tags[257]
    # Pages: each further IFD that is not a reduced-resolution copy (a thumbnail).
    pages, seen = 1, {offset}
    while following and following not in seen and len(seen) < 1000:  # a bound for crafted files
        seen.add(following)
        try:
            page, following = _ifd(data, following, endian, big)
        except (IndexError, struct.error):
            break
        if not page.get(254, 0) & 1:
            pages += 1
    orientation = tags.get(274, 1)
    return Header(
        "tiff",
        width,
        height,
        frames=pages,
        orientation=orientation if orientation in ORIENTATIONS else 1,
        cmyk=tags.get(262) == 5,  # PhotometricInterpretation: separated (CMYK)
        samples=tags.get(277, 1),
        bits=tags.get(258, 1),
        straight_alpha=2 in (extra if isinstance(extra := tags.get(338, ()), (tuple, list)) else (extra,)),
    )


# -- BMP and PNM --------------------------------------------------------------------------
def _bmp(data: bytes) -> Header:
    (size,) = struct.unpack_from("<I", data, 14)
    if size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    return Header("bmp", abs(width), abs(height))


_PNM_SIZE = re.compile(rb"P[1-6](?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)")


def _pnm(data: bytes) -> Header:
    match = _PNM_SIZE.match(data[:4096])
    if match is None:
        raise ValueError("no PNM size")
    return Header("pgm" if data[1:2] in b"125" else "ppm", int(match[1]), int(match[2]))


_READERS = {
    "png": _png,
    "jpg": _jpeg,
    "gif": _gif,
    "webp": _webp,
    "tiff": _tiff_file,
    "bmp": _bmp,
    "pgm": _pnm,
    "ppm": _pnm,
    "pbm": _pnm,
}
"""The header reader of each format of :data:`imgconv.formats.TABLE` read here, by name."""
