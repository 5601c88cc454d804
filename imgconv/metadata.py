"""A photo's metadata carried from its file to the filtered one: ICC profile, EXIF, XMP, resolution.

Read (no pixels are decoded) from PNG chunks and JPEG segments here, from TIFF tags by
tifffile, from HEIC by pillow-heif, from WebP, AVIF and JPEG XL by Pillow. Written into a
JPEG, PNG or TIFF output's container here, without touching its pixels: JPEG segments (APP1
EXIF and XMP, APP2 ICC, the JFIF density), PNG chunks (iCCP, eXIf, iTXt XMP, pHYs), TIFF
tags (the profile, XMP, resolution and the EXIF's photo tags: make, model, date ...; not the
EXIF and GPS IFDs, which tifffile does not write). WebP, AVIF, HEIC and JPEG XL outputs
get theirs from their encoders (:mod:`imgconv.encoding`); BMP and PNM hold none. EXIF comes
out with its orientation set to 1 (imgconv turns the pixels upright when it reads them) and
without its thumbnail (IFD1: a picture of the unfiltered image). An RGB profile is not given
to a grey output, which could not use it.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from ._quiet import tifffile_quiet

__all__ = ["Metadata", "read_metadata", "read_tiff_metadata", "tiff_tags", "attach_metadata", "profile_for"]


@dataclass(frozen=True)
class Metadata:
    """What :func:`attach_metadata` writes: each None when the input had none."""

    icc: bytes | None = None
    exif: bytes | None = None  # the TIFF structure, without the "Exif\0\0" of JPEG's APP1
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.icc, self.exif, self.xmp, self.dpi))


def read_metadata(data: bytes) -> Metadata:
    """The metadata of an encoded PNG or JPEG (an empty :class:`Metadata` for other formats,
    or where its header is damaged: metadata is carried when it can be, never an error)."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return _from_png(data)
        if data[:2] == b"\xff\xd8":
            return _from_jpeg(data)
        if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return _from_tiff(data)
        if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"):
            return _from_heif(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP" or data[4:12] in (b"ftypavif", b"ftypavis"):
            return _by_pillow(data, None)
        if data[:2] == b"\xff\x0a" or data[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
            return _by_pillow(data, "pillow_jxl")
    except (struct.error, IndexError, ValueError, zlib.error):
        pass
    return Metadata()


@tifffile_quiet()
def _from_tiff(data: "bytes | str") -> Metadata:
    """A TIFF's profile (tag 34675), XMP (700) and resolution (282, 283, 296), read by
    tifffile (the big extra; none without it) from its bytes or its path (only the tags are
    read), and its EXIF (:func:`_tiff_exif`)."""
    try:
        import tifffile
    except ImportError:
        return Metadata()
    try:
        with tifffile.TiffFile(io.BytesIO(data) if isinstance(data, bytes) else data) as tif:
            tags = {tag.code: tag.value for tag in tif.pages[0].tags}
    except Exception:  # noqa: BLE001 - the decoder says what is wrong with the file, not this
        return Metadata()
    dpi = None
    if 282 in tags and 283 in tags and int(tags.get(296, 2)) in (2, 3):
        per = 1.0 if int(tags.get(296, 2)) == 2 else 2.54
        x, y = (n / d if d else 0.0 for n, d in (tags[282], tags[283]))
        dpi = (x * per, y * per) if x > 0 and y > 0 else None
    return Metadata(icc=bytes(tags[34675]) if 34675 in tags else None, exif=_tiff_exif(data),
                    xmp=bytes(tags[700]) if 700 in tags else None, dpi=dpi)


_PHOTO_TAGS = (270, 271, 272, 305, 306, 315, 316, 33432)
"""The IFD0 tags of a TIFF that are the photo's, not the file's: description, make, model,
software, date, artist, host computer, copyright (EXIF keeps them in its IFD0 too)."""


def _tiff_exif(data: "bytes | str") -> bytes | None:
    """A TIFF's EXIF as a JPEG or PNG carries it: its photo tags from IFD0, and its EXIF and
    GPS IFDs, gathered by Pillow (which reads only the header); None if it has none."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
            found = image.getexif()
            exif = Image.Exif()
            for tag in _PHOTO_TAGS:
                if tag in found:
                    exif[tag] = found[tag]
            for pointer in (0x8769, 0x8825):  # the EXIF IFD, the GPS IFD
                ifd = found.get_ifd(pointer)
                if ifd:
                    exif.get_ifd(pointer).update(ifd)
            block = exif.tobytes() if len(exif) or exif.get_ifd(0x8769) or exif.get_ifd(0x8825) else b""
    except Exception:  # noqa: BLE001 - the decoder says what is wrong with the file, not this
        return None
    block = block[6:] if block.startswith(b"Exif\x00\x00") else block
    return block or None


def _by_pillow(data: bytes, plugin: str | None) -> Metadata:
    """A WebP's, an AVIF's or (with ``plugin``, the jxl extra) a JPEG XL's profile, EXIF and
    XMP, as Pillow reads them without decoding the pixels (none without the plugin)."""
    from PIL import Image

    try:
        if plugin:
            __import__(plugin)
        info = Image.open(io.BytesIO(data)).info
    except Exception:  # noqa: BLE001 - the decoder says what is wrong with the file, not this
        return Metadata()
    exif, xmp = info.get("exif") or b"", info.get("xmp") or None
    return Metadata(icc=info.get("icc_profile") or None,
                    exif=_upright_exif(exif),
                    xmp=xmp.encode() if isinstance(xmp, str) else xmp)


def _from_heif(data: bytes) -> Metadata:
    """A HEIC's profile, EXIF and XMP, as libheif reads them (the heif extra; none without it)."""
    try:
        import pillow_heif
    except ImportError:
        return Metadata()
    try:
        info = pillow_heif.open_heif(data).info
    except Exception:  # noqa: BLE001 - the decoder says what is wrong with the file, not this
        return Metadata()
    exif = info.get("exif") or b""
    return Metadata(icc=info.get("icc_profile") or None,
                    exif=_upright_exif(exif),
                    xmp=info.get("xmp") or None)


def _from_png(data: bytes) -> Metadata:
    found: dict = {}
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8 : at + 8 + length]
        if kind == b"iCCP":  # name, NUL, compression method, zlib data
            found["icc"] = zlib.decompress(body[body.index(b"\x00") + 2 :])
        elif kind == b"eXIf":
            found["exif"] = _upright_exif(body)
        elif kind == b"pHYs" and body[8] == 1:  # pixels per metre
            x, y = struct.unpack_from(">II", body)
            found["dpi"] = (x * 0.0254, y * 0.0254)
        elif kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp\x00"):
            keyword_end = body.index(b"\x00")
            compressed = body[keyword_end + 1]
            text = body[keyword_end + 3 :]
            text = text[text.index(b"\x00") + 1 :]  # language tag
            text = text[text.index(b"\x00") + 1 :]  # translated keyword
            found["xmp"] = zlib.decompress(text) if compressed else text
        elif kind in (b"IDAT", b"IEND"):
            break
        at += 12 + length
    return Metadata(**found)


def _from_jpeg(data: bytes) -> Metadata:
    found: dict = {}
    icc: dict[int, bytes] = {}
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker, length = data[at + 1], struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4 : at + 2 + length]
        if marker == 0xDA:  # the scan: the header is over
            break
        if marker == 0xE0 and body.startswith(b"JFIF\x00") and body[7] in (1, 2):  # dots per inch, per cm
            x, y = struct.unpack_from(">HH", body, 8)
            found["dpi"] = (float(x), float(y)) if body[7] == 1 else (x * 2.54, y * 2.54)
        elif marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            found["exif"] = _upright_exif(body[6:])
        elif marker == 0xE1 and body.startswith(_XMP):
            found["xmp"] = body[len(_XMP) :]
        elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
            icc[body[12]] = body[14:]
        at += 2 + length
    if icc:
        found["icc"] = b"".join(icc[n] for n in sorted(icc))
    return Metadata(**found)


