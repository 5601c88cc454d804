"""The one kernel spec grammar: :func:`load_kernel` and kernel chains (``blur+sharpen``).

A spec is a registered name (the JSON files of the top-level ``kernels/`` folder and the
parametric families), ``name:key=value``, an inline JSON matrix or object, a kernel file
(JSON, libvips ``.mat``/``.con``) or an ImageMagick kernel string.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KernelError
from .files import kernel_from_json, load_kernel_file, parse_json
from .foreign import VIPS_SUFFIXES, is_magick, kernel_from_magick
from .kernel import Kernel
from .parametric import PARAMETRIC

__all__ = ["load_kernel", "load_kernel_chain", "kernel_names", "named_kernels", "looks_like_path", "kernels_dir"]


def kernels_dir() -> Path:
    """Where the named kernels' JSON files are.

    A wheel carries them inside the package (``imgconv/_kernels``, see pyproject.toml);
    an editable install or a source checkout reads the top-level ``kernels/`` folder.
    """
    here = Path(__file__).resolve().parents[1]  # the imgconv package
    packaged = here / "_kernels"
    if packaged.is_dir():
        return packaged
    return here.parent / "kernels"


@functools.lru_cache(maxsize=None)
def _named_files() -> dict[str, Path]:
    folder = kernels_dir()
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



def looks_like_path(spec: str) -> bool:
    return (
        spec.lower().endswith((".json",) + VIPS_SUFFIXES)
        or "/" in spec
        or os.sep in spec
        or spec.startswith(("~", "."))
    )


def load_kernel(spec: Any) -> Kernel:
    """The kernel a spec names: a name, ``name:key=value``, a file, a matrix or ImageMagick's.

    Files are kernel JSON, or libvips ``.mat``/``.con`` matrices; an inline matrix is JSON
    (``[[1,2,1]]``); ``WxH[+X+Y]: values`` is an ImageMagick kernel string.

    A :class:`Kernel` is returned as it is; a 2-D array or list of lists becomes a kernel.
    Raises :class:`~imgconv.errors.KernelError` (exit code 2) with the reason.

    >>> load_kernel("sobel-x").weights.tolist()
    [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
    >>> load_kernel("box:size=2").divisor
    4.0
    >>> load_kernel("[[1, 2, 1]]").anchor
    (1, 0)
    >>> load_kernel("3x1: 1,2,1").weights.tolist()
    [[1.0, 2.0, 1.0]]
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
        return kernel_from_json(parse_json(text, "inline kernel"), origin="inline kernel")
    if text.startswith("{"):
        return kernel_from_json(parse_json(text, "inline kernel"), origin="inline kernel")
    if "\0" in text:
        raise KernelError("a kernel spec cannot contain a NUL byte", text)
    if is_magick(text):
        return kernel_from_magick(text)
    if looks_like_path(text):
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
        "(or a .json/.mat file, an inline matrix like [[0,-1,0],[-1,5,-1],[0,-1,0]], "
        "or an ImageMagick kernel like '3x3: 0,-1,0,-1,5,-1,0,-1,0')"
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
    if text.startswith(("[", "{")) or is_magick(text) or ("\0" not in text and os.path.exists(text)):
        return [load_kernel(text)]
    parts = _CHAIN.split(text)
    if any(not part.strip() for part in parts):
        raise KernelError(f"empty kernel in the chain {spec!r}; write it as blur+sharpen")
    return [load_kernel(part) for part in parts]

