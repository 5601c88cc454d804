"""Property tests of the two parsers that read what users hand in: kernels and image bytes.

Whatever the input, ``imgconv.load_kernel`` returns a valid :class:`~imgconv.kernels.Kernel`
or raises the library's own :class:`~imgconv.errors.ImgconvError` (a one-line usage error),
and ``imgconv.imageio.decode_image`` returns a uint8 / uint16 / float32 array of 2 or 3
dimensions or raises ``ImgconvError``: nothing else escapes, and no Python warning is raised
either (the CLI would print it on stderr next to its one-line error). Spec strings of the
grammar are fuzzed in ``tests/test_kernels.py``; here: kernel *files* (JSON documents,
libvips matrices, mutated bytes of the repository's ``kernels/*.json``), ImageMagick-style
strings, raw argv bytes, and mutated PNG / JPEG / TIFF / BMP / WebP / GIF bytes, also
through ``imgconv apply`` on a folder. ``tools/fuzz.py`` runs the same idea for minutes.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

import imgconv
from imgconv import kernels as K
from imgconv.cli import main
from imgconv.errors import ImgconvError
from imgconv.imageio import decode_image

ROOT = Path(__file__).resolve().parent.parent
FLOAT32_MAX = float(np.finfo(np.float32).max)


def fast(examples: int, *checks: HealthCheck) -> settings:
    """A few seconds at most: ``examples`` inputs, no deadline, no example database."""
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, *checks]
    )


def no_warnings(caught: list) -> None:
    shown = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not shown, [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in shown]


# -- kernels ------------------------------------------------------------------------------------
def kernel_or_clean_error(load) -> K.Kernel | None:  # noqa: ANN001
    """``load()`` gives a valid Kernel or a one-line ImgconvError with exit code 2."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kernel = load()
        except ImgconvError as error:
            assert error.exit_code == 2, error  # an invalid kernel is a usage error
            message = str(error)
            assert message and "\n" not in message
            kernel = None
    no_warnings(caught)
    if kernel is None:
        return None
    assert isinstance(kernel, K.Kernel)
    for part in (kernel, *kernel.parts, *kernel.channels):
        rows, cols = part.shape
        assert 1 <= rows <= K.MAX_KERNEL_SIDE and 1 <= cols <= K.MAX_KERNEL_SIDE
        effective = part.effective  # what the engines take, as float32
        assert np.all(np.isfinite(effective)) and np.abs(effective).max() <= FLOAT32_MAX
        assert 0 <= part.anchor[0] < cols and 0 <= part.anchor[1] < rows
        assert math.isfinite(part.offset)
    return kernel


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_file(folder: Path, name: str, data: bytes):  # noqa: ANN201
    path = folder / name
    path.write_bytes(data)
    return lambda: imgconv.load_kernel(str(path))


_AWKWARD_NUMBERS = st.sampled_from(
    [0, -0.0, 1, -1, 0.5, 2**63, 10**19, 10**40, 3.4028234663852886e38, 3.5e38, -1e39, 1e308, 1e-300, 5e-324,
     float("nan"), float("inf"), -float("inf")]
)
_NUMBERS = st.one_of(
    _AWKWARD_NUMBERS,
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**400), 10**400),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, st.text(max_size=8), st.sampled_from(K.kernel_names()))
_KEYS = st.one_of(st.sampled_from(K.JSON_KEYS + K.DERIVED_KEYS), st.text(max_size=6))
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(_KEYS, children, max_size=6)),
    max_leaves=40,
)
_PLAIN = st.one_of(st.integers(-9, 9), st.floats(-10, 10))


@st.composite
def _rectangular(draw) -> list[list]:  # noqa: ANN001
    """A valid matrix of plain numbers, now and then with one awkward value in it."""
    cols = draw(st.integers(1, 4))
    matrix = draw(st.lists(st.lists(_PLAIN, min_size=cols, max_size=cols), min_size=1, max_size=4))
    if draw(st.booleans()):
        row, col = draw(st.integers(0, len(matrix) - 1)), draw(st.integers(0, cols - 1))
        matrix[row][col] = draw(_NUMBERS)
    return matrix