_XMP = b"http://ns.adobe.com/xap/1.0/\x00"


def _upright_exif(tiff: bytes) -> bytes | None:
    """EXIF as it should follow pixels turned upright: orientation 1, and no thumbnail (IFD0
    no longer points to IFD1). Edited in place; None for a block that is not TIFF data (or
    empty). JPEG's ``Exif\\0\\0`` in front, as Pillow and libheif hand it, is dropped."""
    tiff = tiff[6:] if tiff.startswith(b"Exif\x00\x00") else tiff
    endian = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if endian is None or len(tiff) < 8:
        return None
    block = bytearray(tiff)
    (ifd,) = struct.unpack_from(endian + "I", block, 4)
    (count,) = struct.unpack_from(endian + "H", block, ifd)
    for n in range(count):
        entry = ifd + 2 + 12 * n
        tag, kind, number = struct.unpack_from(endian + "HHI", block, entry)
        if tag == 0x0112 and kind == 3 and number == 1:
            struct.pack_into(endian + "H", block, entry + 8, 1)
    struct.pack_into(endian + "I", block, ifd + 2 + 12 * count, 0)
    return bytes(block)


def profile_for(metadata: Metadata, channels: int) -> bytes | None:
    """The ICC profile to give an output of ``channels`` channels: an RGB profile is not
    given to a grey image, which could not use it."""
    icc = metadata.icc
    if icc is not None and channels < 3 and icc[16:20] == b"RGB ":
        return None
    return icc


