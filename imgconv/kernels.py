"""Kernels: the :class:`Kernel` value, the spec grammar, and strict JSON loading.

One parser, :func:`load_kernel`, reads every kernel spec the CLI and the API accept:

* a registered name: ``edge``, ``sobel-x``, ``sharpen`` ... (the JSON files of the
  top-level ``kernels/`` folder, plus the parametric kernels below);
* a name with parameters: ``gaussian:size=7,sigma=1.5``, ``box:size=5``,
  ``log:size=9,sigma=1.4``, ``motion:length=15,angle=30``;
* an inline matrix: ``[[0,-1,0],[-1,5,-1],[0,-1,0]]`` (JSON);
* a path to a kernel JSON file: anything ending in ``.json``, containing a ``/``, or naming
  an existing file that is not a registered name.

A kernel's result pixel is ``sum(weights * pixels) / divisor + offset``, computed as a
correlation (no flip) like ``cv2.filter2D``; the anchor is ``(x, y)`` = (column, row),
by default ``(cols // 2, rows // 2)`` as in OpenCV, also for even sizes.

Limits (so that a hostile file cannot exhaust memory): at most
``MAX_KERNEL_SIDE`` rows and columns, kernel files of at most ``MAX_KERNEL_FILE_BYTES``.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import KernelError

__all__ = [
    "Kernel",
    "load_kernel",
    "load_kernel_chain",
    "load_kernel_file",
    "kernel_from_json",
    "kernel_names",
    "named_kernels",
    "PARAMETRIC",
    "MAX_KERNEL_SIDE",
    "MAX_KERNEL_FILE_BYTES",
]

MAX_KERNEL_SIDE = 512
"""The largest kernel accepted, in rows and in columns."""
MAX_KERNEL_FILE_BYTES = 16 * 1024 * 1024
"""The largest kernel file read (16 MiB: a 512x512 kernel of 20-digit numbers fits)."""
_FLOAT32_MAX = float(np.finfo(np.float32).max)

# Keys of the kernel JSON format; anything else is a typo we report rather than ignore.
JSON_KEYS = (
    "name", "description", "source", "kernel", "divisor", "offset", "anchor", "normalize",
    "channels", "pointwise",
)
# What `kernels show --json` adds; accepted and ignored so that its output is a kernel file.
DERIVED_KEYS = ("shape", "sum", "separable", "rank")


def _number_text(value: float) -> str:
    """A number as a person writes it: ``2`` not ``2.0``, ``0.25`` not ``0.25000``."""
    value = float(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _jsonable(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


@dataclass(frozen=True, eq=False)
class Kernel:
    """A convolution kernel: weights, divisor, offset and anchor.

    Parameters
    ----------
    weights : array_like
        2-D correlation weights (as ``cv2.filter2D`` takes them), before the divisor.
    divisor : float
        The weighted sum is divided by it (``blur`` is ones with divisor 9).
    offset : float
        Added after dividing, in the image's units.
    anchor : (int, int), optional
        ``(x, y)``: the kernel cell that lies over the output pixel. Default: the centre,
        ``(cols // 2, rows // 2)``.
    name, description, source : str
        What the kernel is called, what it does, and where its numbers come from.

    Examples
    --------
    >>> k = Kernel([[1, 2, 1]], divisor=4, name="smooth-x")
    >>> k.anchor, k.sum
    ((1, 0), 1.0)
    >>> k.flipped().weights.tolist()
    [[1.0, 2.0, 1.0]]
    """

    weights: Any
    divisor: float = 1.0
    offset: float = 0.0
    anchor: tuple[int, int] | None = None
    name: str = "kernel"
    description: str = ""
    source: str = ""
    origin: str | None = field(default=None, compare=False)  # the file it came from, for errors
    channels: tuple["Kernel", ...] = ()
    pointwise: Any = None

    def __post_init__(self) -> None:
        if self.channels:
            _validate_channels(self.channels, self.origin)
            object.__setattr__(self, "channels", tuple(self.channels))
        if self.pointwise is not None:
            object.__setattr__(self, "pointwise", _validate_pointwise(self.pointwise, self.channels, self.origin))
        weights = _validate_matrix(self.weights, self.origin)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        rows, cols = weights.shape
        divisor = _finite(self.divisor, "divisor", self.origin)
        if divisor == 0:
            raise KernelError("divisor is 0; a kernel cannot divide by zero", self.origin)
        object.__setattr__(self, "divisor", divisor)
        object.__setattr__(self, "offset", _finite(self.offset, "offset", self.origin))
        anchor = self.anchor
        if anchor is None:
            anchor = (cols // 2, rows // 2)
        anchor = _validate_anchor(anchor, rows, cols, self.origin)
        object.__setattr__(self, "anchor", anchor)

    # -- derived values ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.weights.shape  # type: ignore[return-value]

    @property
    def effective(self) -> np.ndarray:
        """The weights divided by the divisor (float64): what multiplies the pixels."""
        return self.weights / self.divisor

    @property
    def sum(self) -> float:
        """Sum of the effective weights: 1 for a smoothing kernel, 0 for an edge kernel."""
        return float(self.weights.sum() / self.divisor)

    @property
    def rank(self) -> int:
        """Matrix rank of the weights (1 means separable into a column and a row)."""
        if not self.weights.any():
            return 0
        s = np.linalg.svd(self.weights, compute_uv=False)
        return int((s > s[0] * 1e-10).sum())

    @property
    def separable(self) -> bool:
        """True when the kernel is an outer product of a column and a row (rank 1)."""
        return self.rank <= 1

    @property
    def is_integer(self) -> bool:
        """True when every weight is a whole number."""
        return bool(np.all(self.weights == np.round(self.weights)))

    @property
    def tag(self) -> str:
        """A short name for file names: ``photo.<tag>.jpg``."""
        tag = re.sub(r"[^A-Za-z0-9.+-]+", "-", self.name).strip("-.")
        return tag or "kernel"

    @property
    def per_channel(self) -> bool:
        """True when colour channels get their own kernels or are mixed (``pointwise``)."""
        return bool(self.channels) or self.pointwise is not None

    def flipped(self) -> "Kernel":
        """The kernel rotated by 180 degrees with its anchor mirrored.

        Correlating with the flipped kernel is the mathematical convolution
        (``--mode convolve``). Per-channel kernels are each flipped; ``pointwise`` stays.
        """
        rows, cols = self.shape
        ax, ay = self.anchor  # type: ignore[misc]
        return Kernel(
            self.weights[::-1, ::-1].copy(),
            divisor=self.divisor,
            offset=self.offset,
            anchor=(cols - 1 - ax, rows - 1 - ay),
            name=self.name,
            description=self.description,
            source=self.source,
            origin=self.origin,
            channels=tuple(k.flipped() for k in self.channels),
            pointwise=self.pointwise,
        )

    def to_dict(self) -> dict[str, Any]:
        """The kernel in the JSON format (plus ``sum``, ``separable``, ``shape``, ``rank``)."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "kernel": [[_jsonable(v) for v in row] for row in self.weights],
            "divisor": _jsonable(self.divisor),
            "offset": _jsonable(self.offset),
            "anchor": list(self.anchor),  # type: ignore[arg-type]
            "shape": list(self.shape),
            "sum": _jsonable(round(self.sum, 12)),
            "separable": self.separable,
            "rank": self.rank,
        } | (
            # the weights live in each channel; the single-kernel keys are null
            {key: None for key in ("kernel", "divisor", "offset", "anchor", "sum", "separable", "rank")}
            | {"channels": [_channel_dict(k) for k in self.channels]}
            if self.channels
            else {}
        ) | (
            {"pointwise": [[_jsonable(v) for v in row] for row in self.pointwise]}
            if self.pointwise is not None
            else {}
        )

    def __repr__(self) -> str:
        rows, cols = self.shape
        return (
            f"Kernel(name={self.name!r}, shape={rows}x{cols}, divisor={_number_text(self.divisor)}, "
            f"offset={_number_text(self.offset)}, anchor={self.anchor})"
        )


