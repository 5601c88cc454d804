"""imgconv.apply on a Pillow image: a Pillow image of the same mode, its metadata kept.

The oracle: imgconv.apply on numpy.asarray of the same image (itself checked against OpenCV
elsewhere), and what Pillow reads back from a file written with the result's info.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

import imgconv
from imgconv.errors import UsageError


def _pixels(mode: str, size=(37, 23)) -> Image.Image:  # noqa: ANN001
    rng = np.random.default_rng(len(mode))
    shape = (size[1], size[0])
    if mode == "F":
        return Image.fromarray(rng.random(shape, dtype=np.float32) * 50)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, shape, dtype=np.uint16))
    bands = len(Image.new(mode, (1, 1)).getbands())
    data = rng.integers(0, 256, shape + ((bands,) if bands > 1 else ()), dtype=np.uint8)
    return Image.fromarray(data)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16", "F"])
def test_the_same_mode_and_the_numpy_result(mode: str) -> None:
    image = _pixels(mode)
    assert image.mode == mode
    out = imgconv.apply(image, "sharpen", border="wrap")
    assert isinstance(out, Image.Image) and out.mode == mode and out.size == image.size
    assert np.array_equal(np.asarray(out), imgconv.apply(np.asarray(image), "sharpen", border="wrap"))


def test_the_colour_profile_exif_and_resolution_are_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0110] = "Camera X"  # Model
    buffer = io.BytesIO()
    _pixels("RGB").save(buffer, "JPEG", quality=95, icc_profile=profile, exif=exif.tobytes(), dpi=(300, 300))
    photo = Image.open(io.BytesIO(buffer.getvalue()))
    out = imgconv.apply(photo, "blur", stride=2)  # another size: the same picture still
    assert out.size == (19, 12)
    written = io.BytesIO()
    out.save(written, "JPEG", icc_profile=out.info["icc_profile"], exif=out.info["exif"], dpi=out.info["dpi"])
    again = Image.open(io.BytesIO(written.getvalue()))
    assert again.info["icc_profile"] == profile and again.getexif()[0x0110] == "Camera X"
    assert tuple(round(v) for v in again.info["dpi"]) == (300, 300)


def test_what_pillow_cannot_take_or_hold_says_what_to_do() -> None:
    for mode, words in (("P", "convert('RGBA')"), ("1", "convert('L')"), ("CMYK", "convert('RGB')"),
                        ("I", "convert('F')")):
        with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")):
            imgconv.apply(Image.new(mode, (8, 8)), "blur")
    with pytest.raises(UsageError, match="pass a numpy array"):
        imgconv.apply(_pixels("RGB"), "sobel-x", depth="float32")  # Pillow has no float RGB
