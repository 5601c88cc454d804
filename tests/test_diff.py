"""imgconv diff: metrics, SSIM, border/interior split, heat map, HTML report, the command.

Every expected value is computed here independently: by hand on crafted images with known
differences (numpy in plain integer or float64 arithmetic), SSIM by scikit-image, pixels of
the heat map by cv2.applyColorMap called directly, the HTML by html.parser and cv2.imdecode.
"""

from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from imgconv.errors import ImgconvError, UsageError
from imgconv.metrics import ImageMismatchError, diff, ssim, within_tolerance
from imgconv.report import heatmap, html_report

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CONTRACT_KEYS = {
    "max_abs", "mean_abs", "rmse", "psnr", "differing_pixels", "differing_fraction", "identical", "shape", "dtype",
}
PIXEL_KEYS = ("max_abs", "mean_abs", "rmse", "psnr", "differing_pixels", "differing_fraction", "identical")


def inferno(level: int) -> np.ndarray:
    """The BGR colour cv2's inferno map gives to one level (0..255)."""
    return cv2.applyColorMap(np.array([[level]], np.uint8), cv2.COLORMAP_INFERNO)[0, 0]


def crop(name: str, rows: int, cols: int, *, gray: bool = False) -> np.ndarray:
    """A real photograph (RGB, or grey), cut to rows x cols: structure for SSIM to see."""
    bgr = cv2.imdecode(np.fromfile(SAMPLES / name, np.uint8), cv2.IMREAD_COLOR)[:rows, :cols]
    if gray:
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def reference(a: np.ndarray, b: np.ndarray, peak: float) -> dict:
    """The pixel metrics the slow, obvious way: float64 arithmetic, loops over nothing clever."""
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    d3 = d.reshape(a.shape[0], a.shape[1], -1)
    mse = float(np.mean(d**2))
    differing = int(np.sum(np.any(d3 != 0, axis=2)))
    return {
        "max_abs": float(d.max()),
        "mean_abs": float(d.mean()),
        "rmse": math.sqrt(mse),
        "psnr": None if mse == 0 else 10 * math.log10(peak**2 / mse),
        "differing_pixels": differing,
        "differing_fraction": differing / (a.shape[0] * a.shape[1]),
        "identical": bool(mse == 0),
    }


def assert_pixel_metrics(got: dict, want: dict) -> None:
    for key in PIXEL_KEYS:
        if want[key] is None or isinstance(want[key], bool) or isinstance(want[key], int):
            assert got[key] == want[key], (key, got[key], want[key])
        else:
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12), key


# -- the metrics ----------------------------------------------------------------------------
def test_one_sample_changed_by_ten() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 240, (20, 30, 3), dtype=np.uint8)
    b = a.copy()
    b[7, 11, 1] += 10
    n = 20 * 30 * 3
    d = diff(a, b)
    assert CONTRACT_KEYS <= set(d)
    assert d["max_abs"] == 10 and isinstance(d["max_abs"], int)
    assert d["mean_abs"] == pytest.approx(10 / n)
    assert d["rmse"] == pytest.approx(math.sqrt(100 / n))
    assert d["psnr"] == pytest.approx(20 * math.log10(255 / math.sqrt(100 / n)))
    assert d["differing_pixels"] == 1
    assert d["differing_fraction"] == pytest.approx(1 / 600)
    assert d["identical"] is False
    assert d["shape"] == [20, 30, 3] and d["dtype"] == "uint8" and d["data_range"] == 255
    red, green, blue = d["channels"]
    assert [red["name"], green["name"], blue["name"]] == ["red", "green", "blue"]
    assert green["max_abs"] == 10 and green["differing_pixels"] == 1
    assert green["rmse"] == pytest.approx(math.sqrt(100 / 600))
    assert green["psnr"] == pytest.approx(20 * math.log10(255 / math.sqrt(100 / 600)))
    for other in (red, blue):
        assert other["identical"] is True and other["psnr"] is None and other["max_abs"] == 0
        assert other["ssim"] == 1.0
    assert json.loads(json.dumps(d)) == d  # plain Python values only


