"""Photos in every common format keep their colour profile, EXIF and XMP through imgconv
(issue 17): what each output format carries, checked by Pillow (with pillow-heif and
pillow-jxl-plugin), an independent reader and writer of every container here.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import imgconv
from imgconv.metadata import Metadata

pillow_heif = pytest.importorskip("pillow_heif")
pytest.importorskip("pillow_jxl")
pillow_heif.register_heif_opener()

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "chelsea.png"  # 451 x 300
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "heic": "HEIF", "jxl": "JXL",
                  "tif": "TIFF"}
OUTPUTS = ["jpg", "png", "webp", "avif", "heic", "jxl", "tif"]


def _display_p3() -> bytes:
    """A Display P3 profile: lcms's sRGB with P3's colorants (D50-adapted, as Apple's
    profile has them) and its description, its profile ID left for readers to ignore."""
    data = bytearray(SRGB)
    count = struct.unpack_from(">I", data, 128)[0]
    tags = {bytes(data[132 + 12 * i : 136 + 12 * i]): struct.unpack_from(">II", data, 136 + 12 * i) for i in range(count)}
    for tag, xyz in ((b"rXYZ", (0.5151, 0.2412, -0.0011)), (b"gXYZ", (0.2920, 0.6922, 0.0419)),
                     (b"bXYZ", (0.1571, 0.0666, 0.7841))):
        offset, _ = tags[tag]
        struct.pack_into(">iii", data, offset + 8, *(round(v * 65536) for v in xyz))
    offset, size = tags[b"desc"]
    text = data[offset : offset + size]
    at = text.index("sRGB built-in".encode("utf-16-be"))
    data[offset + at : offset + at + 26] = "Display P3   ".encode("utf-16-be")
    data[84:100] = bytes(16)
    return bytes(data)


P3 = _display_p3()


def _photo(path: Path, profile: bytes = SRGB, orientation: int = 6) -> None:
    exif = Image.Exif()
    exif[0x0110] = "Camera X"  # Model
    exif[0x0112] = orientation
    extra = {"dpi": (300, 300)} if path.suffix in (".jpg", ".png", ".tif") else {}
    Image.open(SAMPLE).convert("RGB").save(path, format=PILLOW_FORMATS[path.suffix[1:]], icc_profile=profile,
                                           exif=exif.tobytes(), xmp=XMP, **extra)


def cli(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code, "apply"] if code else [sys.executable, "-m", "imgconv", "apply"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)


def _output(folder: Path, stem: str) -> Path:
    """The one file a batch with --format wrote for the input ``stem``: named ``stem`` plus
    the format's extension (``.tiff`` for --format tif)."""
    (found,) = folder.glob(f"{stem}.*")
    return found


def _xmp(image: Image.Image) -> bytes | None:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    return xmp.encode() if isinstance(xmp, str) else xmp


def test_the_display_p3_profile_is_one_lcms_reads_as_p3() -> None:
    profile = ImageCms.ImageCmsProfile(__import__("io").BytesIO(P3))
    assert ImageCms.getProfileDescription(profile).strip() == "Display P3"
    assert abs(profile.profile.red_colorant[0][0] - 0.5151) < 1e-3


