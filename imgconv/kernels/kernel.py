"""The kernel value types: one matrix, one matrix per colour channel, or parts combined.

:class:`Kernel` is a single weight matrix with its divisor, offset and anchor.
:class:`ChannelKernels` filters each colour channel with its own kernel and may mix the
channels afterwards (``pointwise``); :class:`CombinedKernel` correlates the image with
2 to 16 parts and merges their results pixel by pixel. Both are kernels too (their own
matrix is the first channel's or part's), and ``Kernel(...)`` with ``channels``,
``pointwise``, ``parts`` or ``combine`` makes the matching type, so a consumer asks the
type once (``isinstance``) and every kernel answers ``reach``, ``flipped``, ``rotated``
and ``to_dict`` for itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, ClassVar, NamedTuple

import numpy as np

from ..errors import KernelError, UsageError
from ..weights import integer_factors, integer_form, sum_reach
from .validate import FLOAT32_MAX, finite, json_type, jsonable, number_text, validate_anchor, validate_matrix

__all__ = ["Kernel", "ChannelKernels", "CombinedKernel", "Factors", "COMBINE_MODES", "COMBINE_HELP", "MAX_PARTS"]

COMBINE_MODES = ("magnitude", "max", "sum")
"""How the results of a combined kernel's parts are merged, pixel by pixel."""
COMBINE_HELP = {
    "magnitude": "sqrt of the sum of the squared part results (gradient magnitude)",
    "max": "the largest part result (compass filters)",
    "sum": "the sum of the part results",
}
MAX_PARTS = 16
"""The most kernels a combined kernel may have."""