_RECTANGULAR = _rectangular()
_MATRIX = st.one_of(_RECTANGULAR, _RECTANGULAR, _RECTANGULAR, st.lists(st.lists(_NUMBERS, max_size=5), max_size=5))
_VALID_SINGLE = st.fixed_dictionaries(
    {"kernel": _RECTANGULAR},
    optional={
        "divisor": st.one_of(_PLAIN, st.sampled_from([1e-300, 5e-324, 1e-45, 1e-38, 2.2e-308]), _AWKWARD_NUMBERS),
        "offset": st.one_of(_PLAIN, _AWKWARD_NUMBERS),
        "anchor": st.lists(st.integers(-1, 4), min_size=2, max_size=2),
        "normalize": st.booleans(),
        "name": st.text(max_size=8),
        "description": st.text(max_size=8),
    },
)


@st.composite
def _perturbed(draw) -> dict:  # noqa: ANN001
    """A kernel object that is valid but for one key (or an unknown one) set to anything."""
    document = draw(_VALID_SINGLE)
    document[draw(_KEYS)] = draw(_JSON)
    return document


_SINGLE = st.one_of(_VALID_SINGLE, _perturbed())
_PART = st.one_of(_MATRIX, _SINGLE, st.sampled_from(["sobel-x", "sobel-y", "blur", "gaussian:size=3", "kirsch", "nope"]), _JSON)
_PER_CHANNEL = st.fixed_dictionaries(
    {"channels": st.lists(_PART, max_size=5)},
    optional={"pointwise": st.one_of(_MATRIX, _JSON), "kernel": _JSON, "divisor": _NUMBERS, "name": st.text(max_size=8)},
)
_POINTWISE = st.fixed_dictionaries({"pointwise": st.one_of(_MATRIX, _JSON)}, optional={"kernel": _MATRIX})
_COMBINED = st.fixed_dictionaries(
    {"kernels": st.lists(_PART, max_size=5), "combine": st.one_of(st.sampled_from(K.COMBINE_MODES), _JSON)},
    optional={"anchor": _JSON, "kernel": _JSON, "channels": _JSON, "name": st.text(max_size=8)},
)
_KERNEL_OBJECT = st.one_of(_perturbed(), _PER_CHANNEL, _POINTWISE, _COMBINED)


def _dumps(document, indent, bom: bool) -> bytes:  # noqa: ANN001
    text = json.dumps(document, indent=indent)  # NaN / Infinity come out as those tokens
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


@fast(150)
@given(st.one_of(_JSON, _KERNEL_OBJECT, _KERNEL_OBJECT), st.sampled_from([None, 1]), st.booleans())
def test_random_json_kernel_files(scratch: Path, document, indent, bom: bool) -> None:  # noqa: ANN001
    kernel_or_clean_error(load_file(scratch, "k.json", _dumps(document, indent, bom)))


@fast(150)
@given(_VALID_SINGLE, st.sampled_from([None, 1]), st.booleans())
def test_kernel_files_with_awkward_numbers(scratch: Path, document: dict, indent, bom: bool) -> None:  # noqa: ANN001
    kernel = kernel_or_clean_error(load_file(scratch, "k.json", _dumps(document, indent, bom)))
    if kernel is not None:  # the weights as written, whatever the divisor
        assert kernel.weights.tolist() == [[float(v) for v in row] for row in document["kernel"]]


_MAT_TOKENS = st.one_of(
    st.integers(-3, 600).map(str),
    st.floats(-1e6, 1e6).map(repr),
    st.sampled_from(["1e309", "-1e39", "3.5e38", "1e-320", "nan", "inf", "0x3", "1,5", "1_0", "-", "+2", ".5", "5.", "e3", "", "\x00"]),
)
_MAT_SEPARATORS = st.sampled_from([" ", ",", "\t", '"', ", ", "  ", '" "', ";"])


