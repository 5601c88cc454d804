"""HEIC/HEIF in and out through the heif extra (pillow-heif), issue 17.

Oracles: pillow-heif (libheif) writes the inputs and decodes the outputs; imgconv.apply on
the pixels libheif decodes is what a filtered HEIC must hold.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import imgconv

pillow_heif = pytest.importorskip("pillow_heif")
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "chelsea.png"


def cli(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    prefix = [sys.executable, "-c", code, "apply"] if code else [sys.executable, "-m", "imgconv", "apply"]
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)


def _heic(path: Path, quality: int = 90) -> np.ndarray:
    from PIL import Image

    rgb = np.asarray(Image.open(SAMPLE).convert("RGB"))
    pillow_heif.from_bytes("RGB", (rgb.shape[1], rgb.shape[0]), rgb.tobytes()).save(path, quality=quality)
    return np.asarray(pillow_heif.open_heif(path))  # what libheif decodes: the input's pixels


def test_a_heic_in_and_out(tmp_path: Path) -> None:
    pixels = _heic(tmp_path / "in.heic")
    assert cli("sharpen", str(tmp_path / "in.heic"), "-o", str(tmp_path / "out.png")).returncode == 0
    out = imgconv.read_image(tmp_path / "out.png")
    assert np.array_equal(out, imgconv.apply(pixels, "sharpen"))
    sizes = {}
    for quality in (30, 90):
        target = tmp_path / f"q{quality}.heic"
        proc = cli("sharpen", str(tmp_path / "in.heic"), "-o", str(target), "--quality", str(quality))
        assert proc.returncode == 0, proc.stderr
        decoded = np.asarray(pillow_heif.open_heif(target))
        assert decoded.shape == pixels.shape
        error = np.abs(decoded.astype(int) - imgconv.apply(pixels, "sharpen")).mean()
        assert error < (12 if quality == 30 else 4), (quality, error)  # lossy, but the same picture
        sizes[quality] = target.stat().st_size
    assert sizes[30] < sizes[90]


def test_a_folder_walk_takes_heic_and_the_pixel_limit_holds(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _heic(folder / "phone.heic")
    proc = cli("blur", str(folder), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0 and (tmp_path / "out" / "phone.heic").exists(), proc.stderr
    proc = cli("blur", str(folder / "phone.heic"), "-o", str(tmp_path / "x.png"), "--max-pixels", "1000")
    assert proc.returncode == 1 and "451x300 pixels (135,300) is more than the limit" in proc.stderr


def test_without_the_extra_the_error_names_it(tmp_path: Path) -> None:
    _heic(tmp_path / "in.heic")
    blocked = ("import sys; sys.modules['pillow_heif'] = None\n"  # as if it were not installed
               "from imgconv.cli import run; sys.argv[0] = 'imgconv'; run()")
    for args in ([str(tmp_path / "in.heic"), "-o", str(tmp_path / "out.png")],
                 [str(SAMPLE), "-o", str(tmp_path / "out.heic")]):
        proc = cli("blur", *args, code=blocked)
        assert proc.returncode == 1, proc.stderr
        assert "needs the heif extra: pip install 'imgconv[heif]'" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.heic"]


def test_a_phones_profile_and_exif_go_from_heic_to_jpeg(tmp_path: Path) -> None:
    from PIL import Image, ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0110] = "Phone"
    rgb = np.asarray(Image.open(SAMPLE).convert("RGB"))
    pillow_heif.from_bytes("RGB", (rgb.shape[1], rgb.shape[0]), rgb.tobytes()).save(
        tmp_path / "in.heic", quality=90, icc_profile=profile, exif=exif.tobytes())
    assert cli("sharpen", str(tmp_path / "in.heic"), "-o", str(tmp_path / "out.jpg")).returncode == 0
    out = Image.open(tmp_path / "out.jpg")
    assert out.info["icc_profile"] == profile and out.getexif()[0x0110] == "Phone"