@pytest.mark.parametrize("out", OUTPUTS)
def test_what_each_output_format_carries_from_each_input(tmp_path: Path, out: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    inputs = ["jpg", "png", "webp", "avif", "heic", "jxl"]
    for ext in inputs:
        _photo(folder / f"in-{ext}.{ext}")
    proc = cli("sharpen", str(folder), "-o", str(tmp_path / "out"), "--format", out)
    assert proc.returncode == 0, proc.stderr
    for ext in inputs:
        written = Image.open(_output(tmp_path / "out", f"in-{ext}"))
        source = Image.open(folder / f"in-{ext}.{ext}")
        # upright: the EXIF orientation (JPEG, PNG, WebP), irot (AVIF) and HEIC's transforms
        # applied; a JPEG XL's own orientation is its codestream's, which Pillow left at 1
        assert written.size == ((451, 300) if ext == "jxl" else (300, 451)), ext
        has_profile = source.info.get("icc_profile") == SRGB  # pillow-jxl-plugin writes no ICC
        assert (written.info.get("icc_profile") == SRGB) == (has_profile and out != "jxl"), ext
        exif = written.getexif()
        if out == "tif":  # a TIFF output carries no EXIF yet
            assert 0x0112 not in exif
        else:
            assert exif[0x0110] == "Camera X" and exif[0x0112] == 1, ext
        has_xmp = _xmp(source) is not None  # Pillow writes no XMP into PNG, nor its plugin into JPEG XL
        assert (_xmp(written) == XMP) == (has_xmp and out != "jxl"), ext


@pytest.mark.parametrize("out", ["jpg", "png", "webp", "avif", "heic", "tif"])
def test_a_display_p3_photo_keeps_its_profile_through_a_chain_and_a_batch(tmp_path: Path, out: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _photo(folder / "phone.heic", P3, orientation=1)
    _photo(folder / "camera.jpg", P3, orientation=1)
    proc = cli("blur+sharpen", str(folder), "-o", str(tmp_path / "out"), "--format", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    for name in ("phone", "camera"):
        written = Image.open(_output(tmp_path / "out", name))
        assert written.info["icc_profile"] == P3, name
    # the pixels are the file's own numbers, filtered: never converted to another profile
    source = np.asarray(Image.open(folder / "camera.jpg").convert("RGB"))
    expect = imgconv.apply(imgconv.apply(source, "blur"), "sharpen")
    if out in ("png", "tif"):
        assert np.array_equal(np.asarray(Image.open(_output(tmp_path / "out", "camera")).convert("RGB")), expect)


def test_strip_drops_everything_in_every_format(tmp_path: Path) -> None:
    _photo(tmp_path / "in.jpg", P3)
    for out in OUTPUTS:
        proc = cli("sharpen", str(tmp_path / "in.jpg"), "-o", str(tmp_path / f"s.{out}"), "--strip")
        assert proc.returncode == 0, proc.stderr
        stripped = Image.open(tmp_path / f"s.{out}")
        # libjxl's decoder describes every JPEG XL's colour encoding with a profile of its own
        assert stripped.info.get("icc_profile") != P3 and ("icc_profile" not in stripped.info or out == "jxl"), out
        assert _xmp(stripped) is None, out
        assert not {0x0110, 0x0112} & set(stripped.getexif()), out


def test_quality_and_compression_change_sizes_the_expected_way(tmp_path: Path) -> None:
    def size(name: str, *args: str) -> int:
        proc = cli("sharpen", str(SAMPLE), "-o", str(tmp_path / name), *args)
        assert proc.returncode == 0, proc.stderr
        return (tmp_path / name).stat().st_size

    for ext in ("jpg", "webp", "avif", "heic", "jxl"):
        assert size(f"q30.{ext}", "--quality", "30") < size(f"q90.{ext}", "--quality", "90"), ext
    assert size("level9.png", "--compression", "9") < size("level1.png") < size("level0.png", "--compression", "0")
    # the PNG levels change the bytes, never the pixels
    levels = [np.asarray(Image.open(tmp_path / f"level{n}.png")) for n in (0, 1, 9)]
    assert np.array_equal(levels[0], levels[1]) and np.array_equal(levels[0], levels[2])
    # the defaults: AVIF at 60, JPEG XL at 90
    assert size("default.avif") == size("q60.avif", "--quality", "60")
    assert size("default.jxl") == size("q90b.jxl", "--quality", "90")


def test_avif_and_jpeg_xl_pixels_against_pillow(tmp_path: Path) -> None:
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))
    for ext in ("avif", "jxl"):
        Image.fromarray(image).save(tmp_path / f"in.{ext}", format=PILLOW_FORMATS[ext], quality=95)
        decoded = imgconv.read_image(tmp_path / f"in.{ext}")
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        # the same file through both decoders: identical for JPEG XL (both libjxl); AVIF's
        # YUV to RGB may round apart by a level
        assert np.abs(decoded.astype(int) - np.asarray(Image.open(tmp_path / f"in.{ext}").convert("RGB"))).max() <= 1
        imgconv.write_image(tmp_path / f"out.{ext}", decoded, quality=95)
        again = np.asarray(Image.open(tmp_path / f"out.{ext}").convert("RGB")).astype(int)
        assert np.abs(again - image).mean() < 3, ext  # lossy at 95: close to the original


def test_read_image_gives_the_metadata_and_write_image_takes_it(tmp_path: Path) -> None:
    _photo(tmp_path / "in.jpg", P3)
    pixels, metadata = imgconv.read_image(tmp_path / "in.jpg", with_metadata=True)
    assert isinstance(metadata, Metadata) and metadata.icc == P3 and metadata.xmp == XMP
    assert pixels.shape == (451, 300, 3)  # turned upright; the EXIF says 1 now
    for ext in ("png", "webp", "heic"):
        imgconv.write_image(tmp_path / f"out.{ext}", imgconv.apply(pixels, "sharpen"), metadata=metadata)
        written = Image.open(tmp_path / f"out.{ext}")
        assert written.info["icc_profile"] == P3 and written.getexif()[0x0112] == 1, ext
    assert imgconv.read_image(tmp_path / "out.png").shape == (451, 300, 3)


def test_without_the_jxl_extra_the_error_names_it(tmp_path: Path) -> None:
    Image.open(SAMPLE).convert("RGB").save(tmp_path / "in.jxl", format="JXL")
    blocked = ("import sys; sys.modules['pillow_jxl'] = None\n"  # as if it were not installed
               "from imgconv.cli import run; sys.argv[0] = 'imgconv'; run()")
    for args in ([str(tmp_path / "in.jxl"), "-o", str(tmp_path / "out.png")],
                 [str(SAMPLE), "-o", str(tmp_path / "out.jxl")]):
        proc = cli("blur", *args, code=blocked)
        assert proc.returncode == 1, proc.stderr
        assert "needs the jxl extra: pip install 'imgconv[jxl]'" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jxl"]


def test_an_avif_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    Image.open(SAMPLE).convert("RGB").save(tmp_path / "in.avif", format="AVIF")
    proc = cli("blur", str(tmp_path / "in.avif"), "-o", str(tmp_path / "out.png"), "--max-pixels", "100000")
    assert proc.returncode == 1 and "451x300 pixels (135,300) is more than the limit" in proc.stderr
    assert not (tmp_path / "out.png").exists()


def test_a_batch_with_format_names_its_outputs_with_that_formats_extension(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png", "b.tif", "c.jpg"):
        Image.open(SAMPLE).convert("RGB").save(folder / name)
    proc = cli("blur", str(folder), "-o", str(tmp_path / "out"), "--format", "jpg")
    assert proc.returncode == 0, proc.stderr
    # b.png and b.tif would both be b.jpg: each keeps its own name in front
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "b.png.jpg", "b.tif.jpg", "c.jpg"]
    assert all(Image.open(p).format == "JPEG" for p in (tmp_path / "out").iterdir())
    proc = cli("blur", str(folder / "a.png"), "--format", "webp")  # beside the input, with the tag
    assert proc.returncode == 0 and Image.open(folder / "a.blur.webp").format == "WEBP"
    proc = cli("blur", str(folder / "a.png"), "-o", str(tmp_path / "named.png"), "--format", "webp")
    assert proc.returncode == 0 and Image.open(tmp_path / "named.png").format == "WEBP"  # a name given is kept


def test_an_rgba_tiff_keeps_straight_alpha_in_and_out(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    rgba = np.random.default_rng(5).integers(0, 256, (40, 30, 4), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", rgba, photometric="rgb", extrasamples=("unassalpha",))
    # OpenCV's decoder would hand back colour times alpha / 255
    assert np.array_equal(imgconv.read_image(tmp_path / "in.tif"), rgba)
    proc = cli("identity", str(tmp_path / "in.tif"), "-o", str(tmp_path / "out.tif"))
    assert proc.returncode == 0, proc.stderr
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:  # the alpha marked as such for other readers
        assert tif.pages[0].extrasamples == (2,) and np.array_equal(tif.asarray(), rgba)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.tif")), rgba)
    # the same with the samples in planes (planar configuration 2): H x W x C all the same
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(rgba, -1, 0), photometric="rgb", planarconfig="separate",
                     extrasamples=("unassalpha",))
    assert np.array_equal(imgconv.read_image(tmp_path / "planar.tif"), rgba)


def test_a_streamed_tiff_carries_the_profile_xmp_and_resolution(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    image = np.random.default_rng(6).integers(0, 256, (700, 500, 3), dtype=np.uint8)  # 1 MiB
    tifffile.imwrite(tmp_path / "in.tif", image, photometric="rgb", iccprofile=P3, resolution=(300, 300),
                     resolutionunit="INCH", extratags=[(700, 1, len(XMP), XMP, True)])
    for name, extra in (("kept.tif", []), ("stripped.tif", ["--strip"])):
        proc = cli("blur", str(tmp_path / "in.tif"), "-o", str(tmp_path / name), "--max-memory", "512K",
                   "--explain", "--overwrite", *extra)
        assert proc.returncode == 0 and "streamed in bands" in proc.stdout + proc.stderr, proc.stderr
        with tifffile.TiffFile(tmp_path / name) as tif:
            page = tif.pages[0]
            assert page.is_tiled and np.array_equal(tif.asarray(), imgconv.apply(image, "blur"))
            tags = {tag.code: tag.value for tag in page.tags}
        if extra:
            assert 34675 not in tags and 700 not in tags
        else:
            assert tags[34675] == P3 and tags[700] == XMP and tags[282] == (300, 1) and tags[296] == 2


@pytest.mark.parametrize("bits", [10, 12])
def test_a_10_or_12_bit_avif_comes_in_as_full_range_16_bit(tmp_path: Path, bits: int) -> None:
    import cv2

    rng = np.random.default_rng(bits)
    image = rng.integers(0, 1 << bits, (48, 40, 3)).astype(np.uint16)
    image[0, 0] = (1 << bits) - 1  # white
    ok, data = cv2.imencode(".avif", image, [cv2.IMWRITE_AVIF_DEPTH, bits, cv2.IMWRITE_AVIF_QUALITY, 100])
    assert ok
    (tmp_path / "in.avif").write_bytes(data.tobytes())
    decoded = imgconv.read_image(tmp_path / "in.avif")
    # OpenCV hands back 0..2**bits-1; imgconv scales to 0..65535 as for any 16-bit image
    assert decoded.dtype == np.uint16 and decoded[0, 0].tolist() == [65535] * 3
    pillow = np.asarray(Image.open(tmp_path / "in.avif").convert("RGB")).astype(int)  # Pillow: 8-bit
    assert np.abs(np.rint(decoded / 257).astype(int) - pillow).max() <= 1
    proc = cli("blur", str(tmp_path / "in.avif"), "-o", str(tmp_path / "out.png"), "--depth", "uint8")
    assert proc.returncode == 0, proc.stderr
    expect = imgconv.apply(decoded, "blur", depth="uint8")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), expect)
    assert expect.mean() > 100  # not the near-black image 10-bit values read as 16-bit gave


def test_a_10_bit_heic_comes_in_as_full_range_16_bit(tmp_path: Path) -> None:
    image = np.random.default_rng(10).integers(0, 65536, (64, 48, 3)).astype(np.uint16)
    image[0, 0] = 65535
    pillow_heif.from_bytes("RGB;16", (48, 64), image.tobytes()).save(tmp_path / "in.heic", quality=-1)
    assert pillow_heif.open_heif(tmp_path / "in.heic").info["bit_depth"] == 10
    decoded = imgconv.read_image(tmp_path / "in.heic")
    assert decoded.dtype == np.uint16 and decoded.max() == 65535  # the full range (HEVC is lossy here)
    eight = np.asarray(pillow_heif.open_heif(tmp_path / "in.heic", convert_hdr_to_8bit=True)).astype(int)
    # libheif's own 8-bit reading converts YUV to 8-bit RGB directly: 2 levels apart at most
    assert np.abs(np.rint(decoded / 257).astype(int) - eight).max() <= 2
    proc = cli("blur", str(tmp_path / "in.heic"), "-o", str(tmp_path / "out.png"))
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(imgconv.read_image(tmp_path / "out.png"), imgconv.apply(decoded, "blur"))  # 16-bit PNG


def test_a_tiffs_exif_reaches_jpeg_png_and_webp(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Maker", "Camera X", "2026:12:05 10:00:00"  # IFD0's photo tags
    exif.get_ifd(0x8769)[0x9003] = "2026:12:05 09:59:59"  # DateTimeOriginal, in the EXIF IFD
    Image.open(SAMPLE).convert("RGB").save(tmp_path / "in.tif", exif=exif.tobytes())
    for ext in ("jpg", "png", "webp"):
        proc = cli("sharpen", str(tmp_path / "in.tif"), "-o", str(tmp_path / f"out.{ext}"))
        assert proc.returncode == 0, proc.stderr
        written = Image.open(tmp_path / f"out.{ext}").getexif()
        assert (written[0x010F], written[0x0110], written[0x0132]) == ("Maker", "Camera X", "2026:12:05 10:00:00")
        assert written.get_ifd(0x8769)[0x9003] == "2026:12:05 09:59:59", ext
        assert 0x0100 not in written and 0x0111 not in written  # the TIFF's own structure stays out


def test_a_tiff_output_keeps_the_exifs_photo_tags(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Maker", "Camera X", "2026:12:05 10:00:00"
    exif[0x8298], exif[0x0131] = "(c) Someone", "Camera 1.0"  # copyright, software
    photo = Image.open(SAMPLE).convert("RGB")
    photo.save(tmp_path / "in.jpg", exif=exif.tobytes(), quality=90)
    Image.fromarray(np.tile(np.asarray(photo), (3, 3, 1))).save(tmp_path / "big.tif", exif=exif.tobytes())
    runs = {"memory.tif": [str(tmp_path / "in.jpg")], "zstd.tif": [str(tmp_path / "in.jpg"), "--compression", "zstd"],
            "streamed.tif": [str(tmp_path / "big.tif"), "--max-memory", "1M"]}
    for name, args in runs.items():
        proc = cli("sharpen", args[0], "-o", str(tmp_path / name), *args[1:])
        assert proc.returncode == 0, proc.stderr
        with tifffile.TiffFile(tmp_path / name) as tif:  # IFD0's own tags, as TIFF readers see them
            tags = {tag.code: tag.value for tag in tif.pages[0].tags}
        assert (tags[271], tags[272], tags[306], tags[33432], tags[305]) == (
            "Maker", "Camera X", "2026:12:05 10:00:00", "(c) Someone", "Camera 1.0"), name


@pytest.mark.parametrize("ext", ["heic", "avif"])
def test_16_bit_images_are_written_as_10_bit_heic_and_avif(tmp_path: Path, ext: str) -> None:
    photo = np.asarray(Image.open(SAMPLE).convert("RGB")).astype(np.uint16) * 257  # 16-bit, full range
    imgconv.write_image(tmp_path / f"out.{ext}", photo, quality=95)
    opened = Image.open(tmp_path / f"out.{ext}")  # Pillow (pillow-heif for HEIC): 8-bit RGB
    if ext == "heic":
        assert pillow_heif.open_heif(tmp_path / "out.heic").info["bit_depth"] == 10
    assert np.abs(np.asarray(opened.convert("RGB")).astype(float) - photo / 257).mean() < 3  # lossy at 95
    back = imgconv.read_image(tmp_path / f"out.{ext}")
    assert back.dtype == np.uint16 and np.abs(back / 257 - photo / 257).mean() < 3
    # a 10-bit phone photo filtered back into its own format: 16-bit through, 10-bit out
    proc = cli("blur", str(tmp_path / f"out.{ext}"), "-o", str(tmp_path / f"again.{ext}"))
    assert proc.returncode == 0, proc.stderr
    assert imgconv.read_image(tmp_path / f"again.{ext}").dtype == np.uint16
