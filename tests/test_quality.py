"""--quality, and a JPEG that comes out at the quality it came in at (issue 17).

Oracles: Pillow (libjpeg) writes the inputs at known qualities and reads the outputs'
quantisation tables and pixels back.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imgconv
from imgconv.headers import read_header

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "astronaut.png"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", "apply", "sharpen", *args], capture_output=True,
                          text=True, timeout=120)


def _jpeg(quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(SAMPLE).convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _table(path: Path) -> list[int]:
    return list(Image.open(path).quantization[0])


@pytest.mark.parametrize("quality", [5, 30, 50, 75, 90, 97, 100])
def test_a_jpegs_quality_is_read_from_its_header(quality: int) -> None:
    assert read_header(_jpeg(quality)).quality == quality


def test_a_jpeg_keeps_its_quality_unless_told(tmp_path: Path) -> None:
    (tmp_path / "in.jpg").write_bytes(_jpeg(80))
    (tmp_path / "q92.jpg").write_bytes(_jpeg(92))
    assert cli(str(tmp_path / "in.jpg"), "-o", str(tmp_path / "same.jpg")).returncode == 0
    assert _table(tmp_path / "same.jpg") == _table(tmp_path / "in.jpg")  # quality 80 in, 80 out
    sizes = {}
    for quality in (40, 95):
        out = tmp_path / f"{quality}.jpg"
        assert cli(str(tmp_path / "in.jpg"), "-o", str(out), "--quality", str(quality)).returncode == 0
        sizes[quality] = out.stat().st_size
    assert sizes[40] < (tmp_path / "same.jpg").stat().st_size < sizes[95]
    # a PNG made a JPEG: quality 92, ImageMagick's default
    assert cli(str(SAMPLE), "-o", str(tmp_path / "from-png.jpg")).returncode == 0
    assert _table(tmp_path / "from-png.jpg") == _table(tmp_path / "q92.jpg")


def test_webp_is_lossy_at_75_lossless_when_asked_or_when_the_input_was(tmp_path: Path) -> None:
    assert cli(str(SAMPLE), "-o", str(tmp_path / "default.webp")).returncode == 0
    assert cli(str(SAMPLE), "-o", str(tmp_path / "q75.webp"), "--quality", "75").returncode == 0
    assert cli(str(SAMPLE), "-o", str(tmp_path / "lossless.webp"), "--lossless").returncode == 0
    expect = imgconv.apply(np.asarray(Image.open(SAMPLE).convert("RGB")), "sharpen")
    assert (tmp_path / "default.webp").read_bytes() == (tmp_path / "q75.webp").read_bytes()  # cwebp's default
    assert np.array_equal(np.asarray(Image.open(tmp_path / "lossless.webp").convert("RGB")), expect)
    assert (tmp_path / "default.webp").stat().st_size < (tmp_path / "lossless.webp").stat().st_size / 3
    # a lossless WebP stays lossless; a lossy one is written lossy
    Image.open(SAMPLE).convert("RGB").save(tmp_path / "in-lossless.webp", lossless=True)
    Image.open(SAMPLE).convert("RGB").save(tmp_path / "in-lossy.webp", quality=90)
    for name in ("in-lossless", "in-lossy"):
        assert cli(str(tmp_path / f"{name}.webp"), "-o", str(tmp_path / f"out-{name}.webp")).returncode == 0
    same = np.asarray(Image.open(tmp_path / "out-in-lossless.webp").convert("RGB"))
    assert np.array_equal(same, expect)
    assert (tmp_path / "out-in-lossy.webp").stat().st_size < (tmp_path / "out-in-lossless.webp").stat().st_size / 3
    proc = cli(str(SAMPLE), "-o", str(tmp_path / "x.jpg"), "--lossless")
    assert proc.returncode == 1 and "--lossless applies to WebP outputs, not JPEG" in proc.stderr


def test_quality_where_it_does_not_apply(tmp_path: Path) -> None:
    proc = cli(str(SAMPLE), "-o", str(tmp_path / "out.png"), "--quality", "50")
    assert proc.returncode == 1 and "--quality applies to JPEG, WebP, AVIF, HEIC and JPEG XL outputs, not PNG" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and not (tmp_path / "out.png").exists()
    for bad in ("0", "101"):
        assert cli(str(SAMPLE), "-o", str(tmp_path / "out.jpg"), "--quality", bad).returncode == 2