Transform = Callable[[np.ndarray, "tuple[int, int]"], "tuple[np.ndarray, tuple[int, int]]"]


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
    channels, pointwise : tuple of Kernel, array_like
        Make a :class:`ChannelKernels`: one kernel per colour channel (RGB order), and a
        matrix that mixes the channels afterwards.
    parts, combine : tuple of Kernel, str
        Make a :class:`CombinedKernel`: the image is correlated with every part (2 to 16
        kernels of one size and anchor) and the results are merged pixel by pixel by
        ``combine``, one of ``COMBINE_MODES``.

    Examples
    --------
    >>> k = Kernel([[1, 2, 1]], divisor=4, name="smooth-x")
    >>> k.anchor, k.sum
    ((1, 0), 1.0)
    >>> k.flipped().weights.tolist()
    [[1.0, 2.0, 1.0]]
    >>> both = Kernel(None, parts=(Kernel([[-1, 0, 1]]), Kernel([[1, 0, -1]])), combine="max")
    >>> type(both).__name__, both.combined, both.weights.tolist()
    ('CombinedKernel', True, [[-1.0, 0.0, 1.0]])
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

    single: ClassVar[bool] = True
    """True for one plain matrix (not per-channel, not combined)."""
    per_channel: ClassVar[bool] = False
    """True when colour channels get their own kernels or are mixed (``pointwise``)."""
    combined: ClassVar[bool] = False
    """True for a combined kernel: several parts merged by ``combine``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> "Kernel":
        if cls is Kernel:  # the one constructor makes the type its arguments describe
            given = dict(zip((f.name for f in fields(Kernel)), args)) | kwargs
            if given.get("parts") or given.get("combine") is not None:
                cls = CombinedKernel
            elif given.get("channels") or given.get("pointwise") is not None:
                cls = ChannelKernels
        return object.__new__(cls)

    def __post_init__(self) -> None:
        self._check_matrix()

    def _check_matrix(self) -> None:
        """Validate and store the weights, divisor, offset and anchor."""
        weights = validate_matrix(self.weights, self.origin)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        rows, cols = weights.shape
        divisor = finite(self.divisor, "divisor", self.origin)
        if divisor == 0:
            raise KernelError("divisor is 0; a kernel cannot divide by zero", self.origin)
        object.__setattr__(self, "divisor", divisor)
        # the engines take weights / divisor as float32: a tiny divisor must not make it inf
        with np.errstate(over="ignore"):
            largest = float(np.abs(weights).max() / abs(divisor))  # a negative divisor too
        if not largest <= FLOAT32_MAX:
            raise KernelError(
                f"the weights divided by the divisor {number_text(divisor)} reach {largest:.3g}, "
                "beyond float32's range",
                self.origin,
            )
        object.__setattr__(self, "offset", finite(self.offset, "offset", self.origin))
        anchor = self.anchor
        if anchor is None:
            anchor = (cols // 2, rows // 2)
        object.__setattr__(self, "anchor", validate_anchor(anchor, rows, cols, self.origin))

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
        ``magnitude``: ``sum(|weights|) / |divisor| * magnitude + |offset|`` (over the parts
        or channels of the other kinds). Float32 rounding in such sums is relative to it.

        >>> Kernel([[1, -2, 1]], divisor=2, offset=3).reach(255)
        513.0
        """
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

    def factors(self) -> Factors | None:
        """The two 1-D factors of a separable kernel's weights, or None.

        Whole-number (or whole times a power of two) weights give whole-number factors with
        the row's numbers coprime, found exactly; other weights give float factors from the
        singular value decomposition. Signs are chosen so that the factor with the larger
        absolute sum (the smoothing one) sums to a positive number. The divisor is not
        included: ``outer(column, row) / divisor`` is the effective kernel. None for
        per-channel and combined kernels.

        >>> f = Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]).factors()
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

        >>> Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]).symmetry()
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
    def _mapped(self, transform: Transform) -> "Kernel":
        """A copy with ``transform(weights, anchor)`` applied to every matrix it holds."""
        weights, anchor = transform(self.weights, self.anchor)  # type: ignore[arg-type]
        return replace(self, weights=np.ascontiguousarray(weights), anchor=anchor)

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

        >>> Kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]).rotated(90).weights.tolist()
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
            shapes = {m.shape for m in self.matrices()}
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

    def matrices(self) -> list[np.ndarray]:
        """Every weight matrix the kernel holds (its parts' or channels', and its own)."""
        return [self.weights]

    def to_dict(self) -> dict[str, Any]:
        """The kernel in the JSON format (plus ``sum``, ``separable``, ``shape``, ``rank``).

        Per-channel and combined kernels keep their matrices in ``channels`` / ``kernels``;
        the single-kernel keys (``kernel``, ``divisor`` ...) are then null.
        """
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "kernel": [[jsonable(v) for v in row] for row in self.weights],
            "divisor": jsonable(self.divisor),
            "offset": jsonable(self.offset),
            "anchor": list(self.anchor),  # type: ignore[arg-type]
            "shape": list(self.shape),
            "sum": jsonable(round(self.sum, 12)),
            "separable": self.separable,
            "rank": self.rank,
        }

    def _entry(self) -> dict[str, Any]:
        """This kernel as one entry of a ``channels`` or ``kernels`` list."""
        info = self.to_dict()
        return {key: info[key] for key in ("name", "kernel", "divisor", "offset", "anchor")}

    def __repr__(self) -> str:
        rows, cols = self.shape
        return (
            f"Kernel(name={self.name!r}, shape={rows}x{cols}, divisor={number_text(self.divisor)}, "
            f"offset={number_text(self.offset)}, anchor={self.anchor})"
        )


# The single-kernel keys of the JSON form, null where the matrices live in a list
_SINGLE_KEYS = ("kernel", "divisor", "offset", "anchor", "sum", "separable", "rank")


@dataclass(frozen=True, eq=False)
class ChannelKernels(Kernel):
    """Each colour channel filtered with its own kernel (``channels``, RGB order, 1 to 4
    kernels of one size and anchor), or every channel with this kernel's own matrix; then,
    with ``pointwise`` (1xC or 3xC), the channels mixed into 1 or 3 output channels.

    >>> k = Kernel([[1]], channels=(Kernel([[1]]), Kernel([[2]]), Kernel([[3]])))
    >>> type(k).__name__, [c.weights.tolist() for c in k.for_channels(3)]
    ('ChannelKernels', [[[1.0]], [[2.0]], [[3.0]]])
    """

    single: ClassVar[bool] = False
    per_channel: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.parts or self.combine is not None:
            raise KernelError('a combined kernel ("kernels") cannot also have channels or pointwise', self.origin)
        if self.channels:
            _check_channels(self.channels, self.origin)
            object.__setattr__(self, "channels", tuple(self.channels))
        if self.pointwise is not None:
            object.__setattr__(self, "pointwise", _check_pointwise(self.pointwise, self.channels, self.origin))
        self._check_matrix()

    def for_channels(self, count: int) -> tuple[Kernel, ...]:
        """The kernel of each of ``count`` colour channels (RGB order); a
        :class:`~imgconv.errors.UsageError` when the image has another number of them."""
        kernels = self.channels or (self,) * count
        if len(kernels) != count:
            raise UsageError(
                f"{self.name} has {len(kernels)} channel kernels but the image has {count} colour "
                f"channel{'s' if count != 1 else ''}"
            )
        if self.pointwise is not None and self.pointwise.shape[1] != count:
            raise UsageError(
                f"{self.name}'s pointwise matrix takes {self.pointwise.shape[1]} channels, the image has {count}"
            )
        return kernels

    def reach(self, magnitude: float) -> float:
        reach = max([k.reach(magnitude) for k in self.channels] or [super().reach(magnitude)])
        if self.pointwise is not None:
            reach *= float(np.abs(np.asarray(self.pointwise, np.float64)).sum(axis=1).max())
        return reach

    def _mapped(self, transform: Transform) -> "Kernel":
        return replace(super()._mapped(transform), channels=tuple(k._mapped(transform) for k in self.channels))

    def matrices(self) -> list[np.ndarray]:
        return [self.weights] + [k.weights for k in self.channels]

    def to_dict(self) -> dict[str, Any]:
        info = super().to_dict()
        if self.channels:  # the weights live in each channel; the single-kernel keys are null
            info |= {key: None for key in _SINGLE_KEYS} | {"channels": [k._entry() for k in self.channels]}
        if self.pointwise is not None:
            info["pointwise"] = [[jsonable(v) for v in row] for row in self.pointwise]
        return info


@dataclass(frozen=True, eq=False)
class CombinedKernel(Kernel):
    """The image correlated with each of ``parts`` (2 to 16 single kernels of one size and
    anchor), the results merged pixel by pixel by ``combine`` (:data:`COMBINE_MODES`).

    Its own weights, divisor, offset and anchor are its first part's.
    """

    single: ClassVar[bool] = False
    combined: ClassVar[bool] = True

    def __post_init__(self) -> None:
        parts = _check_parts(self.parts, self.combine, self.origin)
        if self.channels or self.pointwise is not None:
            raise KernelError('a combined kernel ("kernels") cannot also have channels or pointwise', self.origin)
        first = parts[0]
        if self.weights is not None:  # e.g. dataclasses.replace(): must be the first part's
            given = (validate_matrix(self.weights, self.origin), self.divisor, self.offset, self.anchor)
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
        for name in ("weights", "divisor", "offset", "anchor"):
            object.__setattr__(self, name, getattr(first, name))

    def reach(self, magnitude: float) -> float:
        return float(sum(part.reach(magnitude) for part in self.parts))

    def _mapped(self, transform: Transform) -> "Kernel":  # its own matrix follows its first part
        return replace(self, weights=None, anchor=None, parts=tuple(part._mapped(transform) for part in self.parts))

    def matrices(self) -> list[np.ndarray]:
        return [part.weights for part in self.parts]

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {key: None for key in _SINGLE_KEYS} | {
            "kernels": [k._entry() for k in self.parts],
            "combine": self.combine,
        }

    def __repr__(self) -> str:
        rows, cols = self.shape
        return f"Kernel(name={self.name!r}, shape={rows}x{cols}, {len(self.parts)} parts combined by {self.combine})"


# -- checks of the parts and channels ---------------------------------------------------
def _check_channels(channels: Any, origin: str | None) -> None:
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


def _check_parts(parts: Any, combine: Any, origin: str | None) -> tuple[Kernel, ...]:
    """A combined kernel's parts: 2 to 16 plain kernels of one size and anchor, and a mode."""
    if combine is None:
        raise KernelError(
            f'"kernels" needs "combine": how to merge the parts\' results, one of: {", ".join(COMBINE_MODES)}',
            origin,
        )
    if not isinstance(combine, str) or combine not in COMBINE_MODES:
        shown = repr(combine) if isinstance(combine, str) else json_type(combine)
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


def _check_pointwise(matrix: Any, channels: tuple[Kernel, ...], origin: str | None) -> np.ndarray:
    array = validate_matrix(matrix, origin)
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


# -- turning and factoring ----------------------------------------------------------------
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
