"""Kernels from other tools: ImageMagick's kernel strings and libvips matrix files.

So that a kernel a user already has for ``magick -morphology Convolve`` or ``vips conv``
works as it is.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import KernelError
from .kernel import Kernel
from .validate import MAX_KERNEL_SIDE, NUMBER, check_side, finite, number_text

__all__ = ["kernel_from_magick", "kernel_from_vips_matrix", "is_magick", "VIPS_SUFFIXES"]


# ImageMagick's user-defined kernel: "[geometry:] value, value ..." where geometry is W, WxH,
# optionally +X+Y (the origin); values are separated by commas and/or white space, and
# "nan" or a lone "-" marks a cell that is not part of the neighbourhood. (MagickCore's
# ParseKernelArray; https://imagemagick.org/Usage/morphology/#user). The @ < > flags (lists
# of rotated kernels) and ';'-separated kernel lists are not supported.
# (every \s* is followed by a token that is not a space, so matching takes linear time)
_MAGICK = re.compile(
    r"\s*(?P<width>\d+)\s*(?:[xX]\s*(?P<height>\d+)\s*)?"
    r"(?:(?P<x>[+-]\s*\d+)\s*(?P<y>[+-]\s*\d+)\s*)?(?:(?P<flags>[@<>!%^]+)\s*)?:(?P<values>.*)",
    re.DOTALL,
)
_MAGICK_START = re.compile(r"\s*\d+\s*(?:[xX]\s*\d+\s*)?(?:[+-]\s*\d+\s*[+-]\s*\d+\s*)?(?:[@<>!%^]+\s*)?:")


def is_magick(text: str) -> bool:
    return bool(_MAGICK_START.match(text))


def _side(raw: str, what: str, text: str) -> int:
    digits = re.sub(r"\s", "", raw)
    if len(digits.lstrip("+-0")) > 6:
        raise KernelError(f"ImageMagick kernel {what} {digits[:12]}... is too large; the largest side is {MAX_KERNEL_SIDE}", _short_spec(text))
    sign = "-" if digits.startswith("-") else ""
    return int(sign + (digits.lstrip("+-").lstrip("0") or "0"))  # int() refuses > 4300 digits, zeros too


def _short_spec(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def kernel_from_magick(text: str) -> Kernel:
    """A kernel from an ImageMagick kernel string (``-morphology``/``-convolve`` syntax).

    ``WxH:`` gives the size (``W:`` a square), ``+X+Y`` the origin (our anchor ``[X, Y]``;
    by default the centre, and for even sizes the cell just above and left of it, as
    ImageMagick does). ``nan`` or ``-`` ("not part of the neighbourhood") become weight 0,
    which is what they mean for a convolution. The weights are used as written, as
    correlation weights: ImageMagick's ``-morphology Correlate`` (its ``Convolve`` flips the
    kernel first, as ``--mode convolve`` does).

    >>> k = kernel_from_magick("3x3: -1,-1,-1,-1,8,-1,-1,-1,-1")
    >>> from imgconv.kernels import load_kernel
    >>> k.weights.tolist() == load_kernel("edge").weights.tolist(), k.anchor
    (True, (1, 1))
    >>> kernel_from_magick("2x3+1+1: 1,- 1,- 1,1").weights.tolist()
    [[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
    """
    where = _short_spec(text)
    match = _MAGICK.fullmatch(text)
    if not match:
        raise KernelError(
            "not an ImageMagick kernel; write it as WxH: values or WxH+X+Y: values, e.g. '3x3: 0,1,0,1,-4,1,0,1,0'",
            where,
        )
    if match["flags"]:
        raise KernelError(
            f"ImageMagick's {match['flags']!r} flag (a list of rotated kernels) is not supported; "
            "give one kernel, or a combined kernel file (\"kernels\", \"combine\")",
            where,
        )
    width = _side(match["width"], "width", text)
    height = _side(match["height"], "height", text) if match["height"] else width
    if width < 1 or height < 1:
        raise KernelError(f"ImageMagick kernel size {width}x{height} must be at least 1x1", where)
    check_side((height, width), where)
    body = match["values"]
    if ";" in body:
        body, _, rest = body.partition(";")
        if rest.strip(" \t\r\n;"):
            raise KernelError("a list of ImageMagick kernels (separated by ';') is not supported; give one", where)
    if ":" in body:
        raise KernelError("an ImageMagick kernel has one ':' (after its size)", where)
    tokens = re.split(r"[\s,]+", body.strip().strip(","))
    if re.search(r",\s*,", body):
        raise KernelError("an empty value between two commas", where)
    tokens = [t for t in tokens if t]
    expected = width * height
    if len(tokens) != expected:
        raise KernelError(
            f"a {width}x{height} ImageMagick kernel needs {expected} value{'s' if expected != 1 else ''}, "
            f"got {len(tokens)}",
            where,
        )
    values = []
    for i, token in enumerate(tokens):
        if token == "-" or token.lower() == "nan":
            values.append(0.0)  # not part of the neighbourhood: contributes nothing
            continue
        if not NUMBER.fullmatch(token):
            raise KernelError(f"value {i + 1} ({token!r}) is not a number (or nan / - for 'not in the neighbourhood')", where)
        values.append(finite(float(token), f"value {i + 1}", where))
    if all(t == "-" or t.lower() == "nan" for t in tokens):
        raise KernelError("every value is nan or -; a kernel needs at least one number", where)
    if match["x"] is not None:
        x, y = (_side(match[key], "origin", text) for key in ("x", "y"))
        if x < 0 or y < 0 or x >= width or y >= height:
            raise KernelError(
                f"origin +{x}+{y} lies outside the {width}x{height} kernel (x must be 0..{width - 1}, "
                f"y 0..{height - 1})",
                where,
            )
        anchor = (x, y)
    else:
        anchor = ((width - 1) // 2, (height - 1) // 2)  # ImageMagick: top-left of centre for even sizes
    return Kernel(
        np.array(values, dtype=np.float64).reshape(height, width),
        anchor=anchor,
        name="kernel",
        description=f"ImageMagick kernel {where}",
        source="an ImageMagick kernel string",
        origin=None,
    )


# libvips matrix files (vips_matrixload, https://www.libvips.org/API/current/ctor.Image.matrixload.html):
# a first line "width height [scale [offset]]", then one row of numbers per line, separated by
# any mixture of spaces, commas, tabs and double quotes. vips_conv computes
# sum(pixel * mask) / scale + offset, so scale is our divisor. ".con" files are the integer
# masks of VIPS 7 (im_read_imask: the same text, every number whole).
VIPS_SUFFIXES = (".mat", ".con")
_VIPS_SEPARATORS = re.compile(r'[ \t,"]+')


def kernel_from_vips_matrix(text: str, *, origin: str | None = None, name: str = "kernel", integer: bool = False) -> Kernel:
    """A kernel from the text of a libvips matrix file (``.mat``; ``integer`` for ``.con``).

    >>> k = kernel_from_vips_matrix("3 3 9 0\\n1 1 1\\n1 1 1\\n1 1 1\\n")
    >>> k.divisor, k.offset, k.sum
    (9.0, 0.0, 1.0)
    """
    lines = text.splitlines()
    kind = "libvips integer mask (.con)" if integer else "libvips matrix"

    def numbers(line: str, where: str) -> list[float]:
        out = []
        for token in filter(None, _VIPS_SEPARATORS.split(line.strip())):
            if not NUMBER.fullmatch(token):
                raise KernelError(f"{where}: {token!r} is not a number ('.' is the decimal separator)", origin)
            value = finite(float(token), where, origin)
            if integer and not value.is_integer():
                raise KernelError(f"{where}: {token} is not a whole number; a .con mask holds whole numbers only (use .mat)", origin)
            out.append(value)
        return out

    if not lines or not lines[0].strip():
        raise KernelError(f"the first line of a {kind} file must be: width height [scale [offset]]", origin)
    header = numbers(lines[0], "line 1")
    if not 2 <= len(header) <= 4:
        raise KernelError(
            f"line 1 has {len(header)} numbers; a {kind} file starts with: width height [scale [offset]]", origin
        )
    width, height = header[0], header[1]
    if not (width.is_integer() and height.is_integer() and width >= 1 and height >= 1):
        raise KernelError(f"line 1: width and height must be whole numbers of at least 1, got {number_text(width)} {number_text(height)}", origin)
    check_side((int(height), int(width)), origin)
    width, height = int(width), int(height)
    scale = header[2] if len(header) > 2 else 1.0
    offset = header[3] if len(header) > 3 else 0.0
    if scale == 0:
        raise KernelError("line 1: scale is 0; the results are divided by it", origin)
    rows = []
    for number, line in enumerate(lines[1 : height + 1], 2):
        row = numbers(line, f"line {number}")
        if len(row) != width:
            raise KernelError(f"line {number} has {len(row)} numbers; the header says the width is {width}", origin)
        rows.append(row)
    if len(rows) < height:
        raise KernelError(f"the header says {height} rows but the file has {len(rows)}", origin)
    extra = [n for n, line in enumerate(lines[height + 1 :], height + 2) if line.strip()]
    if extra:
        raise KernelError(f"line {extra[0]}: more rows than the header's height {height}", origin)
    return Kernel(
        rows,
        divisor=scale,
        offset=offset,
        name=name,
        description=f"{width}x{height} {kind}",
        source=f"a {kind} file",
        origin=origin,
    )