def attach_metadata(encoded: bytes, fmt: str, metadata: Metadata, channels: int) -> bytes:
    """``encoded`` (a JPEG, PNG or TIFF, as OpenCV or tifffile wrote it) with ``metadata`` in
    its container; other formats unchanged (:mod:`imgconv.encoding` gives WebP, AVIF, HEIC
    and JPEG XL theirs as it encodes). ``channels``: the output's."""
    icc = profile_for(metadata, channels)
    if fmt == "jpg":
        return _jpeg(encoded, icc, metadata)
    if fmt == "png":
        return _png(encoded, icc, metadata)
    if fmt == "tiff":
        return _tiff(encoded, icc, metadata)
    return encoded


@tifffile_quiet()
def _tiff(data: bytes, icc: bytes | None, metadata: Metadata) -> bytes:
    """The TIFF rewritten by tifffile (the big extra; unchanged without it) with the profile,
    XMP and resolution tags; its pixels, compression and predictor as they were."""
    if not (icc or metadata.xmp or metadata.dpi or _photo_tags(metadata.exif)):
        return data
    try:
        import tifffile
    except ImportError:
        return data
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        pixels, how = page.asarray(), {
            "compression": page.compression, "predictor": page.predictor, "photometric": page.photometric,
            "planarconfig": page.planarconfig, "extrasamples": page.extrasamples or None,
            "rowsperstrip": page.rowsperstrip,
        }
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, metadata=None, **how, **tiff_tags(metadata, icc))
    return buffer.getvalue()


def tiff_tags(metadata: Metadata, icc: bytes | None) -> dict:
    """``tifffile.imwrite``'s arguments for the profile, XMP and resolution tags, and the
    EXIF's photo tags that a TIFF keeps in its own first IFD (make, model, date, artist,
    copyright ...; tifffile writes no EXIF or GPS IFD, so those stay behind)."""
    how: dict = {"extratags": [(700, 1, len(metadata.xmp), metadata.xmp, True)] if metadata.xmp else []}  # XMP, BYTE
    if icc:
        how["iccprofile"] = icc  # tag 34675
    if metadata.dpi:
        how.update(resolution=metadata.dpi, resolutionunit="INCH")
    own = {270: "description", 305: "software", 306: "datetime"}  # tags tifffile writes itself
    for tag, value in _photo_tags(metadata.exif).items():
        if tag in own:
            how[own[tag]] = value
        else:
            how["extratags"].append((tag, "s", 0, value, True))
    return how


def _photo_tags(exif: bytes | None) -> dict[int, str]:
    """The text photo tags (:data:`_PHOTO_TAGS`) of an EXIF block, read by Pillow."""
    if not exif:
        return {}
    from PIL import Image

    try:
        found = Image.Exif()
        found.load(b"Exif\x00\x00" + exif)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: nothing to carry
        return {}
    return {tag: found[tag].strip("\x00") for tag in _PHOTO_TAGS
            if isinstance(found.get(tag), str) and found[tag].strip("\x00") and found[tag].isascii()}


def read_tiff_metadata(path: str) -> Metadata:
    """The metadata of the TIFF at ``path``, its tags read without its pixels."""
    return _from_tiff(path)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _jpeg(data: bytes, icc: bytes | None, metadata: Metadata) -> bytes:
    assert data[:2] == b"\xff\xd8"
    head, rest = data[:2], data[2:]
    if rest[:2] == b"\xff\xe0" and rest[4:9] == b"JFIF\x00":  # OpenCV's JFIF header: keep it first
        length = struct.unpack(">H", rest[2:4])[0]
        jfif, rest = bytearray(rest[: 2 + length]), rest[2 + length :]
        if metadata.dpi is not None:  # units 1 (dots per inch), then the densities
            jfif[11:16] = struct.pack(">BHH", 1, *(min(65535, round(v)) for v in metadata.dpi))
        head += bytes(jfif)
    segments = []
    if metadata.exif:
        segments.append(_segment(0xE1, b"Exif\x00\x00" + metadata.exif))
    if metadata.xmp:
        segments.append(_segment(0xE1, _XMP + metadata.xmp))
    if icc:
        size = 65519  # what one APP2 holds after its 14-byte header
        parts = [icc[i : i + size] for i in range(0, len(icc), size)]
        for n, part in enumerate(parts, 1):
            segments.append(_segment(0xE2, b"ICC_PROFILE\x00" + bytes([n, len(parts)]) + part))
    return head + b"".join(segments) + rest


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(data: bytes, icc: bytes | None, metadata: Metadata) -> bytes:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4  # after IHDR
    chunks = []
    if icc:
        chunks.append(_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
    if metadata.dpi is not None:
        per_metre = [round(v / 0.0254) for v in metadata.dpi]
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    if metadata.exif:
        chunks.append(_chunk(b"eXIf", metadata.exif))
    if metadata.xmp:
        chunks.append(_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + metadata.xmp))
    return data[:end] + b"".join(chunks) + data[end:]