def _channel_dict(kernel: Kernel) -> dict[str, Any]:
    info = kernel.to_dict()
    return {key: info[key] for key in ("name", "kernel", "divisor", "offset", "anchor")}


# -- validation -------------------------------------------------------------------------
def _validate_channels(channels: Any, origin: str | None) -> None:
    if not isinstance(channels, (list, tuple)) or not 1 <= len(channels) <= 4:
        raise KernelError("channels must be a list of 1 to 4 kernels, one per colour channel", origin)
    shapes = {k.shape for k in channels}
    anchors = {k.anchor for k in channels}
    if len(shapes) > 1 or len(anchors) > 1:
        raise KernelError(
            "every kernel in channels must have the same size and anchor "
            f"(got sizes {', '.join(f'{r}x{c}' for r, c in sorted(shapes))})",
            origin,
        )
    if any(k.per_channel for k in channels):
        raise KernelError("a kernel in channels cannot have channels or pointwise of its own", origin)


def _validate_pointwise(matrix: Any, channels: tuple[Kernel, ...], origin: str | None) -> np.ndarray:
    array = _validate_matrix(matrix, origin)
    rows, cols = array.shape
    if rows not in (1, 3) or cols > 4:
        raise KernelError(
            f"pointwise must be a 1xC or 3xC matrix (output channels x input colour channels), got {rows}x{cols}",
            origin,
        )
    if channels and cols != len(channels):
        raise KernelError(
            f"pointwise has {cols} columns but channels has {len(channels)} kernels; they must match", origin
        )
    array.setflags(write=False)
    return array