@st.composite
def vips_matrix(draw) -> str:  # noqa: ANN001
    """``W H [scale [offset]]`` then rows: mostly the right shape, numbers sometimes awkward."""
    width, height = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    header = [str(width), str(height)] + draw(st.lists(_MAT_TOKENS, max_size=3))
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.lists(_MAT_TOKENS, max_size=5))
    sep = draw(_MAT_SEPARATORS)

    def cell():  # noqa: ANN202
        return draw(st.one_of(st.integers(-9, 9).map(str), st.integers(-9, 9).map(str), _MAT_TOKENS))

    rows = [[cell() for _ in range(width + draw(st.sampled_from([0, 0, 0, 0, -1, 1])))] for _ in range(height + draw(st.sampled_from([0, 0, 0, -1, 1])))]
    newline = draw(st.sampled_from(["\n", "\r\n", "\n\n", "\r"]))
    return newline.join(sep.join(line) for line in [header, *rows]) + draw(st.sampled_from(["", "\n", "\n\n  \n", "\nextra"]))


@fast(200)
@given(vips_matrix(), st.sampled_from([".mat", ".con"]))
def test_libvips_matrix_files(scratch: Path, text: str, suffix: str) -> None:
    kernel = kernel_or_clean_error(load_file(scratch, "k" + suffix, text.encode()))
    if kernel is not None and suffix == ".con":
        assert np.array_equal(kernel.weights, np.round(kernel.weights))  # .con: whole numbers only