def test_identical_images() -> None:
    a = crop("camera.png", 40, 50, gray=True)
    d = diff(a, a.copy())
    assert d["identical"] is True and d["psnr"] is None
    assert (d["max_abs"], d["mean_abs"], d["rmse"], d["differing_pixels"], d["differing_fraction"]) == (0, 0, 0, 0, 0)
    assert d["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert d["shape"] == [40, 50] and len(d["channels"]) == 1 and d["channels"][0]["name"] == "gray"
    assert d["border"]["identical"] and d["interior"]["identical"]
    assert json.loads(json.dumps(d))["psnr"] is None  # null in JSON


@pytest.mark.parametrize(
    "dtype, peak",
    [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0), (np.int16, 65535)],
)
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_random_differences_match_numpy(dtype: type, peak: float, channels: int | None) -> None:
    rng = np.random.default_rng(7)
    shape = (23, 31) if channels is None else (23, 31, channels)
    if np.dtype(dtype).kind == "f":
        a = rng.random(shape).astype(dtype)
        b = np.where(rng.random(shape) < 0.3, rng.random(shape), a).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        b = np.where(rng.random(shape) < 0.3, rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True), a)
    d = diff(a, b)
    assert_pixel_metrics(d, reference(a, b, peak))
    assert d["dtype"] == np.dtype(dtype).name and d["data_range"] == peak
    planes = [(a, b)] if channels is None else [(a[..., i], b[..., i]) for i in range(channels)]
    for got, (x, y) in zip(d["channels"], planes, strict=True):
        assert_pixel_metrics(got, reference(x, y, peak))


def test_unsigned_differences_do_not_wrap_around() -> None:
    a = np.array([[0, 255, 7]], np.uint8)
    b = np.array([[255, 0, 7]], np.uint8)
    d = diff(a, b)
    assert d["max_abs"] == 255 and d["mean_abs"] == pytest.approx(510 / 3)
    assert d["differing_pixels"] == 2


def test_data_range_sets_the_psnr_peak() -> None:
    a = np.full((12, 12), 100.0, np.float32)
    b = a.copy()
    b[3, 4] = 112.0
    rmse = math.sqrt(144 / 144)
    assert diff(a, b)["psnr"] == pytest.approx(20 * math.log10(1.0 / rmse))  # float: peak 1.0
    assert diff(a, b, data_range=255)["psnr"] == pytest.approx(20 * math.log10(255 / rmse))
    with pytest.raises(UsageError):
        diff(a, b, data_range=0)


def test_nan_at_the_same_place_is_no_difference() -> None:
    a = np.zeros((4, 4), np.float32)
    a[1, 1] = np.nan
    assert diff(a, a.copy())["identical"] is True
    b = a.copy()
    b[1, 1] = 0.5
    d = diff(a, b)
    assert d["max_abs"] == math.inf and d["differing_pixels"] == 1 and not within_tolerance(d, 1e9)
    picture = heatmap(a, b)
    factor = picture.shape[0] // 4
    assert np.array_equal(picture[factor + 1, factor + 1], inferno(255))  # shown as the top
    assert np.array_equal(picture[0, 0], inferno(0))


# -- SSIM against scikit-image --------------------------------------------------------------
def _skimage_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        channel_axis=-1 if a.ndim == 3 else None,
    )


def _pair(gray: bool, dtype: type) -> tuple[np.ndarray, np.ndarray, float]:
    a = crop("astronaut.png", 67, 83, gray=gray)
    rng = np.random.default_rng(3)
    blurred = cv2.GaussianBlur(a, (5, 5), 1.2)
    b = np.clip(blurred.astype(np.int16) + rng.integers(-12, 13, a.shape), 0, 255).astype(np.uint8)
    if dtype == np.uint8:
        return a, b, 255
    if dtype == np.uint16:
        return a.astype(np.uint16) * 257, b.astype(np.uint16) * 257, 65535
    return (a / 255.0).astype(dtype), (b / 255.0).astype(dtype), 1.0


