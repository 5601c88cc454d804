"""Kernels: the :class:`Kernel` value, the spec grammar, and strict JSON loading.

One parser, :func:`load_kernel`, reads every kernel spec the CLI and the API accept:

* a registered name: ``edge``, ``sobel-x``, ``sharpen`` ... (the JSON files of the
  top-level ``kernels/`` folder, plus the parametric kernels below);
* a name with parameters: ``gaussian:size=7,sigma=1.5``, ``box:size=5``,
  ``log:size=9,sigma=1.4``, ``motion:length=15,angle=30``;
* an inline matrix: ``[[0,-1,0],[-1,5,-1],[0,-1,0]]`` (JSON);
* a path to a kernel JSON file: anything ending in ``.json``, containing a ``/``, or naming
  an existing file that is not a registered name;
* an ImageMagick kernel string: ``3x3: -1,-1,-1,-1,8,-1,-1,-1,-1``, ``WxH+X+Y: ...`` (the
  origin ``+X+Y`` becomes the anchor), ``W: ...`` for a square; ``nan`` or a lone ``-``
  ("not part of the neighbourhood") becomes a weight of 0;
* a libvips matrix file ``*.mat`` (first line ``W H [scale [offset]]``, then H rows of W
  numbers; scale is the divisor), or ``*.con``, the same text with whole numbers only.

Combined kernels (``"kernels": [...]`` with ``"combine": "magnitude" | "max" | "sum"``)
correlate the image with each part and combine the results pixel by pixel: ``sobel`` is
the gradient magnitude ``sqrt(gx**2 + gy**2)``, ``kirsch`` the maximum of 8 compass kernels.

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
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import KernelError, UsageError

__all__ = [
    "Kernel",
    "load_kernel",
    "load_kernel_chain",
    "load_kernel_file",
    "kernel_from_json",
    "kernel_names",
    "named_kernels",
    "PARAMETRIC",
    "COMBINE_MODES",
    "Factors",
    "inspect_kernel",
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
    "channels", "pointwise", "kernels", "combine",
)
# What `kernels show --json` adds; accepted and ignored so that its output is a kernel file.
DERIVED_KEYS = (
    "shape", "sum", "separable", "rank", "factors", "symmetric", "symmetry", "zero_sum",
    "sums_to_one", "dilation", "effective_size", "flipped", "rotation",
)

COMBINE_MODES = ("magnitude", "max", "sum")
"""How the results of a combined kernel's parts are merged, pixel by pixel."""
COMBINE_HELP = {
    "magnitude": "sqrt of the sum of the squared part results (gradient magnitude)",
    "max": "the largest part result (compass filters)",
    "sum": "the sum of the part results",
}
MAX_PARTS = 16
"""The most kernels a combined kernel may have."""


