"""Filtering in bands of rows (imgconv.streaming.filter_bands) gives the in-memory result.

The oracle is imgconv.apply on the whole image (itself checked against OpenCV and
scipy.ndimage elsewhere): every border mode, both engines, single, combined and per-channel
kernels, anchors off centre, convolve, bands thinner than the kernel, images thinner than it.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import imgconv
from imgconv.borders import BORDER_NAMES
from imgconv.errors import UsageError
from imgconv.options import FilterOptions
from imgconv.streaming import filter_bands, halo

KERNELS = {
    "edge": "edge",
    "combined": "sobel",
    "per channel": json.dumps({"channels": ["sobel-x", "blur", "laplacian"]}),
    "float weights": "gaussian:size=7,sigma=1.5",
    "tall, anchored high": json.dumps({"kernel": [[1], [2], [3], [4], [5]], "anchor": [0, 1], "divisor": 15}),
    "even size": "box:size=4",
}


def _image(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


class Reader:
    """Rows of an image, noting each read (how many rows a band takes from the image)."""

    def __init__(self, image: np.ndarray) -> None:
        self.image, self.reads = image, []

    def __call__(self, y0: int, y1: int) -> np.ndarray:
        assert 0 <= y0 < y1 <= self.image.shape[0], (y0, y1)
        self.reads.append((y0, y1))
        return self.image[y0:y1].copy()


def _streamed(image: np.ndarray, kernel: str, options: FilterOptions, band_rows: int) -> np.ndarray:
    bands = list(filter_bands(Reader(image), image.shape[0], kernel, options, band_rows=band_rows))
    assert [y0 for y0, _ in bands] == list(range(0, image.shape[0], band_rows))
    return np.concatenate([rows for _, rows in bands])


@pytest.mark.parametrize("border", BORDER_NAMES)
@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("name", list(KERNELS))
def test_bands_equal_the_whole_image(border: str, engine: str, name: str) -> None:
    image = _image((41, 23, 3), np.uint8)
    options = FilterOptions(engine=engine, border=border, border_value=7)
    whole = imgconv.apply(image, KERNELS[name], options)
    for band_rows in (1, 3, 16, 64):
        assert np.array_equal(_streamed(image, KERNELS[name], options, band_rows), whole), band_rows


@pytest.mark.parametrize("dtype, shape", [(np.uint16, (5, 9)), (np.float32, (19, 11, 4)), (np.uint8, (3, 30, 2))])
@pytest.mark.parametrize("border", BORDER_NAMES)
def test_other_depths_alpha_and_images_thinner_than_the_kernel(dtype: type, shape: tuple, border: str) -> None:
    image = _image(shape, dtype, seed=3)
    for settings in ({"mode": "convolve"}, {"post": "abs", "depth": "float32"}, {"gray": True, "post": "shift"}):
        options = FilterOptions(border=border, **settings)
        kernel = KERNELS["tall, anchored high"]
        whole = imgconv.apply(image, kernel, options)
        for band_rows in (1, 2, 8):
            assert np.array_equal(_streamed(image, kernel, options, band_rows), whole, equal_nan=True), settings


def test_a_band_reads_its_rows_and_the_halo_only() -> None:
    image = _image((100, 8), np.uint8)
    kernel = KERNELS["tall, anchored high"]
    above, below = halo(kernel)
    assert (above, below) == (1, 3)
    for border in BORDER_NAMES:
        reader = Reader(image)
        list(filter_bands(reader, 100, kernel, FilterOptions(border=border), band_rows=10))
        per_band = max(y1 - y0 for y0, y1 in reader.reads)
        assert per_band <= 10 + above + below, (border, reader.reads)
        # and one row read first, to plan with
        assert sum(y1 - y0 for y0, y1 in reader.reads) <= 10 * (10 + above + below) + 1, border


def test_what_does_not_stream_says_so() -> None:
    image = _image((10, 10), np.uint8)
    cases = [
        (FilterOptions(stride=2, transposed=True), "transposed"),
        (FilterOptions(post="stretch"), "minimum and maximum"),
        (FilterOptions(premultiply=True, border="constant"), "constant border"),
    ]
    for options, words in cases:
        with pytest.raises(UsageError, match=words):
            list(filter_bands(lambda a, b: image[a:b], 10, "blur", options))


def test_every_band_height_and_kernel_reach_on_a_small_image() -> None:
    image = _image((13, 7), np.uint8, seed=8)
    for rows, anchor_row, band_rows in itertools.product((1, 2, 5, 14), (0, -1), (1, 4, 13)):
        kernel = json.dumps({"kernel": [[1, 2]] * rows, "anchor": [1, anchor_row % rows]})
        for border in BORDER_NAMES:
            options = FilterOptions(border=border, border_value=3)
            whole = imgconv.apply(image, kernel, options)
            assert np.array_equal(_streamed(image, kernel, options, band_rows), whole), (rows, anchor_row, border)
