"""Filtering in bands of rows (imgconv.streaming.filter_bands) gives the in-memory result.

The oracle is imgconv.apply on the whole image (itself checked against OpenCV and
scipy.ndimage elsewhere): every border mode, both engines, single, combined and per-channel
kernels, anchors off centre, convolve, bands thinner than the kernel, images thinner than it.
"""

from __future__ import annotations

import itertools
import json

from typing import Any

import numpy as np
import pytest

import imgconv
from imgconv.borders import BORDER_NAMES
from imgconv.errors import UsageError
from imgconv.options import FilterOptions
from imgconv.streaming import Stream, filter_bands, halo

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


def _streamed(image: np.ndarray, kernel: Any, options: FilterOptions, band_rows: int) -> np.ndarray:
    bands = list(filter_bands(Reader(image), image.shape[0], kernel, options, band_rows=band_rows))
    assert [y0 for y0, _ in bands] == list(itertools.accumulate([0] + [len(rows) for _, rows in bands[:-1]]))
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


GEOMETRIES = [
    {"stride": 2},
    {"stride": "3x2", "mode": "convolve"},
    {"dilation": 2},
    {"dilation": "3x1", "stride": 2},
    {"padding": "valid"},
    {"padding": "full", "stride": 2},
    {"padding": "3x1"},
]


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_stride_dilation_and_padding_stream(engine: str, geometry: dict) -> None:
    image = _image((37, 19, 3), np.uint8, seed=5)
    for name in ("even size", "tall, anchored high", "combined"):
        for border in BORDER_NAMES:
            options = FilterOptions(engine=engine, border=border, border_value=200, **geometry)
            whole = imgconv.apply(image, KERNELS[name], options)
            for band_rows in (1, 4, 50):
                streamed = _streamed(image, KERNELS[name], options, band_rows)
                assert np.array_equal(streamed, whole), (name, border, band_rows)


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
def test_a_chain_streams_as_each_kernel_in_turn(engine: str) -> None:
    image = _image((45, 17, 4), np.uint8, seed=6)  # alpha kept through the chain
    chain = ["gaussian:size=5,sigma=1", KERNELS["tall, anchored high"], "sharpen"]
    for border in BORDER_NAMES:
        for geometry in ({}, {"stride": 2}, {"padding": "valid"}):
            options = FilterOptions(engine=engine, border=border, **geometry)
            whole = image
            for kernel in chain:
                whole = imgconv.apply(whole, kernel, options)
            for band_rows in (1, 7):
                assert np.array_equal(_streamed(image, chain, options, band_rows), whole), (border, geometry)


def test_a_one_row_image_and_a_one_row_output() -> None:
    for shape in ((1, 30), (1, 9, 3), (2, 5)):
        image = _image(shape, np.uint8, seed=2)
        for border in BORDER_NAMES:
            for settings in ({}, {"stride": 3}, {"padding": "full"}):
                options = FilterOptions(border=border, **settings)
                whole = imgconv.apply(image, "gaussian:size=5,sigma=1", options)
                assert np.array_equal(_streamed(image, "gaussian:size=5,sigma=1", options, 1), whole)


# OpenCV's DFT (from 130 kernel cells on 8-bit and float32 images, 50 on 16-bit) and the
# numpy engine's FFT and matmul routes round in tiles of rows: a band must tile as its
# image does (imgconv.streaming's docstring). Tall enough for several tiles of rows.
DFT_CASES = [
    (np.uint8, "gaussian:size=15,sigma=3", 3),
    (np.uint8, "gaussian:size=31,sigma=5", 1),
    (np.uint8, json.dumps({"kernel": np.random.default_rng(4).integers(-9, 10, (13, 11)).tolist(),
                           "divisor": 7, "anchor": [2, 9]}), 3),
    (np.uint16, "gaussian:size=9,sigma=2", 1),
    (np.float32, "gaussian:size=13,sigma=2", 2),
]


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("dtype, kernel, channels", DFT_CASES, ids=lambda v: getattr(v, "__name__", str(v))[:24])
def test_kernels_in_the_dft_range_stream_bit_for_bit(engine: str, dtype: type, kernel: str, channels: int) -> None:
    image = _image((1300, 90, channels) if channels > 1 else (1300, 90), dtype, seed=9)
    for border in BORDER_NAMES:
        for geometry in ({}, {"stride": 2}, {"padding": "valid", "dilation": 2}):
            options = FilterOptions(engine=engine, border=border, border_value=3, **geometry)
            whole = imgconv.apply(image, kernel, options)
            stream = Stream(Reader(image), image.shape[0], kernel, options)
            for band_rows in (97, 600):
                out = np.concatenate([stream.rows(y, min(stream.height, y + band_rows))
                                      for y in range(0, stream.height, band_rows)])
                assert np.array_equal(out, whole, equal_nan=True), (border, geometry, band_rows)


def test_streams_read_only_what_they_say() -> None:
    image = _image((300, 11), np.uint8, seed=1)
    for border in BORDER_NAMES:
        for settings in ({}, {"stride": 2, "dilation": 2}):
            options = FilterOptions(border=border, **settings)
            reader = Reader(image)
            stream = Stream(reader, 300, ["blur", "sobel-x"], options)
            for y0, y1 in ((0, 10), (40, 60), (stream.height - 5, stream.height)):
                reader.reads.clear()
                stream.rows(y0, y1)
                assert set(reader.reads) <= set(stream.reads(y0, y1)), (border, settings, y0)
