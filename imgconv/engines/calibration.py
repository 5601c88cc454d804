"""What the auto engine's cost model knows of a machine: measured, stored, loaded.

The auto engine (:mod:`.auto`) compares the estimated time of the cv2 engine's call with the
numpy engine's. The numpy engine estimates its own routes (:mod:`.numpy.tuning`); OpenCV's
functions are estimated here, per pixel type, from three numbers each:

* ``filter2d_ns``: ns per image element and non-zero weight of ``cv2.filter2D``'s direct
  path, below and from :data:`OPENCV_THREADS_FROM` pixels (OpenCV shares out only images
  of 2**20 pixels and more: 1024x1024 8-bit ran at half the ns an element of 1024x1023);
* ``sep_ns``: ns per element, and per element and tap, of ``cv2.sepFilter2D``, likewise
  below and from that size (four numbers);
* ``numpy_scale``: the numpy engine's measured time over its own estimate;

and ``fixed_ns`` per call. :data:`BUILT_IN` holds the numbers ``imgconv bench --calibrate``
measured on the machine imgconv is developed on (2 cores, OpenCV 5.1, numpy 2.4); the same
command measures them on the user's machine (:func:`measure`, about 10 s) and stores them
in the user's cache folder (:func:`calibration_path`), where :func:`load` finds them. A
file that cannot be read as one is ignored with one warning, never an error.
"""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImgconvWarning

__all__ = ["Calibration", "BUILT_IN", "calibration_path", "load", "save", "measure", "DTYPES", "OPENCV_THREADS_FROM"]

DTYPES = ("uint8", "uint16", "float64")
OPENCV_THREADS_FROM = 1 << 20
"""Pixels from which OpenCV's filter2D and sepFilter2D run on its threads (measured, OpenCV 5.1)."""
"""The pixel types the auto engine may give the numpy engine (where its results are the
cv2 engine's bit for bit), and so the ones calibrated."""

VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """The cost model's numbers for one machine (see the module docstring)."""

    filter2d_ns: dict[str, tuple[float, float]]
    sep_ns: dict[str, tuple[float, float, float, float]]
    numpy_scale: dict[str, float]
    fixed_ns: float = 20_000.0
    source: str = field(default="built-in", compare=False)

    def to_json(self) -> dict:
        data = asdict(self)
        del data["source"]
        return {"version": VERSION, **data}

    @classmethod
    def from_json(cls, data: object, source: str) -> "Calibration":
        """The calibration in ``data`` (a parsed file); a ``ValueError`` saying what is wrong."""
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} calibration")

        def numbers(key: str, width: int) -> dict:
            table = data.get(key)
            if not isinstance(table, dict) or set(table) != set(DTYPES):
                raise ValueError(f"{key!r} must give {', '.join(DTYPES)}")
            out = {}
            for name, value in table.items():
                values = value if isinstance(value, list) else [value]
                if len(values) != width or not all(_positive(v) for v in values):
                    raise ValueError(f"{key!r} of {name}: expected {width} positive number(s), got {value!r}")
                out[name] = tuple(float(v) for v in values) if width > 1 else float(values[0])
            return out

        fixed = data.get("fixed_ns")
        if not _positive(fixed):
            raise ValueError(f"'fixed_ns' must be a positive number, got {fixed!r}")
        return cls(numbers("filter2d_ns", 2), numbers("sep_ns", 4), numbers("numpy_scale", 1), float(fixed), source)


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e12


# Measured by `imgconv bench --calibrate` on the development machine (2 cores, x86-64 AVX2,
# OpenCV 5.1.0, numpy 2.4, OpenBLAS on one thread as the CLI runs it), 2026-12-05; the
# benchmark that checks the choices they make is benchmarks/auto.py.
BUILT_IN = Calibration(
    filter2d_ns={"uint8": (0.12, 0.062), "uint16": (0.45, 0.23), "float64": (0.148, 0.081)},
    sep_ns={"uint8": (0.086, 0.041, 0.18, 0.019), "uint16": (0.072, 0.35, 0.39, 0.18),
            "float64": (0.56, 0.13, 0.76, 0.063)},
    numpy_scale={"uint8": 1.24, "uint16": 0.86, "float64": 0.53},
    fixed_ns=4500.0,
)


def calibration_path() -> Path:
    """Where the calibration is stored: ``$IMGCONV_CALIBRATION`` if set, else
    ``calibration.json`` in the user's cache folder (``$XDG_CACHE_HOME/imgconv``,
    ``~/.cache/imgconv``; ``%LOCALAPPDATA%\\imgconv`` on Windows)."""
    named = os.environ.get("IMGCONV_CALIBRATION")
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
    return Path(base or Path.home() / ".cache") / "imgconv" / "calibration.json"