def _finite(value: Any, what: str, origin: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise KernelError(f"{what} must be a number, not {_json_type(value)}", origin)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
        raise KernelError(f"{what} {_short(value)} is not a finite float32 number", origin)
    return number


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:10] + "..." + text[-6:] + f" ({len(text)} digits)"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string ({value[:20]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _validate_matrix(weights: Any, origin: str | None) -> np.ndarray:
    """A validated float64 copy of a 2-D weight matrix, or a :class:`KernelError`."""
    if isinstance(weights, np.ndarray):
        if weights.ndim != 2:
            raise KernelError(f"kernel must be 2-D, got {weights.ndim}-D", origin)
        if weights.size == 0:
            raise KernelError("kernel is empty", origin)
        if weights.dtype.kind not in "biuf":
            raise KernelError(f"kernel must hold numbers, not {weights.dtype}", origin)
        _check_side(weights.shape, origin)
        array = weights.astype(np.float64)
        if not np.all(np.isfinite(array)) or np.abs(array).max() > _FLOAT32_MAX:
            raise KernelError("kernel holds a number that is not a finite float32", origin)
        return array
    if not isinstance(weights, (list, tuple)):
        raise KernelError(
            f"kernel must be a list of rows like [[0,1,0],[1,-4,1],[0,1,0]], not {_json_type(weights)}",
            origin,
        )
    if not weights:
        raise KernelError("kernel is empty", origin)
    if not all(isinstance(row, (list, tuple)) for row in weights):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in weights):
            raise KernelError(
                "kernel must be 2-D (a list of rows); for a single row write [[1, 2, 1]]", origin
            )
        first = next(i for i, row in enumerate(weights) if not isinstance(row, (list, tuple)))
        raise KernelError(f"kernel row {first + 1} is {_json_type(weights[first])}, not a list", origin)
    _check_side((len(weights), max(len(row) for row in weights)), origin)
    cols = len(weights[0])
    for r, row in enumerate(weights, 1):
        if not row:
            raise KernelError(f"kernel row {r} is empty", origin)
        if len(row) != cols:
            raise KernelError(
                f"kernel is not rectangular: row 1 has {cols} numbers, row {r} has {len(row)}",
                origin,
            )
    values = []
    for r, row in enumerate(weights, 1):
        for c, value in enumerate(row, 1):
            if isinstance(value, (list, tuple)):
                raise KernelError(
                    f"kernel must be 2-D; row {r} column {c} is a list (3-D or deeper)", origin
                )
            values.append(_finite(value, f"kernel row {r} column {c}", origin))
    return np.array(values, dtype=np.float64).reshape(len(weights), cols)


def _check_side(shape: tuple[int, int], origin: str | None) -> None:
    rows, cols = shape
    if rows > MAX_KERNEL_SIDE or cols > MAX_KERNEL_SIDE:
        raise KernelError(
            f"kernel is {rows}x{cols}; the largest accepted is "
            f"{MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}",
            origin,
        )


def _validate_anchor(anchor: Any, rows: int, cols: int, origin: str | None) -> tuple[int, int]:
    if (
        not isinstance(anchor, (list, tuple))
        or len(anchor) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in anchor)
    ):
        raise KernelError(f"anchor must be [x, y], two whole numbers, not {anchor!r}", origin)
    x, y = int(anchor[0]), int(anchor[1])
    if not (0 <= x < cols and 0 <= y < rows):
        raise KernelError(
            f"anchor [{x}, {y}] lies outside the {rows}x{cols} kernel "
            f"(x must be 0..{cols - 1}, y 0..{rows - 1})",
            origin,
        )
    return (x, y)


