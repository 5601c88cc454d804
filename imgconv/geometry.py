"""Output geometry: stride, dilation, padding and transposed convolution, per axis.

For an axis of ``n`` pixels, a kernel of ``k`` taps, dilation ``d`` (so the kernel spans
``K = d*(k-1) + 1`` pixels), stride ``s`` and padding ``p`` on each side:

* ``out = floor((n + 2p - d*(k-1) - 1) / s) + 1``                  (convolution)
* ``out = (n-1)*s - 2p + d*(k-1) + output_padding + 1``            (transposed, as PyTorch)

Padding names: ``valid`` is ``p = 0`` (only where the kernel fits inside the image),
``full`` is ``p = K - 1`` (every position where kernel and image overlap, the extension
made with the border mode), and ``same`` keeps the size: the kernel's anchor sits on every
pixel (``cv2.filter2D``), and a stride then samples that result ``[::s]``, so
``out = floor((n-1)/s) + 1``.

Pairs are written ``N`` (both axes) or ``RxC``: rows by columns, like ``HxW`` sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

__all__ = ["Geometry", "parse_pair", "parse_padding", "output_size", "PADDING_NAMES"]

PADDING_NAMES = ("same", "valid", "full")
_PAIR = re.compile(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?")


def parse_pair(text: str | int | tuple[int, int], what: str, *, minimum: int = 1) -> tuple[int, int]:
    """``"2"`` -> ``(2, 2)``; ``"2x3"`` -> ``(2, 3)`` (rows, columns).

    >>> parse_pair("2x3", "stride")
    (2, 3)
    """
    if isinstance(text, tuple):
        pair = text
    elif isinstance(text, int) and not isinstance(text, bool):
        pair = (text, text)
    else:
        match = _PAIR.fullmatch(str(text))
        if not match:
            raise UsageError(f"{what} must be a whole number N or RxC (rows x columns), not {text!r}")
        rows = int(match.group(1))
        pair = (rows, int(match.group(2)) if match.group(2) else rows)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= minimum for v in pair):
        raise UsageError(f"{what} must be at least {minimum}, got {text!r}")
    return pair  # type: ignore[return-value]


def parse_padding(text: str | int | tuple[int, int]) -> str | tuple[int, int]:
    """``same``/``valid``/``full``, or explicit pixels per side: ``N`` or ``RxC``.

    >>> parse_padding("valid"), parse_padding("1x2")
    ('valid', (1, 2))
    """
    if isinstance(text, str) and text.strip().lower() in PADDING_NAMES:
        return text.strip().lower()
    try:
        return parse_pair(text, "padding", minimum=0)
    except UsageError:
        raise UsageError(
            f"padding must be one of {', '.join(PADDING_NAMES)} or a number of pixels (N or RxC), not {text!r}"
        ) from None


def output_size(
    n: int,
    k: int,
    *,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
    transposed: bool = False,
    output_padding: int = 0,
) -> int:
    """The output length of one axis; a :class:`UsageError` when it would be 0 or less.

    >>> output_size(64, 3, stride=2, padding=1)
    32
    >>> output_size(32, 3, stride=2, padding=1, transposed=True, output_padding=1)
    64
    """
    for value, what in ((n, "size"), (k, "kernel size"), (stride, "stride"), (dilation, "dilation")):
        if value < 1:
            raise UsageError(f"{what} must be at least 1, got {value}")
    span = dilation * (k - 1) + 1
    if transposed:
        p = _pixels(padding, span, transposed=True)
        if not 0 <= output_padding < max(stride, dilation):
            raise UsageError(
                f"output padding must be smaller than the stride or the dilation, got {output_padding}"
            )
        out = (n - 1) * stride - 2 * p + span + output_padding
    elif padding == "same":
        out = (n - 1) // stride + 1
    else:
        out = (n + 2 * _pixels(padding, span) - span) // stride + 1
    if out < 1:
        raise UsageError(
            f"no output: a size of {n} with a kernel spanning {span} pixels, stride {stride}, "
            f"padding {padding} gives {out}"
        )
    return out


def _pixels(padding: int | str, span: int, *, transposed: bool = False) -> int:
    if isinstance(padding, int):
        if padding < 0:
            raise UsageError(f"padding must be at least 0, got {padding}")
        return padding
    if padding == "valid":
        return 0
    if padding == "full" and not transposed:
        return span - 1
    raise UsageError(f"padding {padding!r} is not defined here; give a number of pixels")


@dataclass(frozen=True)
class Geometry:
    """Stride, dilation and padding for both axes (rows, columns), and transposition."""

    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int] = "same"
    transposed: bool = False

    @classmethod
    def parse(cls, stride="1", dilation="1", padding=None, transposed=False) -> "Geometry":  # noqa: ANN001
        """From the CLI's strings; padding defaults to ``same`` (``0`` when transposed)."""
        if padding is None:
            padding = (0, 0) if transposed else "same"
        geometry = cls(parse_pair(stride, "stride"), parse_pair(dilation, "dilation"), parse_padding(padding), transposed)
        if transposed and geometry.padding in ("same", "full"):
            raise UsageError("a transposed convolution takes padding 'valid' or a number of pixels")
        return geometry

    @property
    def is_plain(self) -> bool:
        """Same size, every pixel, undilated: exactly what cv2.filter2D computes."""
        return self == Geometry()

    def pixels(self, axis: int, span: int) -> int:
        """Padding on each side of ``axis`` (0 rows, 1 columns) for a kernel spanning ``span``."""
        if isinstance(self.padding, tuple):
            return self.padding[axis]
        return _pixels(self.padding, span, transposed=self.transposed)

    def output_shape(self, shape: tuple[int, int], kernel_shape: tuple[int, int]) -> tuple[int, int]:
        """Output (rows, columns) for an image and a kernel (rows, columns)."""
        return tuple(  # type: ignore[return-value]
            output_size(
                shape[axis],
                kernel_shape[axis],
                stride=self.stride[axis],
                dilation=self.dilation[axis],
                padding=self.padding if isinstance(self.padding, str) else self.padding[axis],
                transposed=self.transposed,
            )
            for axis in (0, 1)
        )
