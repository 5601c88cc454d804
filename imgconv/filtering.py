"""Filtering an image: everything around the engine, once for every engine.

:func:`apply` takes a numpy image and a kernel and does, in order:

1. ``gray``: colour to grey (luma as ``cv2.cvtColor``), alpha kept;
2. alpha split off (2 and 4 channels: the last one is alpha) and left unchanged;
   with ``premultiply`` colour is multiplied by alpha, both are filtered, and colour is
   divided by the filtered alpha again (which becomes the output alpha);
3. ``mode="convolve"`` flips the kernel and mirrors its anchor;
4. the divisor folded into the weights and the offset passed as the engine's delta;
5. the engine's correlation, in the image's depth when nothing else is asked (exactly
   ``cv2.filter2D``), otherwise in float32 followed by ``post`` and ``depth``.

A combined kernel (``sobel``, ``kirsch``: ``"kernels"`` + ``"combine"``) correlates the
image with each part in float32 (same engine, border and geometry), merges the results
pixel by pixel (``magnitude``: ``sqrt(sum of squares)``; ``max``; ``sum``), then applies
``post`` and ``depth`` as above.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from ._cv import cv2
from .borders import get_border
from .engines import CorrelationSpec, get_engine
from .errors import UsageError
from .geometry import Geometry
from .kernels import COMBINE_HELP, Kernel, load_kernel
from .options import FilterOptions

__all__ = ["apply", "explain", "plan", "DTYPES"]

DTYPES = {"uint8": np.dtype(np.uint8), "uint16": np.dtype(np.uint16), "float32": np.dtype(np.float32)}


def _range_max(dtype: np.dtype) -> float:
    """The white level: 255, 65535, or 1.0 for float images."""
    return float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0


def _check_image(image: Any) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise UsageError(f"image must be a numpy array, not {type(image).__name__}")
    if image.dtype not in DTYPES.values():
        raise UsageError(
            f"image dtype {image.dtype} is not supported; use uint8, uint16 or float32 "
            "(e.g. image.astype(np.float32))"
        )
    if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
        raise UsageError(f"image must be H x W or H x W x C with 1 to 4 channels, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise UsageError(f"image is empty (shape {image.shape})")
    return image


def _split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if image.ndim == 3 and image.shape[2] in (2, 4):
        return image[:, :, :-1], image[:, :, -1]
    return image, None


def _to_gray(image: np.ndarray, order: str) -> np.ndarray:
    colour, alpha = _split_alpha(image)
    if colour.ndim == 2 or colour.shape[2] == 1:
        return image
    code = cv2().COLOR_RGB2GRAY if order == "rgb" else cv2().COLOR_BGR2GRAY
    gray = cv2().cvtColor(np.ascontiguousarray(colour), code)
    return gray if alpha is None else np.dstack([gray, alpha])


def _finish(values: np.ndarray, source: np.dtype, target: np.dtype, post: str) -> np.ndarray:
    """Float32 results in the source's units -> ``post`` -> the target depth."""
    if target.kind == "u":
        if source.kind == "u" and source != target:  # uint16 <-> uint8: rescale the range
            values = values * np.float32(_range_max(target) / _range_max(source))
    units = target if target.kind == "u" else source  # float32 output keeps the input's units
    top = _range_max(units)
    if post == "abs":
        values = np.abs(values)
    elif post == "shift":  # half the range: 128 for uint8, 32768 for uint16, 0.5 for float
        values = values + np.float32((top + 1) / 2 if units.kind == "u" else top / 2)
    elif post == "stretch":
        low, high = float(values.min()), float(values.max())
        scale = top / (high - low) if high > low else 0.0
        values = (values - np.float32(low)) * np.float32(scale)
    if target.kind == "u":
        return np.clip(np.rint(values), 0, top).astype(target)
    return values.astype(np.float32, copy=False)


def _convert_alpha(alpha: np.ndarray, target: np.dtype) -> np.ndarray:
    if alpha.dtype == target:
        return alpha
    if target.kind == "u" and alpha.dtype.kind == "u":
        scaled = alpha.astype(np.float32) * np.float32(_range_max(target) / _range_max(alpha.dtype))
        return np.clip(np.rint(scaled), 0, _range_max(target)).astype(target)
    if target.kind == "u":  # float alpha in 0..1 (or the input's units) -> saturate
        return np.clip(np.rint(alpha), 0, _range_max(target)).astype(target)
    return alpha.astype(np.float32)