# -- strict JSON --------------------------------------------------------------------------
def _reject_constant(name: str) -> None:
    raise KernelError(f"{name} is not a finite number; JSON kernels take finite numbers only")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise KernelError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse_int(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise KernelError(f"number with {len(text)} digits is not a finite float32 number") from None


def _parse_json(text: str, origin: str | None) -> Any:
    """``json.loads`` made strict: no NaN/Infinity, no duplicate keys, bounded depth."""
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            object_pairs_hook=_no_duplicate_keys,
        )
    except KernelError as error:
        raise KernelError(error.reason, origin) from None
    except json.JSONDecodeError as error:
        raise KernelError(
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}", origin
        ) from None
    except RecursionError:
        raise KernelError("invalid JSON: nested too deeply", origin) from None


def kernel_from_json(obj: Any, *, origin: str | None = None, default_name: str = "kernel") -> Kernel:
    """A :class:`Kernel` from parsed JSON: an object in the kernel format, or a bare matrix.

    >>> kernel_from_json({"kernel": [[1, 1], [1, 1]], "normalize": True}).divisor
    4.0
    """
    if isinstance(obj, list):
        return Kernel(obj, name=default_name, origin=origin)
    if not isinstance(obj, dict):
        raise KernelError(
            f'expected a JSON object like {{"kernel": [[0,1,0],[1,-4,1],[0,1,0]]}}, '
            f"not {_json_type(obj)}",
            origin,
        )
    unknown = sorted(set(obj) - set(JSON_KEYS) - set(DERIVED_KEYS))
    if unknown:
        raise KernelError(
            f"unknown key {unknown[0]!r}; a kernel file has the keys: {', '.join(JSON_KEYS)}",
            origin,
        )
    channels: tuple[Kernel, ...] = ()
    if "channels" in obj:
        if obj.get("kernel") is not None:
            raise KernelError('give either "kernel" or "channels" (one kernel per colour channel), not both', origin)
        channels = _channel_kernels(obj["channels"], origin)
    elif "kernel" not in obj and "pointwise" not in obj:
        raise KernelError('missing the "kernel" key (the list of rows of weights)', origin)
    for key in ("name", "description", "source"):
        if key in obj and not isinstance(obj[key], str):
            raise KernelError(f"{key} must be a string, not {_json_type(obj[key])}", origin)
    normalize = obj.get("normalize", False)
    if not isinstance(normalize, bool):
        raise KernelError(f"normalize must be true or false, not {_json_type(normalize)}", origin)
    if channels:
        for key in ("divisor", "offset", "anchor", "normalize"):
            if obj.get(key) is not None:
                raise KernelError(f'with "channels", give {key} inside each channel kernel', origin)
        weights = channels[0].weights
        anchor = channels[0].anchor
        obj = {k: v for k, v in obj.items() if v is not None}
    else:
        weights = _validate_matrix(obj.get("kernel", [[1]]), origin)
        anchor = obj.get("anchor")
    divisor = obj.get("divisor", 1)
    if normalize:
        if "divisor" in obj:
            raise KernelError('give either "divisor" or "normalize": true, not both', origin)
        divisor = float(weights.sum())
        if abs(divisor) <= 1e-12 * max(1.0, float(np.abs(weights).sum())):
            raise KernelError(
                "normalize: true divides by the kernel's sum, but it sums to 0 "
                "(edge and derivative kernels do); leave normalize out",
                origin,
            )
    return Kernel(
        weights,
        divisor=divisor,
        offset=obj.get("offset", 0),
        anchor=anchor,
        name=obj.get("name", default_name),
        description=obj.get("description", ""),
        source=obj.get("source", ""),
        origin=origin,
        channels=channels,
        pointwise=obj.get("pointwise"),
    )


