"""The options that change pixels, with their allowed values declared once.

Kept free of numpy and cv2 so that the CLI can build its ``--help`` from these tables
without paying for those imports at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .borders import BORDER_NAMES, DEFAULT_BORDER
from .engines import ENGINE_NAMES
from .errors import UsageError
from .geometry import Geometry

__all__ = ["FilterOptions", "MODES", "POSTS", "DEPTHS", "CHANNEL_ORDERS", "POST_HELP"]

MODES = ("correlate", "convolve")
POSTS = ("clip", "abs", "shift", "stretch")
DEPTHS = ("same", "uint8", "uint16", "float32", "float64")
CHANNEL_ORDERS = ("rgb", "bgr")

POST_HELP = {
    "clip": "saturate to the output range (negative edge responses become 0)",
    "abs": "absolute value, then saturate",
    "shift": "add half the range (128 for uint8), then saturate",
    "stretch": "min-max stretch over all colour channels together to the full range",
}


def check_choice(what: str, value: Any, allowed: tuple[str, ...]) -> None:
    """A :class:`UsageError` naming the allowed values unless ``value`` is one of them."""
    if value not in allowed:
        raise UsageError(f"unknown {what} {value!r}; expected one of: {', '.join(allowed)}")


@dataclass(frozen=True)
class FilterOptions:
    """How to filter: the options of ``imgconv apply`` that change pixels.

    ``engine`` in ENGINE_NAMES, ``border`` in BORDER_NAMES, ``mode`` in MODES, ``post``
    in POSTS, ``depth`` in DEPTHS, ``channel_order`` in CHANNEL_ORDERS (only ``gray``
    cares which). ``stride`` and ``dilation``: ``N`` or ``RxC`` (rows x columns);
    ``padding``: ``same`` (default), ``valid``, ``full`` or pixels per side (``N``, ``RxC``);
    ``transposed``: the transposed convolution (upsampling by the stride), see
    :mod:`imgconv.geometry`. Wrong values raise :class:`UsageError` listing the allowed ones.

    >>> FilterOptions(border="wrap").border
    'wrap'
    """

    engine: str = "auto"
    border: str = DEFAULT_BORDER
    border_value: float = 0.0
    mode: str = "correlate"
    post: str = "clip"
    depth: str = "same"
    gray: bool = False
    premultiply: bool = False
    channel_order: str = "rgb"
    stride: Any = 1
    dilation: Any = 1
    padding: Any = None
    transposed: bool = False

    def __post_init__(self) -> None:
        check_choice("engine", self.engine, ENGINE_NAMES)
        check_choice("border", self.border, BORDER_NAMES)
        check_choice("mode", self.mode, MODES)
        check_choice("post", self.post, POSTS)
        check_choice("depth", self.depth, DEPTHS)
        check_choice("channel order", self.channel_order, CHANNEL_ORDERS)
        try:
            value = float(self.border_value)
        except (TypeError, ValueError):
            raise UsageError(f"border value must be a number, not {self.border_value!r}") from None
        if not math.isfinite(value):
            raise UsageError(f"border value must be finite, not {self.border_value!r}")
        object.__setattr__(self, "border_value", value)
        self.geometry  # noqa: B018 - validates stride, dilation and padding now

    @property
    def geometry(self) -> Geometry:
        """Stride, dilation, padding and transposition, parsed (``N`` or ``RxC``)."""
        return Geometry.parse(self.stride, self.dilation, self.padding, self.transposed)