def apply(image: np.ndarray, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> np.ndarray:
    """Filter ``image`` with ``kernel``.

    Parameters
    ----------
    image : np.ndarray
        H x W or H x W x C (C = 1..4; 2 and 4 carry alpha last), uint8, uint16 or float32.
    kernel : Kernel, str or array_like
        A :class:`~imgconv.kernels.Kernel`, a spec for :func:`~imgconv.kernels.load_kernel`
        (``"edge"``, ``"gaussian:size=7,sigma=1.5"``, ``"k.json"``) or a 2-D matrix.
    options : FilterOptions, optional
        Or the same fields as keyword arguments: ``engine``, ``border``, ``border_value``,
        ``mode``, ``post``, ``depth``, ``gray``, ``premultiply``, ``channel_order``.

    Returns
    -------
    np.ndarray
        The filtered image, same height and width. By default the semantics of
        ``cv2.filter2D``: correlation, ``reflect101`` border, the input's depth, rounded half
        to even and saturated.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 9, 9]], dtype=np.uint8)
    >>> apply(image, [[-1, 0, 1]]).tolist()
    [[0, 9, 9, 0]]
    >>> apply(image, [[-1, 0, 1]], post="shift").tolist()
    [[128, 137, 137, 128]]
    >>> apply(image, [[-1, 0, 1]], mode="convolve", depth="float32").tolist()
    [[0.0, -9.0, -9.0, 0.0]]
    """
    plan = _Plan.make(image, kernel, options, kwargs)
    engine, kernel, spec, geometry, options = plan.engine, plan.kernel, plan.spec, plan.geometry, plan.options
    source, target, out_shape = plan.source, plan.target, plan.out_shape
    colour, alpha = _split_alpha(plan.image)
    if kernel.per_channel:
        out = _apply_per_channel(engine, colour, kernel, spec, geometry, options, target)
        return _attach_alpha(out, alpha, spec, geometry, out_shape, target)
    if kernel.combined:
        merged = _apply_combined(engine, np.ascontiguousarray(colour), kernel, spec, geometry)
        out = _finish(merged, source, target, options.post)
        return _attach_alpha(out, alpha, spec, geometry, out_shape, target)
    if alpha is not None and options.premultiply:
        return _apply_premultiplied(engine, colour, alpha, spec, geometry, target, options.post)
    colour = np.ascontiguousarray(colour)
    if not plan.float_output:
        out = _correlate(engine, colour, spec, geometry, float_output=False)  # exactly filter2D
    else:
        raw = _correlate(engine, colour, spec, geometry, float_output=True)
        out = _finish(raw, source, target, options.post)
    assert out.shape[:2] == out_shape, (out.shape, out_shape)
    return _attach_alpha(out, alpha, spec, geometry, out_shape, target)


def explain(image: np.ndarray, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> str:
    """One line saying how :func:`apply` would filter ``image``: engine route and extras.

    The route is the engine's own account of each call :func:`apply` makes (the dilated,
    padded or zero-inserted image; each channel's or part's kernel), so it names what runs.

    >>> import numpy as np
    >>> explain(np.zeros((64, 64), np.uint8), "edge")
    'cv2: cv2.filter2D'
    """
    return _Plan.make(image, kernel, options, kwargs).explain()


def plan(image: np.ndarray, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> "_Plan":
    """What :func:`apply` decides before the pixels move: say it (``.explain()``, the
    engine's part alone ``.routes()``) or see the result's shape (``.result_like()``),
    once per chain step, without filtering.

    >>> import numpy as np
    >>> step = plan(np.zeros((64, 64), np.uint8), "sobel-x", engine="numpy", stride=2)
    >>> step.routes(), step.result_like().shape
    ('numpy: separable, two 1-D whole-number passes (3 then 3 taps) in int16, in 64-row bands', (32, 32))
    """
    return _Plan.make(image, kernel, options, kwargs)


def _explanation(plan: "_Plan") -> str:
    line = _routes(plan)
    alpha = _split_alpha(plan.image)[1]
    extras = []
    if plan.kernel.per_channel:
        extras.append(f"one kernel per colour channel{' then pointwise mixing' if plan.kernel.pointwise is not None else ''}")
    if plan.kernel.combined:
        extras.append(
            f"so for each of {len(plan.kernel.parts)} kernels, combined by {plan.kernel.combine}: "
            f"{COMBINE_HELP[plan.kernel.combine]}"
        )
    if not plan.geometry.is_plain:
        g = plan.geometry
        extras.append(
            f"stride {g.stride[0]}x{g.stride[1]}, dilation {g.dilation[0]}x{g.dilation[1]}, "
            f"padding {g.padding if isinstance(g.padding, str) else '%dx%d' % g.padding}"
            f"{', transposed' if g.transposed else ''} -> {plan.out_shape[0]}x{plan.out_shape[1]}"
        )
    if alpha is not None:
        extras.append("alpha premultiplied and filtered" if plan.options.premultiply else "alpha kept")
    if plan.float_output:
        extras.append(f"float32, then post={plan.options.post}, depth={plan.target}")
    return line + "".join(f"; {extra}" for extra in extras)


def _routes(plan: "_Plan") -> str:
    describe = getattr(plan.engine, "explain", None)
    routes: dict[str, list[str]] = {}  # description -> the channels or parts it is for
    for label, shape, dtype, spec, float_output in _engine_calls(plan):
        text = describe(shape, dtype, spec, float_output=float_output) if describe else plan.engine.name
        routes.setdefault(text, []).append(label)
    if len(routes) == 1:
        return next(iter(routes))
    return "; ".join(f"{' and '.join(labels)}: {text}" for text, labels in routes.items())


def _engine_calls(plan: "_Plan") -> list[tuple[str, tuple[int, ...], np.dtype, CorrelationSpec, bool]]:
    """The engine calls :func:`apply` makes for ``plan``: ``(label, image shape, dtype, spec,
    float_output)`` each, labelled by colour channel (RGB names) or by part."""
    colour, alpha = _split_alpha(plan.image)
    kernel, spec = plan.kernel, plan.spec
    if kernel.per_channel:
        count = 1 if colour.ndim == 2 else colour.shape[2]
        channels = _channel_specs(kernel, spec, plan.options, count, plan.target, colour.dtype)
        calls = [(name, colour.shape[:2], colour.dtype, s, not channels.native)
                 for name, s in zip(channels.names, channels.specs)]
    elif kernel.combined:
        calls = [(part.name or f"part {i + 1}", colour.shape, colour.dtype, s, True)
                 for i, (part, s) in enumerate(zip(kernel.parts, _part_specs(kernel, spec)))]
    elif alpha is not None and plan.options.premultiply:
        stacked = colour.shape[:2] + ((colour.shape[2] if colour.ndim == 3 else 1) + 1,)
        calls = [("", stacked, np.dtype(np.float32), _without_offset(spec), True)]
    else:
        calls = [("", colour.shape, colour.dtype, spec, plan.float_output)]
    out = []
    for label, shape, dtype, s, float_output in calls:
        shape, s = _engine_call(shape, s, plan.geometry)
        out.append((label, shape, np.dtype(dtype), s, float_output))
    rgb = {"red": 0, "green": 1, "blue": 2}
    return sorted(out, key=lambda call: rgb.get(call[0], 0))  # stable: parts keep their order


@dataclass(frozen=True, eq=False)
class _Plan:
    """Everything :func:`apply` decides before the pixels move (shared with :func:`explain`)."""

    image: np.ndarray
    kernel: Kernel
    options: FilterOptions
    engine: Any
    spec: CorrelationSpec
    geometry: Geometry
    out_shape: tuple[int, int]
    source: np.dtype
    target: np.dtype

    @property
    def float_output(self) -> bool:
        return self.kernel.combined or not (self.options.post == "clip" and self.target == self.source)

    def explain(self) -> str:
        """The line :func:`explain` prints: the engine's routes and the extras."""
        return _explanation(self)

    def routes(self) -> str:
        """The engine's part of :meth:`explain`: its route for each call."""
        return _routes(self)

    def result_like(self) -> np.ndarray:
        """Zeros shaped as :func:`apply`'s result (the next step of a chain, in a dry run)."""
        colour, alpha = _split_alpha(self.image)
        dims = colour.shape[2:]
        if self.kernel.pointwise is not None:
            rows = self.kernel.pointwise.shape[0]
            dims = () if rows == 1 else (rows,)
        if alpha is not None:
            dims = ((dims[0] if dims else 1) + 1,)
        return np.zeros(self.out_shape + dims, self.target)

    @classmethod
    def make(cls, image: Any, kernel: Any, options: FilterOptions | None, kwargs: dict) -> "_Plan":
        if options is None:
            options = FilterOptions(**kwargs)
        elif kwargs:
            raise UsageError("give options either as a FilterOptions or as keywords, not both")
        image = _check_image(image)
        kernel = load_kernel(kernel)
        border = get_border(options.border)
        source = image.dtype
        target = source if options.depth == "same" else DTYPES[options.depth]
        border.check_value(options.border_value, source)
        if options.gray:
            image = _to_gray(image, options.channel_order)
        if options.mode == "convolve":
            kernel = kernel.flipped()
        if options.premultiply and kernel.per_channel:
            raise UsageError("--premultiply does not combine with per-channel or pointwise kernels")
        if options.premultiply and kernel.combined:
            raise UsageError(
                f"--premultiply does not combine with {kernel.name}, a combined kernel "
                f"({kernel.combine} of {len(kernel.parts)} kernels)"
            )
        if options.premultiply and _split_alpha(image)[1] is not None and abs(kernel.sum) < 1e-9:
            raise UsageError(
                f"--premultiply filters alpha with the kernel, and {kernel.name} sums to 0 "
                "(it would erase alpha); use it with smoothing kernels, or leave it out"
            )
        geometry = options.geometry
        out_shape = geometry.output_shape(image.shape[:2], kernel.shape)  # UsageError if empty
        spec = CorrelationSpec(
            kernel=kernel.effective.astype(np.float32),
            anchor=kernel.anchor,  # type: ignore[arg-type]
            border=border,
            border_value=options.border_value,
            delta=kernel.offset,
        )
        engine = get_engine(options.engine)
        return cls(image, kernel, options, engine, spec, geometry, out_shape, source, target)


def _attach_alpha(out, alpha, spec, geometry, out_shape, target):  # noqa: ANN001, ANN202
    if alpha is None:
        return out
    if out.ndim == 2:
        out = out[:, :, None]
    return np.dstack([out, _convert_alpha(_alpha_through(alpha, spec, geometry, out_shape), target)])


class _Channels(NamedTuple):
    specs: list  # one CorrelationSpec per channel, in the array's channel order
    names: list  # their colour names
    mix: np.ndarray | None  # the pointwise matrix, for the array's channel order
    native: bool  # each channel correlated straight into the image's depth


def _channel_specs(kernel: Kernel, spec: CorrelationSpec, options: FilterOptions, count: int,
                   target: np.dtype, source: np.dtype) -> _Channels:
    """Each of ``count`` colour channels' spec and name, in the array's channel order.

    ``channels`` and the columns/rows of ``pointwise`` are in RGB order, whatever the
    array's channel order.
    """
    kernels = kernel.channels or (kernel,) * count
    if len(kernels) != count:
        raise UsageError(
            f"{kernel.name} has {len(kernels)} channel kernels but the image has {count} colour "
            f"channel{'s' if count != 1 else ''}"
        )
    mix = kernel.pointwise
    if mix is not None and mix.shape[1] != count:
        raise UsageError(f"{kernel.name}'s pointwise matrix takes {mix.shape[1]} channels, the image has {count}")
    names = ["grey"] if count == 1 else ["red", "green", "blue"][:count]
    if options.channel_order == "bgr" and count >= 3:
        kernels = kernels[2::-1] + kernels[3:]
        names = names[2::-1] + names[3:]
        if mix is not None:
            mix = mix[:, [2, 1, 0] + list(range(3, count))]
            mix = mix[::-1] if mix.shape[0] == 3 else mix
    specs = [
        replace(spec, kernel=k.effective.astype(np.float32), anchor=k.anchor, delta=k.offset) for k in kernels
    ]
    native = mix is None and options.post == "clip" and target == source
    return _Channels(specs, names, mix, native)


def _apply_per_channel(engine, colour, kernel, spec, geometry, options, target):  # noqa: ANN001, ANN202
    """Each colour channel with its own kernel (depthwise), then ``pointwise`` mixing."""
    count = 1 if colour.ndim == 2 else colour.shape[2]
    source = colour.dtype
    specs, _, mix, native = _channel_specs(kernel, spec, options, count, target, source)
    planes = []
    for index, channel_spec in enumerate(specs):
        plane = colour if colour.ndim == 2 else np.ascontiguousarray(colour[:, :, index])
        planes.append(_correlate(engine, plane, channel_spec, geometry, float_output=not native))
    out = np.dstack(planes) if count > 1 else planes[0]
    if mix is not None:
        stacked = out if out.ndim == 3 else out[:, :, None]
        out = np.tensordot(stacked, mix.T.astype(np.float32), axes=([2], [0])).astype(np.float32)
        if out.shape[2] == 1:
            out = out[:, :, 0]
    return out if native else _finish(out, source, target, options.post)


def _part_specs(kernel: Kernel, spec: CorrelationSpec) -> list[CorrelationSpec]:
    """The spec of each part of a combined kernel (border and geometry as ``spec``)."""
    return [replace(spec, kernel=p.effective.astype(np.float32), anchor=p.anchor, delta=p.offset) for p in kernel.parts]


def _apply_combined(engine, colour: np.ndarray, kernel: Kernel, spec: CorrelationSpec, geometry: Geometry) -> np.ndarray:  # noqa: ANN001
    """Each part correlated in float32 (as ``spec``: border, geometry), then merged.

    ``magnitude`` is ``sqrt(p1*p1 + p2*p2 + ...)``, ``max`` the largest, ``sum`` the sum,
    all in float32, channel by channel.
    """
    merged = None
    for part_spec in _part_specs(kernel, spec):
        values = _correlate(engine, colour, part_spec, geometry, float_output=True).astype(np.float32, copy=False)
        with np.errstate(over="ignore"):  # beyond float32: inf, as OpenCV's float sums give
            if kernel.combine == "magnitude":
                values = values * values
            if merged is None:
                merged = values.copy()
            elif kernel.combine == "max":
                np.maximum(merged, values, out=merged)
            else:
                merged += values
    assert merged is not None
    return np.sqrt(merged) if kernel.combine == "magnitude" else merged


def _dilated(spec: CorrelationSpec, dilation: tuple[int, int]) -> CorrelationSpec:
    """The kernel with ``d - 1`` zeros between its taps, and its anchor moved with them."""
    dy, dx = dilation
    if (dy, dx) == (1, 1):
        return spec
    rows, cols = spec.kernel.shape
    kernel = np.zeros(((rows - 1) * dy + 1, (cols - 1) * dx + 1), np.float32)
    kernel[::dy, ::dx] = spec.kernel
    ax, ay = spec.anchor
    return replace(spec, kernel=kernel, anchor=(ax * dx, ay * dy))


def _valid(engine, padded: np.ndarray, call: CorrelationSpec, float_output: bool) -> np.ndarray:  # noqa: ANN001
    """Correlation only where the kernel lies inside ``padded`` (``call``: anchored top-left)."""
    rows, cols = call.kernel.shape
    out = engine.correlate(padded, call, float_output=float_output)
    return out[: padded.shape[0] - rows + 1, : padded.shape[1] - cols + 1]


def _zero_insert(image: np.ndarray, sy: int, sx: int) -> np.ndarray:
    """``s - 1`` zero rows/columns between pixels: the input of a transposed convolution."""
    rows, cols = image.shape[:2]
    up = np.zeros(((rows - 1) * sy + 1, (cols - 1) * sx + 1) + image.shape[2:], image.dtype)
    up[::sy, ::sx] = image
    return up


def _engine_call(shape: tuple[int, ...], spec: CorrelationSpec, geometry: Geometry
                 ) -> tuple[tuple[int, ...], CorrelationSpec]:
    """What :func:`_correlate` hands the engine for an image of ``shape``: the shape of the
    padded or zero-inserted image, and the dilated, flipped or re-anchored spec."""
    shape = tuple(shape)
    if geometry.is_plain:
        return shape, spec
    spec = _dilated(spec, geometry.dilation)
    rows, cols = spec.kernel.shape
    if geometry.transposed:  # zero-inserted, then a zero border of the kernel's size - 1
        sy, sx = geometry.stride
        grown = ((shape[0] - 1) * sy + 2 * rows - 1, (shape[1] - 1) * sx + 2 * cols - 1)
        flipped = np.ascontiguousarray(spec.kernel[::-1, ::-1])
        return grown + shape[2:], replace(spec, kernel=flipped, anchor=(0, 0))
    if geometry.padding == "same":
        return shape, spec
    py, px = geometry.pixels(0, rows), geometry.pixels(1, cols)
    return (shape[0] + 2 * py, shape[1] + 2 * px) + shape[2:], replace(spec, anchor=(0, 0))


def _correlate(engine, image: np.ndarray, spec: CorrelationSpec, geometry: Geometry, *, float_output: bool) -> np.ndarray:  # noqa: ANN001
    """The engine's correlation with stride, dilation, padding and transposition around it.

    Every engine computes the plain same-size correlation; the rest is composed here, once:
    dilation inserts zeros into the kernel, ``valid``/``full``/numeric padding pads the image
    with the border mode and keeps the positions where the kernel fits, a stride samples
    ``[::s]``, and a transposed convolution correlates the zero-inserted image with the
    flipped kernel over a zero border, then crops the padding. :func:`_engine_call` says
    what the engine gets (and :func:`explain` describes that).
    """
    shape, call = _engine_call(image.shape, spec, geometry)
    if geometry.is_plain:
        return engine.correlate(image, call, float_output=float_output)
    rows, cols = call.kernel.shape
    if geometry.padding != "same":
        py, px = geometry.pixels(0, rows), geometry.pixels(1, cols)
    if geometry.transposed:
        up = _zero_insert(image, *geometry.stride)
        padded = get_border("constant").pad(up, rows - 1, rows - 1, cols - 1, cols - 1)
        assert padded.shape == shape, (padded.shape, shape)
        full = _valid(engine, padded, call, float_output)
        return full[py : full.shape[0] - py, px : full.shape[1] - px]
    if geometry.padding == "same":
        out = engine.correlate(image, call, float_output=float_output)
    else:
        padded = spec.border.pad(image, py, py, px, px, spec.border_value)
        assert padded.shape == shape, (padded.shape, shape)
        out = _valid(engine, padded, call, float_output)
    sy, sx = geometry.stride
    return out[::sy, ::sx]


def _alpha_through(alpha: np.ndarray, spec: CorrelationSpec, geometry: Geometry, shape: tuple[int, int]) -> np.ndarray:
    """Alpha, unchanged in value, carried to the output's grid.

    Each output pixel takes the alpha of the input pixel under the kernel's anchor (beyond
    the edge: the border mode, transparent for ``constant``). A transposed convolution has
    no such pixel; its alpha is the input's, enlarged by nearest neighbour.
    """
    if geometry.is_plain:
        return alpha
    if geometry.transposed:
        rows = np.arange(shape[0]) * alpha.shape[0] // shape[0]
        cols = np.arange(shape[1]) * alpha.shape[1] // shape[1]
        return alpha[rows][:, cols]
    spec = _dilated(spec, geometry.dilation)
    sy, sx = geometry.stride
    if geometry.padding == "same":
        return alpha[::sy, ::sx]
    rows, cols = spec.kernel.shape
    py, px = geometry.pixels(0, rows), geometry.pixels(1, cols)
    padded = spec.border.pad(alpha, py, py, px, px)
    ax, ay = spec.anchor
    return padded[ay : ay + (shape[0] - 1) * sy + 1 : sy, ax : ax + (shape[1] - 1) * sx + 1 : sx]


def _without_offset(spec: CorrelationSpec) -> CorrelationSpec:
    """``spec`` without its offset: premultiplied colour gets it after un-premultiplying."""
    return replace(spec, delta=0.0)


def _apply_premultiplied(engine, colour, alpha, spec, geometry, target, post):  # noqa: ANN001, ANN202
    """Filter in premultiplied space, as libvips and ImageMagick do for alpha images.

    Colour is multiplied by alpha, colour and alpha are filtered together (the offset is
    left out), colour is divided by the filtered alpha and the offset added; the filtered
    alpha is the output alpha. Transparent pixels then lend no colour to their neighbours.
    """
    source = colour.dtype
    top = np.float32(_range_max(source))
    weight = alpha.astype(np.float32) / top
    premultiplied = colour.astype(np.float32) * (weight[:, :, None] if colour.ndim == 3 else weight)
    stacked = np.ascontiguousarray(np.dstack([premultiplied, alpha.astype(np.float32)]))
    filtered = _correlate(engine, stacked, _without_offset(spec), geometry, float_output=True)
    new_alpha = filtered[:, :, -1]
    covered = new_alpha > 0
    scale = np.where(covered, top / np.where(covered, new_alpha, np.float32(1)), np.float32(0))
    new_colour = filtered[:, :, :-1] * scale[:, :, None] + np.float32(spec.delta)
    new_colour[~covered] = 0
    return np.dstack([_finish(new_colour, source, target, post), _finish(new_alpha, source, target, "clip")])