def _channel_kernels(entries: Any, origin: str | None) -> tuple[Kernel, ...]:
    """``channels``: each entry a kernel object, a matrix, or a spec string (``"sobel-x"``)."""
    if not isinstance(entries, list) or not entries:
        raise KernelError("channels must be a non-empty list, one kernel per colour channel", origin)
    kernels = []
    for i, entry in enumerate(entries, 1):
        where = f"{origin or 'kernel'}, channel {i}"
        if isinstance(entry, str):
            if _looks_like_path(entry.strip()):
                raise KernelError(f"channel {i}: give a name, name:key=value or a matrix, not a file", origin)
            kernels.append(load_kernel(entry))
        elif isinstance(entry, (list, dict)):
            if isinstance(entry, dict) and ("channels" in entry or "pointwise" in entry):
                raise KernelError(f"channel {i} cannot have channels or pointwise of its own", origin)
            kernels.append(kernel_from_json(entry, origin=where, default_name=f"channel-{i}"))
        else:
            raise KernelError(f"channel {i} must be a kernel object, a matrix or a name, not {_json_type(entry)}", origin)
    return tuple(kernels)


def load_kernel_file(path: str | os.PathLike) -> Kernel:
    """Read a kernel JSON file (UTF-8, an optional BOM), strictly validated."""
    origin = os.fspath(path)
    if "\0" in origin:
        raise KernelError("a file name cannot contain a NUL byte", origin)
    try:
        size = os.stat(origin).st_size
        if os.path.isdir(origin):
            raise KernelError("is a folder, not a kernel file", origin)
        if size > MAX_KERNEL_FILE_BYTES:
            raise KernelError(
                f"kernel file is {size} bytes; the largest accepted is {MAX_KERNEL_FILE_BYTES}",
                origin,
            )
        with open(origin, "rb") as handle:
            data = handle.read(MAX_KERNEL_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KernelError("no such kernel file", origin) from None
    except OSError as error:
        raise KernelError(f"cannot read kernel file: {error.strerror or error}", origin) from None
    if len(data) > MAX_KERNEL_FILE_BYTES:
        raise KernelError(f"kernel file is larger than {MAX_KERNEL_FILE_BYTES} bytes", origin)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        hint = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise KernelError(f"kernel file is not UTF-8 text{hint}", origin) from None
    if not text.strip():
        raise KernelError("kernel file is empty", origin)
    stem = Path(origin).stem or "kernel"
    return kernel_from_json(_parse_json(text, origin), origin=origin, default_name=stem)


# -- parametric kernels -------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    kind: type  # int or float
    default: Any
    help: str


@dataclass(frozen=True)
class Parametric:
    """A kernel family built from parameters: ``name:key=value,...``."""

    name: str
    params: tuple[Param, ...]
    build: Callable[..., Kernel]
    description: str
    source: str

    def __call__(self, text: str = "") -> Kernel:
        values = self.parse(text)
        return self.build(**values)

    def parse(self, text: str) -> dict[str, Any]:
        known = {p.name: p for p in self.params}
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))) if text else ():
            key, eq, raw = (s.strip() for s in item.partition("="))
            if not eq or not raw or not key:
                raise KernelError(
                    f"{self.name}: expected key=value, got {item!r} "
                    f"(e.g. {self.name}:{self.params[0].name}={self.params[0].default})"
                )
            if key not in known:
                raise KernelError(
                    f"{self.name}: unknown parameter {key!r}; expected one of: {', '.join(known)}"
                )
            if key in values:
                raise KernelError(f"{self.name}: parameter {key!r} given twice")
            values[key] = _parse_param(self.name, known[key], raw)
        return values

    def signature(self) -> str:
        return ",".join(f"{p.name}={p.default}" for p in self.params)


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _parse_param(family: str, param: Param, raw: str) -> Any:
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is not None and not math.isfinite(value):
        raise KernelError(f"{family}: {param.name} must be finite, not {raw!r}")
    if value is None or not _NUMBER.fullmatch(raw):  # float() also takes '1_1'
        raise KernelError(f"{family}: {param.name} must be a number, not {raw!r}")
    if param.kind is int:
        if not value.is_integer():
            raise KernelError(f"{family}: {param.name} must be a whole number, not {raw!r}")
        return int(value)
    return value