def load() -> Calibration:
    """The stored calibration, or :data:`BUILT_IN` when there is none; a file that is not a
    calibration is ignored with one :class:`~imgconv.errors.ImgconvWarning`. Read once per
    process and path (:func:`save` reads it again)."""
    environ = os.environ
    return _load_from((environ.get("IMGCONV_CALIBRATION"), environ.get("XDG_CACHE_HOME"), environ.get("LOCALAPPDATA")))


@functools.lru_cache(maxsize=4)
def _load_from(settings: tuple) -> Calibration:  # noqa: ARG001 - the variables calibration_path reads
    return _load(str(calibration_path()))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Calibration:
    try:
        with open(path, encoding="utf-8") as handle:
            return Calibration.from_json(json.load(handle), path)
    except FileNotFoundError:
        return BUILT_IN
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        warnings.warn(ImgconvWarning(f"{path}: not a calibration file ({reason}); using the built-in costs "
                                     "(imgconv bench --calibrate writes a new one)"), stacklevel=2)
        return BUILT_IN


def save(calibration: Calibration, path: Path | None = None) -> Path:
    """Write ``calibration`` (atomically) to ``path`` or :func:`calibration_path`."""
    path = path or calibration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(calibration.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    _load.cache_clear()
    _load_from.cache_clear()
    return path


def measure(budget: float = 0.3) -> Calibration:
    """Time ``cv2.filter2D``, ``cv2.sepFilter2D`` and the numpy engine on this machine
    (RGB images of each of :data:`DTYPES`, 700x700 and 1024x1024: below and from
    :data:`OPENCV_THREADS_FROM`; a few kernels each; ``budget`` seconds a timing) and fit
    the cost model's numbers."""
    import statistics  # here: it imports fractions (5 ms), which a run of the CLI need not load

    from .._cv import cv2
    from ..borders import get_border
    from .base import CorrelationSpec
    from .numpy import NumpyEngine

    cv = cv2()
    rng = np.random.default_rng(7)
    numpy_engine = NumpyEngine()
    filter2d, sep, scale = {}, {}, {}
    fixed = _median_time(lambda: cv.filter2D(np.zeros((4, 4), np.uint8), -1, np.ones((3, 3), np.float32)), budget)
    weights = (rng.standard_normal((5, 5)) / 5).astype(np.float32)
    short, long = np.full(3, 1 / 3, np.float32), np.full(15, 1 / 15, np.float32)
    for name in DTYPES:
        dtype = np.dtype(name)
        rates, sep_rates, ratios = [], [], []
        for side in (700, 1024):
            image = rng.integers(0, 256, (side, side, 3)) if dtype.kind == "u" else rng.random((side, side, 3))
            image = image.astype(dtype)
            elements = image.size
            took = _median_time(lambda: cv.filter2D(image, -1, weights), budget)
            rates.append(max(1e-4, (took - fixed) / (elements * 25)))
            t3 = _median_time(lambda: cv.sepFilter2D(image, -1, short, short), budget) - fixed
            t15 = _median_time(lambda: cv.sepFilter2D(image, -1, long, long), budget) - fixed
            per_tap = max(1e-5, (t15 - t3) / (elements * 24))
            sep_rates += [max(1e-3, t3 / elements - 6 * per_tap), per_tap]
            for kernel, anchor in _numpy_cases(name):
                spec = CorrelationSpec(kernel, anchor, get_border("reflect101"))
                took = _median_time(lambda: numpy_engine.correlate(image, spec, float_output=False), budget)
                ratios.append(took / numpy_engine.estimate(image.shape, dtype, spec))
        filter2d[name], sep[name], scale[name] = tuple(rates), tuple(sep_rates), statistics.median(ratios)
    return Calibration(filter2d, sep, scale, fixed, source=str(calibration_path()))


def _numpy_cases(dtype: str) -> list[tuple[np.ndarray, tuple[int, int]]]:
    """Kernels the auto engine gives the numpy engine: 3x3 whole numbers, sampled Gaussians."""
    sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)
    cases = [(sharpen, (1, 1))]
    for size in (5, 9) if dtype != "float64" else (5,):
        x = np.arange(size) - size // 2
        g = np.exp(-x * x / (2 * (size / 4) ** 2))
        g /= g.sum()
        cases.append((np.outer(g, g).astype(np.float32), (size // 2, size // 2)))
    return cases


def _median_time(call, budget: float) -> float:  # noqa: ANN001
    """The median ns of ``call``, run (after one untimed call) for about ``budget`` seconds."""
    import statistics

    call()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 25):
        t = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - t)
    return float(statistics.median(times))