@pytest.mark.parametrize("gray", [True, False], ids=["grey", "rgb"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_ssim_matches_scikit_image(gray: bool, dtype: type) -> None:
    a, b, peak = _pair(gray, dtype)
    expected = _skimage_ssim(a, b, peak)
    assert 0.2 < expected < 0.99  # a real, partial similarity, not a degenerate case
    d = diff(a, b)
    assert d["ssim"] == pytest.approx(expected, abs=1e-4)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-4)
    if not gray:
        for index, channel in enumerate(d["channels"]):
            assert channel["ssim"] == pytest.approx(_skimage_ssim(a[..., index], b[..., index], peak), abs=1e-4)


@pytest.mark.parametrize("shape", [(11, 11), (11, 40), (13, 12)])
def test_ssim_on_the_smallest_images_and_a_given_range(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(11)
    a = rng.random(shape) * 200
    b = a + rng.normal(0, 20, shape)
    assert ssim(a, b, data_range=200) == pytest.approx(_skimage_ssim(a, b, 200), abs=1e-4)
    assert diff(a, b, data_range=200)["ssim"] == pytest.approx(_skimage_ssim(a, b, 200), abs=1e-4)


def test_ssim_is_none_below_the_window_size() -> None:
    a = np.zeros((10, 30), np.uint8)
    b = a + 1
    d = diff(a, b)
    assert d["ssim"] is None and d["channels"][0]["ssim"] is None
    assert d["max_abs"] == 1


# -- border strip and interior ---------------------------------------------------------------
def test_a_difference_only_at_the_edges_leaves_the_interior_identical() -> None:
    a = crop("chelsea.png", 40, 50)
    b = a.copy()
    b[0, :, 0] ^= 0x10  # the top row, red: differs by 16 everywhere
    b[5:9, 49, 2] = 255 - b[5:9, 49, 2]  # four pixels of the last column, blue
    b[39, 44, :] = a[39, 44, :] // 2  # bottom row, all channels (col 44 within the 8px strip)
    d = diff(a, b)
    interior = d["interior"]
    assert interior["identical"] is True and interior["psnr"] is None and interior["max_abs"] == 0
    assert interior["pixels"] == (40 - 16) * (50 - 16)
    border = d["border"]
    assert border["width"] == 8 and border["pixels"] == 40 * 50 - 24 * 34
    mask = np.ones((40, 50), bool)
    mask[8:32, 8:42] = False
    want = reference(a[mask][:, None, :], b[mask][:, None, :], 255)  # the strip as an N x 1 image
    want["differing_fraction"] = want["differing_pixels"] / border["pixels"]
    assert_pixel_metrics(border, want)
    assert border["differing_pixels"] == d["differing_pixels"]
    changed = int(np.count_nonzero(a[0, :, 0] != b[0, :, 0]))
    assert d["differing_pixels"] == changed + 4 + int(np.any(a[39, 44] != b[39, 44]))


def test_a_difference_only_inside_leaves_the_border_identical() -> None:
    a = np.zeros((30, 30, 3), np.uint16)
    b = a.copy()
    b[15, 15] = (1000, 0, 3)
    d = diff(a, b, border_width=3)
    assert d["border"]["identical"] and d["border"]["pixels"] == 900 - 24 * 24 and d["border"]["width"] == 3
    assert d["interior"]["max_abs"] == 1000 and d["interior"]["differing_pixels"] == 1
    assert d["interior"]["rmse"] == pytest.approx(math.sqrt((1000**2 + 9) / (24 * 24 * 3)))


def test_border_width_zero_and_an_image_too_small_for_an_interior() -> None:
    a = np.zeros((16, 40), np.uint8)
    b = a.copy()
    b[8, 20] = 9
    d0 = diff(a, b, border_width=0)
    assert d0["border"] is None and d0["interior"]["pixels"] == 640 and d0["interior"]["max_abs"] == 9
    d8 = diff(a, b)  # 16 rows = two strips of 8: no interior
    assert d8["interior"] is None and d8["border"]["pixels"] == 640 and d8["border"]["max_abs"] == 9
    one_row = diff(np.zeros((17, 40), np.uint8), np.zeros((17, 40), np.uint8))  # 17 = 8 + 1 + 8
    assert one_row["interior"]["pixels"] == 1 * 24 and one_row["border"]["pixels"] == 17 * 40 - 24
    with pytest.raises(UsageError):
        diff(a, b, border_width=-1)


# -- refusals and the tolerance -----------------------------------------------------------
def test_shapes_or_dtypes_that_differ_are_a_runtime_error_naming_both() -> None:
    with pytest.raises(ImageMismatchError) as caught:
        diff(np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), np.uint8), names=("a.png", "b.png"))
    message = str(caught.value)
    assert caught.value.exit_code == 1 and isinstance(caught.value, ImgconvError)
    assert "shapes" in message and "4x5x3 uint8" in message and "4x5 uint8" in message
    assert "a.png" in message and "b.png" in message
    with pytest.raises(ImageMismatchError, match="dtypes.*4x5 uint8.*4x5 uint16"):
        diff(np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint16))
    with pytest.raises(ImageMismatchError):
        heatmap(np.zeros((4, 5), np.uint8), np.zeros((5, 4), np.uint8))