def _check_size(family: str, what: str, size: int, *, odd: bool = False) -> None:
    if not 1 <= size <= MAX_KERNEL_SIDE:
        raise KernelError(f"{family}: {what} must be 1..{MAX_KERNEL_SIDE}, got {size}")
    if odd and size % 2 == 0:
        raise KernelError(f"{family}: {what} must be odd so the kernel has a centre, got {size}")


# OpenCV's small_gaussian_tab (modules/imgproc/src/smooth.dispatch.cpp): the kernels
# cv2.getGaussianKernel returns for sigma <= 0 and these sizes, as integers over a power of 2.
_SMALL_GAUSSIAN: dict[int, tuple[list[int], int]] = {
    1: ([1], 1),
    3: ([1, 2, 1], 4),
    5: ([1, 4, 6, 4, 1], 16),
    7: ([2, 7, 14, 18, 14, 7, 2], 64),
    9: ([4, 13, 30, 51, 60, 51, 30, 13, 4], 256),
}


def gaussian_1d(size: int, sigma: float = 0.0) -> tuple[np.ndarray, float]:
    """1-D Gaussian weights and their divisor, sampled and normalised as ``cv2.getGaussianKernel``.

    ``sigma <= 0`` means OpenCV's default ``0.3*((size-1)*0.5 - 1) + 0.8``; for sizes
    1, 3, 5, 7 and 9 OpenCV then uses a fixed table of dyadic fractions, and so do we
    (returned as integers with a power-of-two divisor, so they stay exact).

    >>> gaussian_1d(5)
    (array([1., 4., 6., 4., 1.]), 16.0)
    """
    if sigma <= 0 and size in _SMALL_GAUSSIAN:
        weights, divisor = _SMALL_GAUSSIAN[size]
        return np.array(weights, dtype=np.float64), float(divisor)
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size, dtype=np.float64) - (size - 1) * 0.5
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    if not np.isfinite(g).all() or g.sum() == 0:  # sigma so small that sigma^2 underflows
        g = (x == 0).astype(np.float64) if size % 2 else np.abs(x) == 0.5
    return g / g.sum(), 1.0


def _gaussian(size: int | None = None, sigma: float = 0.0) -> Kernel:
    if sigma < 0:
        raise KernelError(f"gaussian: sigma must be >= 0 (0 means from the size), got {sigma:g}")
    if size is None:
        if sigma * 6 + 1 > MAX_KERNEL_SIDE:
            raise KernelError(
                f"gaussian: sigma {sigma:g} needs a kernel wider than {MAX_KERNEL_SIDE}; "
                f"the largest sigma is {(MAX_KERNEL_SIDE - 1) / 6:g}"
            )
        size = 5 if sigma == 0 else (int(round(sigma * 6 + 1)) | 1)  # as cv2.GaussianBlur
    _check_size("gaussian", "size", size, odd=True)
    g, d = gaussian_1d(size, sigma)
    name = "gaussian" if (size == 5 and sigma == 0) else f"gaussian-{size}-{sigma:g}"
    return Kernel(
        np.outer(g, g),
        divisor=d * d,
        name=name,
        description=f"{size}x{size} Gaussian blur, sigma {sigma:g}" + (" (auto)" if sigma == 0 else ""),
        source="sampled and normalised as cv2.getGaussianKernel (outer product of two 1-D kernels)",
    )


