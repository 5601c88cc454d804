"""imgconv.apply on a dask array: a lazy dask array equal to the numpy result, bit for bit.

The oracle is imgconv.apply on the same data as numpy (checked against OpenCV and
scipy.ndimage elsewhere), and one small case by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import imgconv
from imgconv.borders import BORDER_NAMES
from imgconv.errors import UsageError

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def _image(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32) * 100
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def _numpy(image: np.ndarray, kernels, **options) -> np.ndarray:  # noqa: ANN001
    for kernel in kernels if isinstance(kernels, list) else [kernels]:
        image = imgconv.apply(image, kernel, **options)
    return image


def test_by_hand() -> None:
    image = da.from_array(np.array([[0, 0, 9, 9], [0, 0, 9, 9]], np.uint8), chunks=(1, 2))
    out = imgconv.apply(image, [[-1, 0, 1]])
    assert isinstance(out, da.Array)
    assert out.compute().tolist() == [[0, 9, 9, 0], [0, 9, 9, 0]]  # reflect101: 0 - 0, 9 - 0, 9 - 0, 9 - 9


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
@pytest.mark.parametrize("border", BORDER_NAMES)
def test_every_border_and_chunks_smaller_than_the_kernel(engine: str, border: str) -> None:
    image = _image((50, 23, 3), np.uint8, seed=1)
    for chunks in ((3, 5, 3), (7, 23, 3), (50, 23, 3)):
        for kernel in ("gaussian:size=7,sigma=1.5", "sobel", "box:size=4"):
            options = {"engine": engine, "border": border, "border_value": 9}
            out = imgconv.apply(da.from_array(image, chunks=chunks), kernel, **options)
            assert np.array_equal(out.compute(), _numpy(image, kernel, **options)), (chunks, kernel)


@pytest.mark.parametrize("dtype, shape", [(np.uint16, (31, 17)), (np.float32, (29, 13, 4)), (np.uint8, (33, 9, 1))])
def test_depths_channels_geometry_and_a_chain(dtype: type, shape: tuple) -> None:
    image = _image(shape, dtype, seed=2)
    dask_image = da.from_array(image, chunks=(4, 5) + shape[2:])
    for kernels, options in (
        ("sharpen", {"stride": 2}),
        ("laplacian", {"dilation": 2, "padding": "valid"}),
        (["blur", "emboss", "sharpen"], {"padding": "full", "stride": "2x3"}),
        ("sobel-x", {"mode": "convolve", "post": "abs", "depth": "float32"}),
    ):
        out = imgconv.apply(dask_image, kernels, **options)
        expect = _numpy(image, kernels, **options)
        assert out.shape == expect.shape and out.dtype == expect.dtype, kernels
        assert np.array_equal(out.compute(), expect), kernels


@pytest.mark.parametrize("engine", ["cv2", "numpy"])
def test_a_kernel_in_the_dft_range(engine: str) -> None:
    """OpenCV's DFT rounds in tiles of rows; the output's chunks keep the image's tiles."""
    image = _image((1300, 120, 3), np.uint8, seed=3)
    for border in ("reflect101", "wrap"):
        options = {"engine": engine, "border": border}
        out = imgconv.apply(da.from_array(image, chunks=(300, 50, 3)), "gaussian:size=15,sigma=3", **options)
        assert np.array_equal(out.compute(), _numpy(image, "gaussian:size=15,sigma=3", **options)), border


def test_nothing_is_computed_before_compute() -> None:
    calls = []

    def rows(y0: int) -> np.ndarray:
        calls.append(y0)
        return np.full((10, 8), y0, np.uint8)

    parts = [da.from_delayed(dask.delayed(rows)(y0), (10, 8), np.uint8) for y0 in range(0, 40, 10)]
    out = imgconv.apply(da.concatenate(parts), "blur")
    assert calls == [] and isinstance(out, da.Array)
    assert np.array_equal(out.compute(scheduler="threads"), imgconv.apply(np.repeat(np.arange(0, 40, 10, dtype=np.uint8), 10)[:, None].repeat(8, 1), "blur"))
    assert sorted(set(calls)) == [0, 10, 20, 30]


def test_on_a_distributed_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    image = _image((60, 40), np.uint8, seed=4)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        out = client.compute(imgconv.apply(da.from_array(image, chunks=(16, 40)), "edge")).result()
    assert np.array_equal(out, imgconv.apply(image, "edge"))


def test_what_cannot_be_lazy_says_why() -> None:
    image = da.from_array(np.zeros((8, 8), np.uint8), chunks=4)
    with pytest.raises(UsageError, match="transposed"):
        imgconv.apply(image, "blur", stride=2, transposed=True)
    with pytest.raises(UsageError, match="minimum and maximum"):
        imgconv.apply(image, "blur", post="stretch")
    unknown = image[image[:, 0] >= 0]  # a boolean index: dask does not know the chunk sizes
    with pytest.raises(UsageError, match="compute_chunk_sizes"):
        imgconv.apply(unknown, "blur")
    with pytest.raises(UsageError, match="H x W"):
        imgconv.apply(da.zeros((2, 3, 4, 5), chunks=2, dtype=np.uint8), "blur")
