"""A corpus of hostile, broken and unusual image files, generated (nothing binary is committed).

Each :class:`Case` is a file imgconv must either filter correctly (``refused is None``)
or refuse in one line with a reason (``refused`` holds a fragment of that reason). The
hardening tests (``tests/test_hardening_images.py``) run every case through the CLI; to
look at the files yourself::

    python tests/corpus.py /tmp/corpus      # writes every case into /tmp/corpus

Seeds are crops of the bundled CC0 sample ``samples/chelsea.png``, encoded with OpenCV and
Pillow, then damaged or dressed up by hand so that each file is exactly what its name says.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@dataclass(frozen=True)
class Case:
    """One file of the corpus.

    ``refused``: a fragment of the one-line reason (the file must fail, exit 1), or None
    for a file that must be filtered. ``dtype`` / ``channels`` / ``shape``: what the output
    of a filtered file must hold (``shape`` is height x width, after EXIF orientation).
    """

    name: str
    make: Callable[[], bytes]
    refused: str | None = None
    dtype: str = "uint8"
    channels: int = 3
    shape: tuple[int, int] | None = None
    output_suffix: str = ""  # appended to the derived output name (a GIF's output is a PNG)
    notes: dict = field(default_factory=dict)


def seed_bgr(height: int = 24, width: int = 32) -> np.ndarray:
    """A height x width crop of chelsea.png (BGR, uint8): real texture, small and fast."""
    image = cv2.imdecode(np.frombuffer((SAMPLES / "chelsea.png").read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(image[100 : 100 + height, 150 : 150 + width])


def encode(image: np.ndarray, ext: str, params: list[int] | None = None) -> bytes:
    ok, buffer = cv2.imencode(ext, image, params or [])
    assert ok, ext
    return buffer.tobytes()


def pillow(image: Image.Image, fmt: str, **options) -> bytes:  # noqa: ANN003
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def seed_pil(height: int = 24, width: int = 32) -> Image.Image:
    return Image.fromarray(cv2.cvtColor(seed_bgr(height, width), cv2.COLOR_BGR2RGB))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A PNG signature and IHDR claiming ``width`` x ``height``, a tiny IDAT, and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def png_bomb_1bit(side: int = 100_000) -> bytes:
    """A *valid* 1-bit grey PNG of side x side pixels (10**10 for 100000), about 1.3 MB.

    All-zero rows compress to almost nothing; to build it fast, one full-flushed deflate
    segment of 1000 rows (independent of what precedes it) is repeated side / 1000 times.
    """
    rows = 1000
    assert side % rows == 0
    block = (b"\0" + b"\0" * ((side + 7) // 8)) * rows
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(side // rows):
        adler = zlib.adler32(block, adler)
    body = b"\x78\xda" + segment * (side // rows) + zlib.compressobj(9, zlib.DEFLATED, -15).flush() + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def gif_huge_screen(width: int = 65535, height: int = 65535) -> bytes:
    """A one-pixel GIF whose logical screen claims width x height."""
    frame = Image.new("P", (1, 1))
    data = bytearray(pillow(frame, "GIF"))
    struct.pack_into("<HH", data, 6, width, height)
    return bytes(data)


def jpeg_bomb_header(width: int = 65500, height: int = 65500) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to claim width x height."""
    data = bytearray(encode(seed_bgr(), ".jpg"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_bomb() -> bytes:
    """A lossless WebP whose VP8L header is patched to claim 16384 x 16384 pixels."""
    data = bytearray(pillow(seed_pil(), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    (bits,) = struct.unpack_from("<I", data, 21)
    struct.pack_into("<I", data, 21, (bits & ~0x0FFFFFFF) | 16383 | (16383 << 14))
    return bytes(data)


def tiff_bomb(side: int = 100_000) -> bytes:
    """An OpenCV TIFF whose ImageWidth and ImageLength tags are patched to ``side``."""
    data = bytearray(encode(seed_bgr(), ".tiff"))
    assert data[:4] == b"II*\x00"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for n in range(count):
        at = ifd + 2 + 12 * n
        tag = struct.unpack_from("<H", data, at)[0]
        if tag in (256, 257):
            struct.pack_into("<HHII", data, at, tag, 4, 1, side)  # LONG, one value
    return bytes(data)


def bmp_bomb(side: int = 50_000) -> bytes:
    data = bytearray(encode(seed_bgr(), ".bmp"))
    struct.pack_into("<ii", data, 18, side, side)
    return bytes(data)


def png_bad_crc() -> bytes:
    data = bytearray(encode(seed_bgr(), ".png"))
    idat = data.index(b"IDAT")
    length = struct.unpack_from(">I", data, idat - 4)[0]
    data[idat + 4 + length] ^= 0xFF  # the first byte of IDAT's CRC
    return bytes(data)


def with_exif_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return pillow(seed_pil(), "JPEG", exif=exif.tobytes(), quality=95)


def animated_gif() -> bytes:
    frames = [seed_pil().convert("P"), seed_pil().rotate(10).convert("P"), seed_pil().rotate(20).convert("P")]
    return pillow(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def animated_png() -> bytes:
    frames = [seed_pil(), seed_pil().rotate(15)]
    return pillow(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def palette_with_transparency() -> bytes:
    picture = seed_pil().convert("P")
    return pillow(picture, "PNG", transparency=0)


def float_tiff_with_nan() -> bytes:
    image = seed_bgr()[:, :, 1].astype(np.float32) / 255.0
    image[5, 7] = np.nan
    image[0, 0] = 7.5  # out of the 0..1 range: kept as it is
    image[10, 20] = -2.0
    return encode(image, ".tiff")


def html_page() -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n"


def cases() -> list[Case]:
    """Every case of the corpus."""
    png = encode(seed_bgr(), ".png")
    jpg = encode(seed_bgr(), ".jpg")
    grey = seed_bgr()[:, :, 1]
    return [
        # -- broken images
        Case("empty.png", lambda: b"", refused="empty file"),
        Case("truncated.jpg", lambda: jpg[: len(jpg) // 2], refused="truncated JPEG"),
        Case("truncated.png", lambda: png[: len(png) // 2], refused="truncated PNG"),
        Case("bad-crc.png", png_bad_crc, refused="CRC of the IDAT chunk"),
        Case("notes.png", lambda: b"shopping list: milk, eggs\n", refused="a text file"),
        Case("error-page.png", html_page, refused="an HTML page"),
        Case("random-bytes.png", lambda: bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)), refused="not an image"),
        Case("png-named.jpg", lambda: png, shape=(24, 32)),  # decoded by content
        # -- decompression bombs
        Case("bomb-header.png", lambda: png_header_only(100_000, 100_000), refused="100000x100000 pixels"),
        Case("bomb-1bit.png", png_bomb_1bit, refused="100000x100000 pixels"),
        Case("bomb-screen.gif", gif_huge_screen, refused="65535x65535 pixels"),
        Case("bomb-sof.jpg", jpeg_bomb_header, refused="65500x65500 pixels"),
        Case("bomb-vp8l.webp", webp_bomb, refused="16384x16384 pixels"),
        Case("bomb-tags.tiff", tiff_bomb, refused="100000x100000 pixels"),
        Case("bomb-dib.bmp", bmp_bomb, refused="50000x50000 pixels"),
        # -- unusual but valid
        Case("grey16.png", lambda: encode((grey.astype(np.uint16) * 257), ".png"), dtype="uint16", channels=1),
        Case("rgb16.png", lambda: encode(seed_bgr().astype(np.uint16) * 257, ".png"), dtype="uint16", channels=3),
        Case("rgba.png", lambda: encode(np.dstack([seed_bgr(), np.full((24, 32), 200, np.uint8)]), ".png"), channels=4),
        Case("grey-alpha.png", lambda: pillow(seed_pil().convert("LA"), "PNG"), channels=4),  # written as RGBA
        Case("palette-transparent.png", palette_with_transparency, channels=4),
        Case("one-bit.png", lambda: pillow(seed_pil().convert("1"), "PNG"), channels=1),
        Case("cmyk.jpg", lambda: pillow(seed_pil().convert("CMYK"), "JPEG"), refused="a CMYK JPEG"),
        Case("cmyk.tiff", lambda: pillow(seed_pil().convert("CMYK"), "TIFF"), refused="a CMYK TIFF"),
        Case("exif-rotated.jpg", lambda: with_exif_orientation(6), shape=(32, 24)),
        Case("exif-mirrored.jpg", lambda: with_exif_orientation(2), shape=(24, 32)),
        Case("animated.gif", animated_gif, refused="animated GIF (3 frames)"),
        Case("animated.png", animated_png, refused="animated PNG (2 frames)"),
        Case("animated.webp", lambda: pillow(seed_pil(), "WEBP", save_all=True, append_images=[seed_pil().rotate(9)], duration=90), refused="animated WebP (2 frames)"),
        Case("two-pages.tiff", lambda: pillow(seed_pil(), "TIFF", save_all=True, append_images=[seed_pil().rotate(9)]), refused="a multi-page TIFF (2 pages)"),
        Case("lossless.webp", lambda: pillow(seed_pil(), "WEBP", lossless=True)),
        Case("plain.bmp", lambda: encode(seed_bgr(), ".bmp")),
        Case("grey.pgm", lambda: encode(grey, ".pgm"), channels=1),
        Case("still.gif", lambda: pillow(seed_pil().convert("P"), "GIF"), output_suffix=".png"),
        Case("float-nan.tiff", float_tiff_with_nan, dtype="float32", channels=1),
        Case("one-pixel.png", lambda: encode(seed_bgr(1, 1), ".png"), shape=(1, 1)),
        Case("one-row.png", lambda: encode(seed_bgr(1, 9), ".png"), shape=(1, 9)),
        Case("one-column.png", lambda: encode(seed_bgr(7, 1), ".png"), shape=(7, 1)),
        Case("two-by-two-grey.png", lambda: encode(grey[:2, :2], ".png"), channels=1, shape=(2, 2)),
    ]


def write(folder: Path) -> list[Case]:
    """Write every case into ``folder``; returns the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    made = cases()
    for case in made:
        (folder / case.name).write_bytes(case.make())
    return made


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for case in write(target):
        print(f"{case.name:28} {'refused: ' + case.refused if case.refused else 'filtered'}")