def _box(size: int = 3) -> Kernel:
    _check_size("box", "size", size)
    return Kernel(
        np.ones((size, size)),
        divisor=size * size,
        name="box" if size == 3 else f"box-{size}",
        description=f"{size}x{size} mean filter",
        source="1/size^2 everywhere, as cv2.blur",
    )


def _log(size: int = 5, sigma: float = 0.5) -> Kernel:
    _check_size("log", "size", size, odd=True)
    if sigma <= 0:
        raise KernelError(f"log: sigma must be > 0, got {sigma:g}")
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    x2 = r[None, :] ** 2 + r[:, None] ** 2
    h = np.exp(-x2 / (2 * sigma * sigma))
    h /= h.sum()
    h1 = h * (x2 - 2 * sigma * sigma) / sigma**4
    weights = h1 - h1.sum() / h1.size  # zero sum: flat areas give 0
    return Kernel(
        weights,
        name="log" if (size, sigma) == (5, 0.5) else f"log-{size}-{sigma:g}",
        description=f"{size}x{size} Laplacian of Gaussian, sigma {sigma:g} (negative centre, zero sum)",
        source="MATLAB fspecial('log', size, sigma): sampled LoG, shifted to sum to zero",
    )


def _motion(length: int = 9, angle: float = 0.0) -> Kernel:
    _check_size("motion", "length", length)
    size = length if length % 2 else length + 1
    c = (size - 1) / 2
    theta = math.radians(angle)
    dx, dy = math.cos(theta), -math.sin(theta)  # image rows grow downwards
    half = (length - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) - c
    t = np.clip(xs * dx + ys * dy, -half, half)  # the nearest point of the segment
    distance = np.hypot(xs - t * dx, ys - t * dy)
    weights = np.clip(1.0 - distance, 0.0, None)  # a one-pixel-wide anti-aliased line
    return Kernel(
        weights,
        divisor=float(weights.sum()),
        name="motion" if (length, angle) == (9, 0) else f"motion-{length}-{angle:g}",
        description=f"motion blur along a {length}-pixel line at {angle:g} degrees (counter-clockwise)",
        source="an anti-aliased line segment (weight 1 - distance to the segment), normalised to sum 1",
    )


PARAMETRIC: dict[str, Parametric] = {
    p.name: p
    for p in (
        Parametric(
            "gaussian",
            (
                Param("size", int, 5, "odd side length; default from sigma (6*sigma+1) or 5"),
                Param("sigma", float, 0, "standard deviation; 0 = OpenCV's default for the size"),
            ),
            _gaussian,
            "Gaussian blur",
            "cv2.getGaussianKernel",
        ),
        Parametric("box", (Param("size", int, 3, "side length"),), _box, "mean filter", "cv2.blur"),
        Parametric(
            "log",
            (Param("size", int, 5, "odd side length"), Param("sigma", float, 0.5, "standard deviation")),
            _log,
            "Laplacian of Gaussian",
            "MATLAB fspecial('log')",
        ),
        Parametric(
            "motion",
            (Param("length", int, 9, "line length in pixels"), Param("angle", float, 0, "degrees, counter-clockwise")),
            _motion,
            "motion blur",
            "anti-aliased line",
        ),
    )
}