def _number_text(value: float) -> str:
    """A number as a person writes it: ``2`` not ``2.0``, ``0.25`` not ``0.25000``."""
    value = float(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _jsonable(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


class Factors(NamedTuple):
    """A separable kernel's two 1-D factors: ``weights == outer(column, row)``.

    ``exact`` is True when they were found in whole numbers (times a power of two), so the
    product is exactly the weights; otherwise they come from the singular value
    decomposition and reproduce the weights to rounding.
    """

    column: np.ndarray
    row: np.ndarray
    exact: bool


@dataclass(frozen=True, eq=False)
class Kernel:
    """A convolution kernel: weights, divisor, offset and anchor.

    Parameters
    ----------
    weights : array_like
        2-D correlation weights (as ``cv2.filter2D`` takes them), before the divisor.
        None for a combined kernel (``parts``): it takes its first part's.
    divisor : float
        The weighted sum is divided by it (``blur`` is ones with divisor 9).
    offset : float
        Added after dividing, in the image's units.
    anchor : (int, int), optional
        ``(x, y)``: the kernel cell that lies over the output pixel. Default: the centre,
        ``(cols // 2, rows // 2)``.
    name, description, source : str
        What the kernel is called, what it does, and where its numbers come from.
    channels : tuple of Kernel
        One kernel per colour channel (RGB order); ``pointwise`` mixes channels afterwards.
    parts, combine : tuple of Kernel, str
        A combined kernel: the image is correlated with every part (2 to 16 kernels of one
        size and anchor) and the results are merged pixel by pixel by ``combine``, one of
        ``COMBINE_MODES``. ``weights``, ``divisor``, ``offset`` and ``anchor`` are then
        those of the first part.

    Examples
    --------
    >>> k = Kernel([[1, 2, 1]], divisor=4, name="smooth-x")
    >>> k.anchor, k.sum
    ((1, 0), 1.0)
    >>> k.flipped().weights.tolist()
    [[1.0, 2.0, 1.0]]
    >>> both = Kernel(None, parts=(Kernel([[-1, 0, 1]]), Kernel([[1, 0, -1]])), combine="max")
    >>> both.combined, both.weights.tolist()
    (True, [[-1.0, 0.0, 1.0]])
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
    parts: tuple["Kernel", ...] = ()
    combine: str | None = None

    def __post_init__(self) -> None:
        if self.parts or self.combine is not None:
            self._take_first_part()
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
        # the engines take weights / divisor as float32: a tiny divisor must not make it inf
        with np.errstate(over="ignore"):
            largest = float(np.abs(weights).max() / abs(divisor))  # a negative divisor too
        if not largest <= _FLOAT32_MAX:
            raise KernelError(
                f"the weights divided by the divisor {_number_text(divisor)} reach {largest:.3g}, "
                "beyond float32's range",
                self.origin,
            )
        object.__setattr__(self, "offset", _finite(self.offset, "offset", self.origin))
        anchor = self.anchor
        if anchor is None:
            anchor = (cols // 2, rows // 2)
        anchor = _validate_anchor(anchor, rows, cols, self.origin)
        object.__setattr__(self, "anchor", anchor)

    def _take_first_part(self) -> None:
        """A combined kernel: check its parts; weights, divisor, offset, anchor = the first's."""
        parts = _validate_parts(self.parts, self.combine, self.origin)
        if self.channels or self.pointwise is not None:
            raise KernelError('a combined kernel ("kernels") cannot also have channels or pointwise', self.origin)
        first = parts[0]
        if self.weights is not None:  # e.g. dataclasses.replace(): must be the first part's
            given = (_validate_matrix(self.weights, self.origin), self.divisor, self.offset, self.anchor)
            if not (
                given[0].shape == first.shape
                and np.array_equal(given[0], first.weights)
                and given[1] == first.divisor
                and given[2] == first.offset
                and (given[3] is None or tuple(given[3]) == first.anchor)
            ):
                raise KernelError(
                    "a combined kernel takes its weights, divisor, offset and anchor from its first "
                    "part; give them inside each part",
                    self.origin,
                )
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "weights", first.weights)
        object.__setattr__(self, "divisor", first.divisor)
        object.__setattr__(self, "offset", first.offset)
        object.__setattr__(self, "anchor", first.anchor)

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

    def reach(self, magnitude: float) -> float:
        """The largest ``|value|`` the kernel's sums can take for pixels of at most
        ``magnitude``: ``sum(|weights|) / |divisor| * magnitude + |offset|``, taken over
        the parts of a combined kernel (summed) or the channel kernels (the largest, then
        through ``pointwise``). Float32 rounding in such sums is relative to it.

        >>> Kernel([[1, -2, 1]], divisor=2, offset=3).reach(255)
        513.0
        """
        if self.parts:
            return float(sum(part.reach(magnitude) for part in self.parts))
        if self.per_channel:
            reach = max([k.reach(magnitude) for k in self.channels] or [self._own_reach(magnitude)])
            if self.pointwise is not None:
                reach *= float(np.abs(np.asarray(self.pointwise, np.float64)).sum(axis=1).max())
            return reach
        return self._own_reach(magnitude)

    def _own_reach(self, magnitude: float) -> float:
        from .weights import sum_reach

        return sum_reach(self.effective, magnitude, self.offset)

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

    @property
    def combined(self) -> bool:
        """True for a combined kernel: several parts merged by ``combine``."""
        return bool(self.parts)

    @property
    def single(self) -> bool:
        """True for one plain matrix (not per-channel, not combined)."""
        return not (self.per_channel or self.combined)

    def factors(self) -> Factors | None:
        """The two 1-D factors of a separable kernel's weights, or None.

        Whole-number (or whole times a power of two) weights give whole-number factors with
        the row's numbers coprime, found exactly; other weights give float factors from the
        singular value decomposition. Signs are chosen so that the factor with the larger
        absolute sum (the smoothing one) sums to a positive number. The divisor is not
        included: ``outer(column, row) / divisor`` is the effective kernel.

        >>> f = load_kernel("sobel-x").factors()
        >>> f.column.tolist(), f.row.tolist(), f.exact
        ([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0], True)
        """
        if not self.single or self.rank != 1:
            return None
        exact = _integer_factors(self.weights)
        if exact is not None:
            column, row = exact
        else:
            u, s, vt = np.linalg.svd(self.weights)
            root = math.sqrt(float(s[0]))
            # 12 significant digits: the decomposition's last-bit noise is not worth showing
            column, row = (np.array([float(f"{v:.12g}") for v in f]) for f in (u[:, 0] * root, vt[0] * root))
        column, row = _canonical_signs(np.asarray(column, np.float64), np.asarray(row, np.float64))
        return Factors(column, row, exact is not None)

    def symmetry(self) -> dict[str, str | None] | None:
        """How the weights mirror: about the centre, left-right and up-down.

        Each is ``"even"`` (the mirrored matrix is the same), ``"odd"`` (it is the negation,
        as derivative kernels are) or None. ``centre`` compares with the 180-degree rotation,
        which is what ``--mode convolve`` uses: an even kernel gives the same result either
        way, an odd one the negated result (for a centred anchor). None for per-channel and
        combined kernels.

        >>> load_kernel("sobel-x").symmetry()
        {'centre': 'odd', 'left_right': 'odd', 'up_down': 'even'}
        """
        if not self.single:
            return None
        w = self.weights
        scale = float(np.abs(w).max()) or 1.0

        def kind(mirrored: np.ndarray) -> str | None:
            if np.allclose(mirrored, w, rtol=0, atol=1e-12 * scale):
                return "even"
            if np.allclose(mirrored, -w, rtol=0, atol=1e-12 * scale):
                return "odd"
            return None

        return {"centre": kind(w[::-1, ::-1]), "left_right": kind(w[:, ::-1]), "up_down": kind(w[::-1, :])}

    # -- transformed copies -------------------------------------------------------------
    def _mapped(self, transform: Callable[[np.ndarray, tuple[int, int]], tuple[np.ndarray, tuple[int, int]]]) -> "Kernel":
        """A copy with ``transform(weights, anchor)`` applied to every matrix it holds."""
        if self.parts:
            return Kernel(
                None,
                name=self.name,
                description=self.description,
                source=self.source,
                origin=self.origin,
                parts=tuple(part._mapped(transform) for part in self.parts),
                combine=self.combine,
            )
        weights, anchor = transform(self.weights, self.anchor)  # type: ignore[arg-type]
        return Kernel(
            np.ascontiguousarray(weights),
            divisor=self.divisor,
            offset=self.offset,
            anchor=anchor,
            name=self.name,
            description=self.description,
            source=self.source,
            origin=self.origin,
            channels=tuple(k._mapped(transform) for k in self.channels),
            pointwise=self.pointwise,
        )

    def flipped(self) -> "Kernel":
        """The kernel rotated by 180 degrees with its anchor mirrored.

        Correlating with the flipped kernel is the mathematical convolution
        (``--mode convolve``). Per-channel kernels and the parts of a combined kernel are each
        flipped; ``pointwise`` stays.
        """

        def flip(weights: np.ndarray, anchor: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
            rows, cols = weights.shape
            return weights[::-1, ::-1], (cols - 1 - anchor[0], rows - 1 - anchor[1])

        return self._mapped(flip)

    def rotated(self, degrees: int) -> "Kernel":
        """The kernel turned counter-clockwise by ``degrees`` (negative: clockwise).

        Multiples of 90 are exact (``np.rot90``, the anchor turned with its cell); odd
        multiples of 45 are for 3x3 kernels and move each of the 8 neighbours one place
        round the ring per 45 degrees, as compass kernels (Kirsch, Robinson) are made.
        Anything else is a :class:`~imgconv.errors.UsageError` saying what is allowed.

        >>> load_kernel("sobel-x").rotated(90).weights.tolist()
        [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]
        >>> Kernel([[5, 5, 5], [-3, 0, -3], [-3, -3, -3]]).rotated(45).weights.tolist()
        [[5.0, 5.0, -3.0], [5.0, 0.0, -3.0], [-3.0, -3.0, -3.0]]
        """
        allowed = (
            "multiples of 90 degrees (90, 180, 270, -90 ...) for any kernel, "
            "or of 45 degrees (45, 135 ...) for 3x3 kernels; positive turns counter-clockwise"
        )
        if isinstance(degrees, bool) or not isinstance(degrees, (int, np.integer)) or degrees % 45:
            raise UsageError(f"cannot rotate by {degrees!r} degrees; rotations are {allowed}")
        steps = (int(degrees) // 45) % 8
        if steps % 2:
            shapes = {m.shape for m in self._matrices()}
            if shapes != {(3, 3)}:
                size = " and ".join(f"{r}x{c}" for r, c in sorted(shapes))
                raise UsageError(
                    f"cannot rotate the {size} kernel {self.name} by {degrees} degrees: a 45-degree "
                    f"turn moves the ring of 8 neighbours, so it needs a 3x3 kernel; rotations are {allowed}"
                )
        turned = self._mapped(_ring_step) if steps % 2 else self
        quarter_turns = steps // 2
        if quarter_turns:
            turned = turned._mapped(lambda w, a: _rot90(w, a, quarter_turns))
        return turned

    def _matrices(self) -> list[np.ndarray]:
        """Every weight matrix the kernel holds (its parts' or channels', else its own)."""
        if self.parts:
            return [m for part in self.parts for m in part._matrices()]
        return [self.weights] + [m for k in self.channels for m in k._matrices()]

    def to_dict(self) -> dict[str, Any]:
        """The kernel in the JSON format (plus ``sum``, ``separable``, ``shape``, ``rank``).

        Per-channel and combined kernels keep their matrices in ``channels`` / ``kernels``;
        the single-kernel keys (``kernel``, ``divisor`` ...) are then null.
        """
        single_keys = ("kernel", "divisor", "offset", "anchor", "sum", "separable", "rank")
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
            {key: None for key in single_keys} | {"channels": [_channel_dict(k) for k in self.channels]}
            if self.channels
            else {}
        ) | (
            {"pointwise": [[_jsonable(v) for v in row] for row in self.pointwise]}
            if self.pointwise is not None
            else {}
        ) | (
            {key: None for key in single_keys}
            | {"kernels": [_channel_dict(k) for k in self.parts], "combine": self.combine}
            if self.parts
            else {}
        )

    def __repr__(self) -> str:
        rows, cols = self.shape
        if self.parts:
            return (
                f"Kernel(name={self.name!r}, shape={rows}x{cols}, {len(self.parts)} parts "
                f"combined by {self.combine})"
            )
        return (
            f"Kernel(name={self.name!r}, shape={rows}x{cols}, divisor={_number_text(self.divisor)}, "
            f"offset={_number_text(self.offset)}, anchor={self.anchor})"
        )


# The 8 neighbours of a 3x3 kernel's centre, clockwise from the top-left corner (row, col).
_RING = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))