# mutations of bytes: (kind, where as a fraction of the length, a byte, a few bytes, a length)
_MUTATION = st.tuples(
    st.sampled_from(["flip", "replace", "truncate", "insert", "duplicate", "delete", "int32"]),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 255),
    st.binary(min_size=1, max_size=16),
    st.integers(1, 64),
)
_INT32 = [0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buf = bytearray(data)
    for kind, where, byte, chunk, length in mutations:
        if not buf:
            buf += chunk
            continue
        i = int(where * len(buf))
        if kind == "flip":
            buf[i] ^= 1 << (byte % 8)
        elif kind == "replace":
            buf[i] = byte
        elif kind == "truncate":
            del buf[i:]
        elif kind == "insert":
            buf[i:i] = chunk
        elif kind == "duplicate":
            buf[i:i] = buf[max(0, i - length) : i] or chunk
        elif kind == "delete":
            del buf[i : i + length]
        else:  # a 32-bit field (a length, a width) set to an extreme, big- or little-endian
            buf[i : i + 4] = _INT32[byte % len(_INT32)].to_bytes(4, "big" if byte & 0x80 else "little")
    return bytes(buf)


KERNEL_FILES = sorted((ROOT / "kernels").glob("*.json"))


@fast(300)
@given(st.sampled_from(KERNEL_FILES), st.lists(_MUTATION, min_size=1, max_size=4))
def test_mutated_repository_kernel_files(scratch: Path, source: Path, mutations: list[tuple]) -> None:
    kernel_or_clean_error(load_file(scratch, source.name, mutate(source.read_bytes(), mutations)))


def test_the_repository_kernel_files_are_the_seeds() -> None:
    assert len(KERNEL_FILES) >= 20  # the fuzzing above has something real to mutate
    for path in KERNEL_FILES:
        assert kernel_or_clean_error(lambda path=path: imgconv.load_kernel(str(path))) is not None


_MAGICK_VALUE = st.one_of(
    st.integers(-9, 9).map(str), st.integers(-9, 9).map(str), st.sampled_from(["nan", "NaN", "-", "1e309", "3.5e38", "0.5", ".5", "x", ""])
)


@st.composite
def magick_string(draw) -> str:  # noqa: ANN001
    """ImageMagick ``WxH[+X+Y][flags]: values`` with sizes, origins and values near the edges."""
    side = st.one_of(st.integers(0, 6).map(str), st.sampled_from(["513", "1000000", "0" * 4400 + "3", "9" * 30]))
    width, height = draw(side), draw(side)
    geometry = width + draw(st.sampled_from(["x" + height, "X" + height, "", " x " + height]))
    if draw(st.booleans()):
        geometry += "".join(draw(st.sampled_from(["+", "-"])) + draw(side) for _ in range(2))
    geometry += draw(st.sampled_from(["", "", "", "@", ">", "!", "<"]))
    try:
        count = int(width) * int(height or width) if len(width) < 7 and len(height) < 7 else 4
    except ValueError:
        count = 4
    count = min(count, 40) + draw(st.sampled_from([0, 0, 0, -1, 1]))
    values = [draw(_MAGICK_VALUE) for _ in range(max(0, count))]
    body = draw(st.sampled_from([",", " ", ", ", " , ", ",,"])).join(values)
    return f"{geometry}:{draw(st.sampled_from([' ', '', '  ']))}{body}{draw(st.sampled_from(['', ';', '; 3: 1', ':']))}"


@fast(300)
@given(magick_string())
def test_imagemagick_style_strings(spec: str) -> None:
    kernel_or_clean_error(lambda: imgconv.load_kernel(spec))


@fast(300)
@given(st.binary(max_size=40))
def test_random_argv_bytes(data: bytes) -> None:
    spec = data.decode("utf-8", "surrogateescape")  # how Python hands a non-UTF-8 argv to the CLI
    kernel_or_clean_error(lambda: imgconv.load_kernel(spec))


# -- images -------------------------------------------------------------------------------------
def _image_seeds() -> dict[str, bytes]:
    bgr = np.ascontiguousarray(cv2.imread(str(ROOT / "samples" / "chelsea.png"), cv2.IMREAD_COLOR)[40:64, 60:92])
    assert bgr.shape == (24, 32, 3)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    bgra[::3, ::2, 3] = 0
    seeds: dict[str, bytes] = {}

    def cv(name: str, ext: str, image: np.ndarray, *params: int) -> None:
        ok, data = cv2.imencode(ext, image, list(params))
        assert ok, name
        seeds[name] = data.tobytes()

    def pil(name: str, image: Image.Image, fmt: str, **options) -> None:  # noqa: ANN003
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        seeds[name] = buffer.getvalue()

    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    cv("png", ".png", bgr)
    cv("png-16", ".png", bgr.astype(np.uint16) * 257)
    cv("png-rgba", ".png", bgra)
    pil("png-palette", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG")
    cv("jpeg", ".jpg", bgr, cv2.IMWRITE_JPEG_QUALITY, 80)
    pil("jpeg-progressive", rgb, "JPEG", progressive=True, quality=70)
    cv("tiff", ".tiff", bgr)
    cv("tiff-float", ".tiff", bgr.astype(np.float32) / 255)
    pil("tiff-lzw", rgb, "TIFF", compression="tiff_lzw")
    cv("bmp", ".bmp", bgr)
    cv("bmp-gray", ".bmp", gray)
    cv("webp", ".webp", bgr, cv2.IMWRITE_WEBP_QUALITY, 80)
    cv("webp-lossless", ".webp", bgra, cv2.IMWRITE_WEBP_QUALITY, 101)
    pil("gif", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "GIF")
    return seeds


IMAGE_SEEDS = _image_seeds()
FAMILIES = {
    "png": ["png", "png-16", "png-rgba", "png-palette"],
    "jpeg": ["jpeg", "jpeg-progressive"],
    "tiff": ["tiff", "tiff-float", "tiff-lzw"],
    "bmp": ["bmp", "bmp-gray"],
    "webp": ["webp", "webp-lossless"],
    "gif": ["gif"],
}


def array_or_clean_error(data: bytes) -> np.ndarray | None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = decode_image(data, name="x")
        except ImgconvError as error:
            assert str(error).startswith("x: ") and "\n" not in str(error)  # names the file, one line
            image = None
    no_warnings(caught)
    if image is not None:
        assert isinstance(image, np.ndarray)
        assert image.dtype in (np.uint8, np.uint16, np.float32, np.float64), image.dtype
        assert image.ndim in (2, 3) and image.size > 0, image.shape
        assert image.ndim == 2 or image.shape[2] in (3, 4), image.shape
    return image


@pytest.mark.parametrize("seed", sorted(IMAGE_SEEDS))
def test_every_seed_image_decodes_as_encoded(seed: str) -> None:
    image = array_or_clean_error(IMAGE_SEEDS[seed])
    assert image is not None and image.shape[:2] == (24, 32), seed  # the fuzzing starts from valid files


@pytest.mark.parametrize("family", sorted(FAMILIES))
@fast(120)
@given(data=st.data())
def test_mutated_images_decode_or_fail_cleanly(family: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(FAMILIES[family]), label="seed")
    mutations = data.draw(st.lists(_MUTATION, min_size=1, max_size=4), label="mutations")
    array_or_clean_error(mutate(IMAGE_SEEDS[seed], mutations))


# -- the same through the CLI: one batch of damaged files ---------------------------------------
BATCH_SEEDS = ["png", "png-16", "jpeg", "tiff", "bmp", "webp", "gif"]


@settings(fast(4, HealthCheck.function_scoped_fixture), phases=[Phase.explicit, Phase.generate])  # no shrinking: a run costs ~1 s
@given(st.lists(st.lists(_MUTATION, min_size=1, max_size=3), min_size=len(BATCH_SEEDS), max_size=len(BATCH_SEEDS)))
def test_a_batch_of_damaged_images(tmp_path_factory: pytest.TempPathFactory, capfd: pytest.CaptureFixture, mutations) -> None:  # noqa: ANN001
    root = tmp_path_factory.mktemp("batch")
    photos, out = root / "in", root / "out"
    photos.mkdir()
    names = []
    for i, (seed, muts) in enumerate(zip(BATCH_SEEDS, mutations)):
        ext = {"jpeg": "jpg", "png-16": "png"}.get(seed, seed)
        name = f"m{i}.{ext}"
        (photos / name).write_bytes(mutate(IMAGE_SEEDS[seed], muts))
        names.append(name)
    (photos / "intact.png").write_bytes(IMAGE_SEEDS["png"])  # one file that must go through
    names.append("intact.png")
    capfd.readouterr()
    code = main(["apply", "blur", str(photos), "-o", str(out), "--quiet"])
    captured = capfd.readouterr()  # file descriptors: worker processes and native codecs included
    assert "Traceback" not in captured.out + captured.err
    assert captured.out == ""
    assert code in (0, 1), captured.err
    lines = captured.err.splitlines()
    assert all(line.startswith("imgconv: ") for line in lines), captured.err  # nothing but error lines
    outputs = sorted(p.name for p in out.iterdir())
    assert not [n for n in outputs if n.startswith(".") or n.endswith(".part")], outputs  # no temporaries
    for name in names:
        written = [o for o in outputs if o == name or o.startswith(name + ".")]  # a GIF becomes m6.gif.png
        named = [line for line in lines if line.startswith(f"imgconv: {photos / name}: ")]
        assert len(written) + len(named) == 1, (name, written, named, captured.err)  # done, or one line why
        for output in written:
            assert cv2.imdecode(np.fromfile(out / output, np.uint8), cv2.IMREAD_UNCHANGED) is not None, output
    assert len(lines) == len(names) - len(outputs)  # no other lines
    assert "intact.png" in outputs
    assert (code == 0) == (len(outputs) == len(names))
