"""A photo's ICC profile, EXIF, XMP and resolution survive imgconv apply (issue 17).

The oracle is Pillow, which writes the inputs with their metadata and reads the outputs'
back (an independent reader of both containers), and OpenCV, which must still decode them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "chelsea.png"
PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
BIG_PROFILE = PROFILE + bytes(70_000)  # more than one JPEG segment holds: split over APP2s
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def _photo(path: Path, profile: bytes = PROFILE, orientation: int = 6) -> None:
    exif = Image.Exif()
    exif[0x0110] = "Camera X"  # Model
    exif[0x0132] = "2026:12:05 10:00:00"  # DateTime
    exif[0x0112] = orientation
    image = Image.open(SAMPLE).convert("RGB")
    extra = {"quality": 90} if path.suffix == ".jpg" else {}
    image.save(path, icc_profile=profile, exif=exif.tobytes(), dpi=(300, 300), xmp=XMP, **extra)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", "apply", *args], capture_output=True, text=True,
                          timeout=120)


def _xmp(image: Image.Image) -> bytes | None:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    return xmp.encode() if isinstance(xmp, str) else xmp


@pytest.mark.parametrize("source, target", [(".jpg", ".jpg"), (".jpg", ".png"), (".png", ".jpg"), (".png", ".png")])
def test_profile_exif_xmp_and_resolution_are_kept(tmp_path: Path, source: str, target: str) -> None:
    _photo(tmp_path / f"in{source}")
    proc = cli("sharpen", str(tmp_path / f"in{source}"), "-o", str(tmp_path / f"out{target}"))
    assert proc.returncode == 0, proc.stderr
    out = Image.open(tmp_path / f"out{target}")
    assert out.size == (300, 451)  # the EXIF orientation (6) applied to the 451x300 pixels
    assert out.info["icc_profile"] == PROFILE
    exif = out.getexif()
    assert exif[0x0110] == "Camera X" and exif[0x0132] == "2026:12:05 10:00:00"
    assert exif[0x0112] == 1  # upright now: a viewer must not turn it again
    assert tuple(round(v) for v in out.info["dpi"]) == (300, 300)
    assert _xmp(out) == _xmp(Image.open(tmp_path / f"in{source}"))  # XMP as the input had it (if any)
    assert source == ".png" or _xmp(out) == XMP
    assert cv2.imread(str(tmp_path / f"out{target}"), cv2.IMREAD_UNCHANGED) is not None


def test_a_large_profile_through_a_chain_and_a_batch(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _photo(folder / "a.jpg", BIG_PROFILE, orientation=1)
    _photo(folder / "b.png", BIG_PROFILE, orientation=1)
    proc = cli("blur+sharpen", str(folder), "-o", str(tmp_path / "out"), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    for name in ("a.jpg", "b.png"):
        out = Image.open(tmp_path / "out" / name)
        assert out.info["icc_profile"] == BIG_PROFILE and out.getexif()[0x0110] == "Camera X", name


def test_strip_drops_everything_and_grey_drops_an_rgb_profile(tmp_path: Path) -> None:
    _photo(tmp_path / "in.jpg")
    assert cli("sharpen", str(tmp_path / "in.jpg"), "-o", str(tmp_path / "s.jpg"), "--strip").returncode == 0
    stripped = Image.open(tmp_path / "s.jpg")
    assert "icc_profile" not in stripped.info and not stripped.getexif() and _xmp(stripped) is None
    assert "dpi" not in stripped.info
    assert cli("sharpen", str(tmp_path / "in.jpg"), "-o", str(tmp_path / "g.png"), "--gray").returncode == 0
    grey = Image.open(tmp_path / "g.png")
    assert grey.mode == "L" and "icc_profile" not in grey.info and grey.getexif()[0x0110] == "Camera X"


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_a_tiff_output_carries_the_profile_xmp_and_resolution(tmp_path: Path, compression: str | None) -> None:
    tifffile = pytest.importorskip("tifffile")
    _photo(tmp_path / "in.jpg")
    extra = ["--compression", compression] if compression else []
    assert cli("sharpen", str(tmp_path / "in.jpg"), "-o", str(tmp_path / "out.tif"), *extra).returncode == 0
    out = Image.open(tmp_path / "out.tif")
    assert out.info["icc_profile"] == PROFILE and _xmp(out) == XMP
    assert tuple(round(v) for v in out.info["dpi"]) == (300, 300)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:  # pixels and codec as without the tags
        assert tif.pages[0].compression.name == ("ZSTD" if compression else "LZW")
    plain = tmp_path / "plain.tif"
    assert cli("sharpen", str(tmp_path / "in.jpg"), "-o", str(plain), "--strip", *extra).returncode == 0
    assert np.array_equal(np.asarray(out), np.asarray(Image.open(plain)))
    assert "icc_profile" not in Image.open(plain).info


def test_a_tiff_inputs_profile_and_resolution_reach_a_jpeg(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    pixels = np.asarray(Image.open(SAMPLE).convert("RGB"))
    tifffile.imwrite(tmp_path / "in.tif", pixels, photometric="rgb", iccprofile=PROFILE, resolution=(200, 200),
                     resolutionunit="INCH")
    assert cli("blur", str(tmp_path / "in.tif"), "-o", str(tmp_path / "out.jpg")).returncode == 0
    out = Image.open(tmp_path / "out.jpg")
    assert out.info["icc_profile"] == PROFILE and tuple(round(v) for v in out.info["dpi"]) == (200, 200)