def _ring_step(weights: np.ndarray, anchor: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """A 3x3 kernel turned 45 degrees counter-clockwise: each neighbour one place round."""
    out = weights.copy()
    for i, cell in enumerate(_RING):
        out[cell] = weights[_RING[(i + 1) % 8]]
    ax, ay = anchor
    if (ay, ax) in _RING:  # the anchor cell moves with its weight
        ay, ax = _RING[(_RING.index((ay, ax)) - 1) % 8]
    return out, (ax, ay)


def _rot90(weights: np.ndarray, anchor: tuple[int, int], turns: int) -> tuple[np.ndarray, tuple[int, int]]:
    """``np.rot90`` (counter-clockwise) with the anchor cell turned along."""
    ax, ay = anchor
    for _ in range(turns % 4):
        cols = weights.shape[1]
        weights = np.rot90(weights)
        ax, ay = ay, cols - 1 - ax  # cell (row r, col c) goes to (cols - 1 - c, r)
    return weights, (ax, ay)


def _integer_factors(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact factors of whole-number weights (or whole numbers times a power of two)."""
    from .weights import integer_factors, integer_form

    scale, ints, _shift = integer_form(weights)
    if ints is None or np.abs(ints).max() >= 2**31:
        return None
    if scale != 1.0 and math.frexp(scale)[0] != 0.5:  # only powers of two stay exact
        return None
    found = integer_factors(ints)
    if found is None:
        return None
    column, row = found
    return column.astype(np.float64) * scale, row.astype(np.float64)


def _canonical_signs(column: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip both factors so that the one with the larger ``|sum|`` sums to a positive number.

    Sobel-x becomes ``[1, 2, 1] x [-1, 0, 1]`` and Sobel-y ``[-1, 0, 1] x [1, 2, 1]``: the
    smoothing factor positive, the derivative factor as the kernel has it.
    """
    c_sum, r_sum = float(column.sum()), float(row.sum())
    tiny = 1e-12 * max(float(np.abs(column).sum()), float(np.abs(row).sum()), 1.0)
    lead = c_sum if abs(c_sum) >= abs(r_sum) else r_sum
    if abs(lead) <= tiny:  # both sum to zero: make the column's first non-zero positive
        nonzero = column[np.abs(column) > tiny]
        lead = float(nonzero[0]) if nonzero.size else 1.0
    if lead < 0:
        column, row = -column, -row
    return column + 0.0, row + 0.0  # no negative zeros


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
    if any(not k.single for k in channels):
        raise KernelError("a kernel in channels cannot have channels, pointwise or kernels of its own", origin)


def _validate_parts(parts: Any, combine: Any, origin: str | None) -> tuple[Kernel, ...]:
    """A combined kernel's parts: 2 to 16 plain kernels of one size and anchor, and a mode."""
    if combine is None:
        raise KernelError(
            f'"kernels" needs "combine": how to merge the parts\' results, one of: {", ".join(COMBINE_MODES)}',
            origin,
        )
    if not isinstance(combine, str) or combine not in COMBINE_MODES:
        shown = repr(combine) if isinstance(combine, str) else _json_type(combine)
        raise KernelError(f"unknown combine {shown}; expected one of: {', '.join(COMBINE_MODES)}", origin)
    if not parts:
        raise KernelError(f'"combine": "{combine}" needs "kernels": the list of kernels to combine', origin)
    if not isinstance(parts, (list, tuple)) or not all(isinstance(k, Kernel) for k in parts):
        raise KernelError("kernels must be a list of kernels", origin)
    if not 2 <= len(parts) <= MAX_PARTS:
        raise KernelError(f"a combined kernel has 2 to {MAX_PARTS} kernels, got {len(parts)}", origin)
    shapes = {k.shape for k in parts}
    if len(shapes) > 1:
        raise KernelError(
            "every kernel in kernels must have the same size "
            f"(got sizes {', '.join(f'{r}x{c}' for r, c in sorted(shapes))})",
            origin,
        )
    anchors = {k.anchor for k in parts}
    if len(anchors) > 1:
        raise KernelError(
            f"every kernel in kernels must have the same anchor (got {', '.join(str(list(a)) for a in sorted(anchors))})",
            origin,
        )
    if any(not k.single for k in parts):
        raise KernelError("a kernel in kernels cannot have channels, pointwise or kernels of its own", origin)
    return tuple(parts)


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
    if isinstance(value, (int, float)):
        return f"a number ({_short(value)})"
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
            f"not {_json_type(obj)}",
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


def _check_text_keys(obj: dict, origin: str | None) -> None:
    for key in ("name", "description", "source"):
        if key in obj and not isinstance(obj[key], str):
            raise KernelError(f"{key} must be a string, not {_json_type(obj[key])}", origin)


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
        raise KernelError(f"kernels must be a list of 2 to {MAX_PARTS} kernels, not {_json_type(entries)}", origin)
    if len(entries) > MAX_PARTS:  # before loading them
        raise KernelError(f"a combined kernel has 2 to {MAX_PARTS} kernels, got {len(entries)}", origin)
    parts = []
    for i, entry in enumerate(entries, 1):
        where = f"{origin or 'kernel'}, kernel {i}"
        if isinstance(entry, str):
            if _looks_like_path(entry.strip()):
                raise KernelError(f"kernel {i}: give a name, name:key=value or a matrix, not a file", origin)
            part = load_kernel(entry)
        elif isinstance(entry, (list, dict)):
            # refused before recursing: nested "kernels" gave a message naming every level
            if isinstance(entry, dict) and any(entry.get(key) is not None for key in ("kernels", "combine", "channels", "pointwise")):
                raise KernelError(f"kernel {i} cannot have channels, pointwise or kernels of its own", origin)
            part = kernel_from_json(entry, origin=where, default_name=f"kernel-{i}")
        else:
            raise KernelError(f"kernel {i} must be a kernel object, a matrix or a name, not {_json_type(entry)}", origin)
        if not part.single:
            raise KernelError(f"kernel {i} cannot have channels, pointwise or kernels of its own", origin)
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
    return kernel_from_json(_parse_json(text, origin), origin=origin, default_name=stem)


# -- foreign kernel formats -----------------------------------------------------------------
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


def _is_magick(text: str) -> bool:
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
    _check_side((height, width), where)
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
        if not _NUMBER.fullmatch(token):
            raise KernelError(f"value {i + 1} ({token!r}) is not a number (or nan / - for 'not in the neighbourhood')", where)
        values.append(_finite(float(token), f"value {i + 1}", where))
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
            if not _NUMBER.fullmatch(token):
                raise KernelError(f"{where}: {token!r} is not a number ('.' is the decimal separator)", origin)
            value = _finite(float(token), where, origin)
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
        raise KernelError(f"line 1: width and height must be whole numbers of at least 1, got {_number_text(width)} {_number_text(height)}", origin)
    _check_side((int(height), int(width)), origin)
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
    sigma64 = np.float64(sigma)  # overflow gives inf (checked below), not an OverflowError
    with np.errstate(all="ignore"):
        h = np.exp(-x2 / (2 * sigma64 * sigma64))
        h /= h.sum()
        h1 = h * (x2 - 2 * sigma64 * sigma64) / sigma64**4
        weights = h1 - h1.sum() / h1.size  # zero sum: flat areas give 0
    if not (np.all(np.abs(weights) <= _FLOAT32_MAX) and (weights.any() or size == 1)):
        raise KernelError(
            f"log: sigma {sigma:g} is too {'small' if sigma < 1 else 'large'} for a {size}x{size} kernel "
            f"(its weights {'overflow' if sigma < 1 else 'vanish'} in floating point)"
        )
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
        return kernel_from_json(_parse_json(text, "inline kernel"), origin="inline kernel")
    if text.startswith("{"):
        return kernel_from_json(_parse_json(text, "inline kernel"), origin="inline kernel")
    if "\0" in text:
        raise KernelError("a kernel spec cannot contain a NUL byte", text)
    if _is_magick(text):
        return kernel_from_magick(text)
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
    if text.startswith(("[", "{")) or _is_magick(text) or ("\0" not in text and os.path.exists(text)):
        return [load_kernel(text)]
    parts = _CHAIN.split(text)
    if any(not part.strip() for part in parts):
        raise KernelError(f"empty kernel in the chain {spec!r}; write it as blur+sharpen")
    return [load_kernel(part) for part in parts]


# -- inspection ---------------------------------------------------------------------------
def inspect_kernel(kernel: Any, dilation: Any = 1) -> dict[str, Any]:
    """What ``imgconv kernels show --json`` prints: the kernel file keys and what they mean.

    Adds to :meth:`Kernel.to_dict`: ``factors`` (``{"column", "row", "exact"}`` when
    separable, see :meth:`Kernel.factors`), ``symmetric`` (equal to its 180-degree rotation,
    so ``--mode convolve`` changes nothing) and ``symmetry`` (:meth:`Kernel.symmetry`),
    ``zero_sum`` (an edge/derivative kernel: flat areas give 0) and ``sums_to_one`` (a
    smoothing kernel: flat areas keep their value), ``dilation`` and ``effective_size``:
    the rows and columns the kernel spans with its taps ``dilation`` apart,
    ``d * (k - 1) + 1``. Per-channel and combined kernels have null for the first four.

    >>> info = inspect_kernel("sobel-x", dilation=2)
    >>> info["factors"], info["symmetric"], info["effective_size"]
    ({'column': [1, 2, 1], 'row': [-1, 0, 1], 'exact': True}, False, [5, 5])
    """
    from .geometry import parse_pair

    kernel = load_kernel(kernel)
    dy, dx = parse_pair(dilation, "dilation")
    rows, cols = kernel.shape
    info = kernel.to_dict()
    factors = kernel.factors()
    symmetry = kernel.symmetry()
    total = kernel.sum
    tiny = 1e-12 * max(1.0, float(np.abs(kernel.effective).sum()))
    info |= {
        "factors": None
        if factors is None
        else {
            "column": [_jsonable(v) for v in factors.column],
            "row": [_jsonable(v) for v in factors.row],
            "exact": factors.exact,
        },
        "symmetric": None if symmetry is None else symmetry["centre"] == "even",
        "symmetry": symmetry,
        "zero_sum": abs(total) <= tiny if kernel.single else None,
        "sums_to_one": abs(total - 1) <= tiny if kernel.single else None,
        "dilation": [dy, dx],
        "effective_size": [dy * (rows - 1) + 1, dx * (cols - 1) + 1],
    }
    return info