# -- the named kernels of kernels/ --------------------------------------------------------
def _kernels_dir() -> Path:
    """Where the named kernels' JSON files are.

    A wheel carries them inside the package (``imgconv/_kernels``, see pyproject.toml);
    an editable install or a source checkout reads the top-level ``kernels/`` folder.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_kernels"
    if packaged.is_dir():
        return packaged
    return here.parent / "kernels"


@functools.lru_cache(maxsize=None)
def _named_files() -> dict[str, Path]:
    folder = _kernels_dir()
    if not folder.is_dir():
        raise KernelError(f"the named kernels' folder is missing (looked in {folder})")
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


@functools.lru_cache(maxsize=None)
def _named_kernel(name: str) -> Kernel:
    kernel = load_kernel_file(_named_files()[name])
    if kernel.name != name:
        raise KernelError(f"named kernel file declares name {kernel.name!r}", str(_named_files()[name]))
    return kernel


def kernel_names() -> list[str]:
    """Every registered name: the files of ``kernels/`` and the parametric families."""
    return sorted(set(_named_files()) | set(PARAMETRIC))


def named_kernels() -> list[Kernel]:
    """Every registered kernel (parametric ones with their default parameters), by name."""
    return [_named_kernel(n) if n in _named_files() else PARAMETRIC[n]() for n in kernel_names()]


def _looks_like_path(spec: str) -> bool:
    return spec.lower().endswith(".json") or "/" in spec or os.sep in spec or spec.startswith(("~", "."))


def load_kernel(spec: Any) -> Kernel:
    """The kernel a spec names: a name, ``name:key=value``, a JSON path or an inline matrix.

    A :class:`Kernel` is returned as it is; a 2-D array or list of lists becomes a kernel.
    Raises :class:`~imgconv.errors.KernelError` (exit code 2) with the reason.

    >>> load_kernel("sobel-x").weights.tolist()
    [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
    >>> load_kernel("box:size=2").divisor
    4.0
    >>> load_kernel("[[1, 2, 1]]").anchor
    (1, 0)
    """
    if isinstance(spec, Kernel):
        return spec
    if isinstance(spec, os.PathLike):
        return load_kernel_file(spec)
    if not isinstance(spec, str):
        return Kernel(spec if isinstance(spec, np.ndarray) else _as_lists(spec))
    text = spec.strip()
    if not text:
        raise KernelError("empty kernel spec; try a name such as 'edge' (imgconv kernels list)")
    if text.startswith("["):
        return kernel_from_json(_parse_json(text, "inline kernel"), origin="inline kernel")
    if text.startswith("{"):
        return kernel_from_json(_parse_json(text, "inline kernel"), origin="inline kernel")
    if "\0" in text:
        raise KernelError("a kernel spec cannot contain a NUL byte", text)
    if _looks_like_path(text):
        return load_kernel_file(os.path.expanduser(text))
    name, colon, params = text.partition(":")
    if name in PARAMETRIC:
        return PARAMETRIC[name](params)
    if name in _named_files():
        if colon:
            raise KernelError(f"{name} takes no parameters (it is a fixed matrix)")
        return _named_kernel(name)
    if not colon and "\0" not in text and os.path.isfile(text):
        return load_kernel_file(text)
    close = difflib.get_close_matches(name, kernel_names(), n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise KernelError(
        f"unknown kernel {name!r}{hint}; known: {', '.join(kernel_names())} "
        "(or a .json file, or an inline matrix like [[0,-1,0],[-1,5,-1],[0,-1,0]])"
    )


def _as_lists(value: Any) -> Any:
    try:
        return [list(row) for row in value]
    except TypeError:
        raise KernelError(f"kernel must be a 2-D matrix, not {type(value).__name__}") from None


_CHAIN = re.compile(r"\+(?=[A-Za-z_.~/\[{])")


def load_kernel_chain(spec: str) -> list[Kernel]:
    """Kernels applied one after the other: ``blur+sharpen`` (``+`` between specs).

    A spec that is an existing file, or an inline matrix, is never split; a ``+`` inside
    a number (``1e+2``) is not a separator.

    >>> [k.name for k in load_kernel_chain("blur+sharpen")]
    ['blur', 'sharpen']
    >>> len(load_kernel_chain("gaussian:sigma=1e+0"))
    1
    """
    text = spec.strip()
    if text.startswith(("[", "{")) or ("\0" not in text and os.path.exists(text)):
        return [load_kernel(text)]
    parts = _CHAIN.split(text)
    if any(not part.strip() for part in parts):
        raise KernelError(f"empty kernel in the chain {spec!r}; write it as blur+sharpen")
    return [load_kernel(part) for part in parts]
