"""Kernel JSON, read strictly: the format of ``kernels/*.json``, inline specs and user files.

Strict means: no NaN or Infinity, no duplicate keys, no unknown keys (a typo is reported,
not ignored), a bounded depth and file size, and each error in one line that says where.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import KernelError
from .foreign import VIPS_SUFFIXES, kernel_from_vips_matrix
from .kernel import MAX_PARTS, Kernel
from .validate import json_type, validate_matrix

__all__ = ["JSON_KEYS", "DERIVED_KEYS", "MAX_KERNEL_FILE_BYTES", "kernel_from_json", "load_kernel_file", "parse_json"]

MAX_KERNEL_FILE_BYTES = 16 * 1024 * 1024
"""The largest kernel file read (16 MiB: a 512x512 kernel of 20-digit numbers fits)."""

# Keys of the kernel JSON format; anything else is a typo we report rather than ignore.
JSON_KEYS = (
    "name", "description", "source", "kernel", "divisor", "offset", "anchor", "normalize",
    "channels", "pointwise", "kernels", "combine",
)
# What `kernels show --json` adds; accepted and ignored so that its output is a kernel file.
DERIVED_KEYS = (
    "shape", "sum", "separable", "rank", "factors", "symmetric", "symmetry", "zero_sum",
    "sums_to_one", "dilation", "effective_size", "flipped", "rotation", "response",
)


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


def _json_hint(error: json.JSONDecodeError) -> str:
    """What a person most likely wrote where the JSON decoder stopped (for the error line)."""
    doc, pos = error.doc, error.pos
    if doc.startswith(("//", "/*"), pos):
        return " (a comment: JSON has none)"
    if doc[pos : pos + 1] in ("]", "}") and doc[:pos].rstrip().endswith(","):
        return f" (a trailing comma before '{doc[pos]}': JSON allows none)"
    if doc[pos : pos + 1] == "'":
        return " (single quotes: JSON strings take double quotes)"
    return ""


def parse_json(text: str, origin: str | None) -> Any:
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
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}{_json_hint(error)}", origin
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
            f"not {json_type(obj)}",
            origin,
        )
    unknown = sorted(set(obj) - set(JSON_KEYS) - set(DERIVED_KEYS))
    if unknown:
        raise KernelError(
            f"unknown key {unknown[0]!r}; a kernel file has the keys: {', '.join(JSON_KEYS)}",
            origin,
        )
    if obj.get("kernels") is not None or obj.get("combine") is not None:
        return _combined_from_json(obj, origin, default_name)
    channels: tuple[Kernel, ...] = ()
    if "channels" in obj:
        if obj.get("kernel") is not None:
            raise KernelError('give either "kernel" or "channels" (one kernel per colour channel), not both', origin)
        channels = _channel_kernels(obj["channels"], origin)
    elif "kernel" not in obj and "pointwise" not in obj:
        raise KernelError('missing the "kernel" key (the list of rows of weights)', origin)
    _check_text_keys(obj, origin)
    normalize = obj.get("normalize", False)
    if not isinstance(normalize, bool):
        raise KernelError(f"normalize must be true or false, not {json_type(normalize)}", origin)
    if channels:
        for key in ("divisor", "offset", "anchor", "normalize"):
            if obj.get(key) is not None:
                raise KernelError(f'with "channels", give {key} inside each channel kernel', origin)
        weights = channels[0].weights
        anchor = channels[0].anchor
        obj = {k: v for k, v in obj.items() if v is not None}
    else:
        weights = validate_matrix(obj.get("kernel", [[1]]), origin)
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


def _check_text_keys(obj: dict, origin: str | None) -> None:
    for key in ("name", "description", "source"):
        if key in obj and not isinstance(obj[key], str):
            raise KernelError(f"{key} must be a string, not {json_type(obj[key])}", origin)


def _combined_from_json(obj: dict, origin: str | None, default_name: str) -> Kernel:
    """``{"kernels": [k1, k2, ...], "combine": "magnitude" | "max" | "sum"}``."""
    if obj.get("kernels") is None:
        raise KernelError(
            f'"combine" needs "kernels": the list of kernels to combine (2 to {MAX_PARTS})', origin
        )
    for key in ("kernel", "channels", "pointwise"):
        if obj.get(key) is not None:
            raise KernelError(f'give either "kernels" (a combined kernel) or "{key}", not both', origin)
    for key in ("divisor", "offset", "anchor", "normalize"):
        if obj.get(key) is not None:
            raise KernelError(f'with "kernels", give {key} inside each kernel', origin)
    _check_text_keys(obj, origin)
    entries = obj["kernels"]
    if not isinstance(entries, list) or not entries:
        raise KernelError(f"kernels must be a list of 2 to {MAX_PARTS} kernels, not {json_type(entries)}", origin)
    if len(entries) > MAX_PARTS:  # before loading them
        raise KernelError(f"a combined kernel has 2 to {MAX_PARTS} kernels, got {len(entries)}", origin)
    nested = ("kernels", "combine", "channels", "pointwise")
    refusal = "cannot have channels, pointwise or kernels of its own"
    parts = []
    for i, entry in enumerate(entries, 1):
        # nested "kernels" are refused before recursing: it gave a message naming every level
        part = _member(entry, "kernel", i, origin, lambda e: any(e.get(key) is not None for key in nested), refusal)
        if not part.single:
            raise KernelError(f"kernel {i} {refusal}", origin)
        parts.append(part)
    return Kernel(
        None,
        name=obj.get("name", default_name),
        description=obj.get("description", ""),
        source=obj.get("source", ""),
        origin=origin,
        parts=tuple(parts),
        combine=obj.get("combine"),
    )


def _channel_kernels(entries: Any, origin: str | None) -> tuple[Kernel, ...]:
    """``channels``: each entry a kernel object, a matrix, or a spec string (``"sobel-x"``)."""
    if not isinstance(entries, list) or not entries:
        raise KernelError("channels must be a non-empty list, one kernel per colour channel", origin)
    refusal = "cannot have channels or pointwise of its own"
    kernels = [
        _member(entry, "channel", i, origin, lambda e: "channels" in e or "pointwise" in e, refusal)
        for i, entry in enumerate(entries, 1)
    ]
    return tuple(kernels)


def _member(entry: Any, what: str, i: int, origin: str | None, nests: Callable[[dict], bool], refusal: str) -> Kernel:
    """Entry ``i`` of a ``kernels`` or ``channels`` list (``what``: "kernel", "channel"): a
    spec string, a matrix or a kernel object; one that ``nests`` kernels of its own is
    refused with ``refusal``."""
    from .spec import load_kernel, looks_like_path  # an entry may be a spec: the grammar is above this

    if isinstance(entry, str):
        if looks_like_path(entry.strip()):
            raise KernelError(f"{what} {i}: give a name, name:key=value or a matrix, not a file", origin)
        return load_kernel(entry)
    if isinstance(entry, (list, dict)):
        if isinstance(entry, dict) and nests(entry):
            raise KernelError(f"{what} {i} {refusal}", origin)
        return kernel_from_json(entry, origin=f"{origin or 'kernel'}, {what} {i}", default_name=f"{what}-{i}")
    raise KernelError(f"{what} {i} must be a kernel object, a matrix or a name, not {json_type(entry)}", origin)


def _byte_cap() -> str:
    cap = MAX_KERNEL_FILE_BYTES
    return f"{cap >> 20} MiB ({cap} bytes)" if cap % (1 << 20) == 0 else f"{cap} bytes"


def load_kernel_file(path: str | os.PathLike) -> Kernel:
    """Read a kernel file (UTF-8, an optional BOM), strictly validated.

    JSON in the kernel format, except ``*.mat`` and ``*.con``: libvips matrix files
    (:func:`kernel_from_vips_matrix`).
    """
    origin = os.fspath(path)
    if "\0" in origin:
        raise KernelError("a file name cannot contain a NUL byte", origin)
    try:
        info = os.stat(origin)
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise KernelError("is a folder, not a kernel file", origin)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):  # FIFO: <(...)
            raise KernelError("not a regular file (a device or socket), not a kernel file", origin)
        if size > MAX_KERNEL_FILE_BYTES:
            raise KernelError(f"kernel file is {size} bytes; the largest accepted is {_byte_cap()}", origin)
        with open(origin, "rb") as handle:
            data = handle.read(MAX_KERNEL_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KernelError("no such kernel file", origin) from None
    except OSError as error:
        raise KernelError(f"cannot read kernel file: {error.strerror or error}", origin) from None
    if len(data) > MAX_KERNEL_FILE_BYTES:
        raise KernelError(f"kernel file is larger than {_byte_cap()}", origin)
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
    suffix = Path(origin).suffix.lower()
    if suffix in VIPS_SUFFIXES:
        return kernel_from_vips_matrix(text, origin=origin, name=stem, integer=suffix == ".con")
    return kernel_from_json(parse_json(text, origin), origin=origin, default_name=stem)