def test_within_tolerance() -> None:
    a = np.zeros((3, 3), np.uint8)
    b = a.copy()
    b[1, 1] = 4
    d = diff(a, b)
    assert within_tolerance(d, 4) and not within_tolerance(d, 3.999) and not within_tolerance(d, 0)
    assert within_tolerance(diff(a, a), 0)
    for bad in (-1, float("nan")):
        with pytest.raises(UsageError):
            within_tolerance(d, bad)


def test_the_public_api() -> None:
    import imgconv

    a = np.zeros((3, 3), np.uint8)
    assert imgconv.diff(a, a)["identical"] is True
    assert imgconv.within_tolerance is within_tolerance and imgconv.heatmap is heatmap


# -- the heat map ---------------------------------------------------------------------------
def decode_png(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def test_the_heat_map_is_hottest_where_the_difference_was_put() -> None:
    from imgconv.imageio import encode_image

    a = crop("coffee.png", 300, 200)
    b = a.copy()
    b[100:105, 30:35, 2] = 255 - b[100:105, 30:35, 2]  # the largest differences
    b[200, 150, 0] = np.uint8(int(a[200, 150, 0]) ^ 1)  # a difference of one level
    top = int(np.max(np.abs(a.astype(int) - b.astype(int))))
    picture = decode_png(encode_image(heatmap(a, b), "png", channel_order="bgr"))
    assert picture.shape[0] == 300 and picture.shape[1] > 200 and picture.shape[2] == 3
    region = picture[:, :200].astype(int)
    hot = np.argwhere(np.all(region == inferno(255), axis=2))
    assert len(hot) >= 1 and all(100 <= r < 105 and 30 <= c < 35 for r, c in hot)
    for r, c in [(r, c) for r in range(100, 105) for c in range(30, 35)]:
        level = round(abs(int(a[r, c, 2]) - int(b[r, c, 2])) / top * 255)
        assert np.array_equal(picture[r, c], inferno(level))
    assert np.array_equal(picture[200, 150], inferno(round(255 / top)))
    untouched = np.ones((300, 200), bool)
    untouched[100:105, 30:35] = False
    untouched[200, 150] = False
    assert np.all(region[untouched] == inferno(0))  # no difference: the bottom colour
    bar = picture[:, 200:]
    assert np.any(np.all(bar == inferno(255), axis=2)) and np.any(np.all(bar == inferno(0), axis=2))
    assert np.any(np.all(bar > 200, axis=2))  # the labels' light ink


def test_the_heat_map_of_identical_images_is_black_and_small_images_are_enlarged() -> None:
    a = np.full((10, 12, 4), 77, np.uint8)
    same = heatmap(a, a.copy())
    assert same.shape[0] >= 256  # enlarged so the scale can be read
    factor = same.shape[0] // 10
    assert same.shape[0] == 10 * factor
    assert np.all(same[:, : 12 * factor] == inferno(0)) and inferno(0).max() <= 5
    b = a.copy()
    b[2, 3, 3] = 0  # alpha differs, at one pixel
    picture = heatmap(a, b)
    hot = np.all(picture[:, : 12 * factor] == inferno(255), axis=2)
    expected = np.zeros((10 * factor, 12 * factor), bool)
    expected[2 * factor : 3 * factor, 3 * factor : 4 * factor] = True
    assert np.array_equal(hot, expected)


# -- the HTML report ----------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        for key in ("href", "src", "action"):
            if values.get(key) and tag != "img":
                self.links.append(values[key])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def _data_uri_png(uri: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    return decode_png(base64.b64decode(uri[len(prefix) :], validate=True))


def test_the_html_report_is_self_contained_and_names_the_metrics() -> None:
    a = crop("astronaut.png", 64, 48)
    b = a.copy()
    b[60:64, :, 1] = 0  # the bottom strip
    names = ["<script>alert(1)</script>.png", 'b "quoted" & co.png']
    metrics = diff(a, b)
    picture = heatmap(a, b)
    page = html_report(a, b, metrics, picture, names, tolerance=3)
    parsed = _parse(page)
    assert parsed.tags[0] == "html" and "script" not in parsed.tags and "link" not in parsed.tags
    assert not re.search(r"https?://", page) and "url(" not in page and "@import" not in page
    assert parsed.links == []
    shown = [_data_uri_png(uri) for uri in parsed.images]
    assert len(shown) == 3
    assert np.array_equal(shown[0], a[:, :, ::-1]) and np.array_equal(shown[1], b[:, :, ::-1])
    assert np.array_equal(shown[2], picture)
    text = " ".join(parsed.text)
    assert names[0] in text and names[1] in text  # shown as text...
    assert "<script>alert" not in page and "&lt;script&gt;" in page  # ...because escaped
    for word in ("max_abs", "mean_abs", "rmse", "psnr", "ssim", "differing_pixels", "border", "interior", "red", "green", "blue"):
        assert word in text, word
    assert f"{metrics['differing_pixels']:,}" in text and "beyond the tolerance 3" in text


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_the_html_report_shows_deep_images_in_eight_bits(dtype: type) -> None:
    base = crop("camera.png", 20, 30, gray=True)
    a = base.astype(np.uint16) * 257 if dtype == np.uint16 else (base / 255.0).astype(np.float32)
    b = a.copy()
    b[5, 5] = 0
    page = html_report(a, b, diff(a, b), heatmap(a, b), ["a.tiff", "b.tiff"])
    shown = [_data_uri_png(uri) for uri in _parse(page).images]
    assert shown[0].dtype == np.uint8 and np.array_equal(shown[0], base)
    header = page.split("<body>")[1].split("</header>")[0]
    assert "Different: 1 pixel " in header and "(0.1667&nbsp;%)" in header  # 1 of 600


# -- the command ----------------------------------------------------------------------------
def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", *args], capture_output=True, timeout=60)


def write_png(path: Path, image: np.ndarray) -> Path:
    ok, data = cv2.imencode(".png", image)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    err = proc.stderr.decode()
    assert err.startswith("imgconv: ") and err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    a = rng.integers(0, 200, (24, 32, 3), dtype=np.uint8)
    b = a.copy()
    b[3, 4, 0] += 7
    b[20, 30] += 2
    return write_png(tmp_path / "a.png", a), write_png(tmp_path / "b.png", b), a, b


def test_cli_json_and_exit_codes(pair: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    path_a, path_b, a, b = pair
    proc = run("diff", str(path_a), str(path_b), "--json")
    assert proc.returncode == 1 and proc.stderr == b""
    out = json.loads(proc.stdout)
    assert CONTRACT_KEYS <= set(out)
    n = 24 * 32 * 3
    assert out["max_abs"] == 7 and out["differing_pixels"] == 2 and out["identical"] is False
    assert out["rmse"] == pytest.approx(math.sqrt((49 + 3 * 4) / n))
    assert out["shape"] == [24, 32, 3] and out["dtype"] == "uint8"
    assert run("diff", str(path_a), str(path_b), "--json", "--tolerance", "7").returncode == 0
    assert run("diff", str(path_a), str(path_b), "--tolerance", "6.5").returncode == 1
    same = run("diff", str(path_a), str(path_a), "--json")
    assert same.returncode == 0 and same.stderr == b""
    assert json.loads(same.stdout)["psnr"] is None and json.loads(same.stdout)["identical"] is True


def test_cli_table(pair: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    path_a, path_b, _, _ = pair
    proc = run("diff", str(path_a), str(path_b), "--border-width", "2")
    assert proc.returncode == 1 and proc.stderr == b""
    out = proc.stdout.decode()
    for word in ("max_abs", "rmse", "psnr", "ssim", "red", "border 2px", "interior", "beyond the tolerance 0"):
        assert word in out, word


def test_cli_writes_the_heat_map_and_the_report(pair: tuple[Path, Path, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    path_a, path_b, _, _ = pair
    heat = tmp_path / "heat.png"
    page = tmp_path / "report.html"
    heat.write_bytes(b"old")  # replaced: these are outputs of the comparison, not inputs
    proc = run("diff", str(path_a), str(path_b), "--heatmap", str(heat), "--report", str(page), "--tolerance", "10", "--json")
    assert proc.returncode == 0 and proc.stderr == b""
    assert json.loads(proc.stdout)["max_abs"] == 7
    picture = decode_png(heat.read_bytes())
    assert picture.shape[0] >= 256 and picture.dtype == np.uint8
    factor = picture.shape[0] // 24
    assert np.array_equal(picture[3 * factor, 4 * factor], inferno(255))
    parsed = _parse(page.read_text(encoding="utf-8"))
    assert len(parsed.images) == 3 and np.array_equal(_data_uri_png(parsed.images[2]), picture)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "heat.png", "report.html"]


def test_cli_refuses_to_write_over_an_input(pair: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    path_a, path_b, _, _ = pair
    before = path_b.read_bytes()
    proc = run("diff", str(path_a), str(path_b), "--heatmap", str(path_b))
    assert proc.returncode == 2 and proc.stdout == b""
    one_line_error(proc, "--heatmap", "input B")
    assert path_b.read_bytes() == before
    proc = run("diff", str(path_a), str(path_b), "--report", str(path_a.parent / "." / path_a.name))
    assert proc.returncode == 2
    one_line_error(proc, "--report", "input A")


@pytest.mark.parametrize(
    "make_b, fragments",
    [
        (lambda d: d / "missing.png", ["missing.png", "no such file"]),
        (lambda d: (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken") and d / "broken.png", ["broken.png", "truncated PNG"]),
        (lambda d: write_png(d / "grey.png", np.zeros((24, 32), np.uint8)), ["cannot compare", "24x32x3 uint8", "24x32 uint8"]),
        (lambda d: write_png(d / "deep.png", np.zeros((24, 32, 3), np.uint16)), ["cannot compare", "dtypes", "uint16"]),
    ],
    ids=["missing", "undecodable", "shape", "dtype"],
)
def test_cli_runtime_errors_are_one_line_exit_1(pair: tuple[Path, Path, np.ndarray, np.ndarray], tmp_path: Path, make_b, fragments) -> None:
    path_a = pair[0]
    proc = run("diff", str(path_a), str(make_b(tmp_path)), "--json")
    assert proc.returncode == 1 and proc.stdout == b""
    one_line_error(proc, *fragments)


def test_cli_usage_errors_and_help(pair: tuple[Path, Path, np.ndarray, np.ndarray]) -> None:
    path_a, path_b, _, _ = pair
    for args in (["--tolerance", "-1"], ["--border-width", "-2"], ["--data-range", "0"], ["--heatmap", "out"]):
        proc = run("diff", str(path_a), str(path_b), *args)
        assert proc.returncode == 2 and proc.stdout == b"", args
        one_line_error(proc)
    helped = run("diff", "--help")
    assert helped.returncode == 0 and "Example: imgconv diff" in helped.stdout.decode()
