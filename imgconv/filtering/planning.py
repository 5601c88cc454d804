"""The plan of one filtering: every decision made before the pixels move, and the engine
calls it makes, which both run and describe themselves.

A :class:`Plan` holds the checked image, the kernel (flipped for ``convolve``), the border,
geometry, engine and depths. Its :class:`Shape` (one per kind of kernel, chosen once from
the kernel's type: a plain kernel, alpha filtered premultiplied, one kernel per channel,
parts combined) lists the engine :class:`Call` s; :meth:`Plan.run` makes exactly those
calls and :meth:`Plan.explanation` describes exactly those calls, so the two cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..borders import get_border
from ..dtypes import dtype_of, float_type, white_level
from ..engines import CorrelationSpec, Engine, get_engine
from ..errors import UsageError
from ..geometry import Geometry
from ..kernels import COMBINE_HELP, ChannelKernels, CombinedKernel, Kernel, load_kernel
from ..options import FilterOptions
from .composed import alpha_through, composed, correlate
from .pixels import attach_alpha, check_image, finish, split_alpha, to_gray

__all__ = ["Plan", "Call", "Explanation", "EngineCall"]


@dataclass(frozen=True, eq=False)
class Call:
    """One correlation a plan makes: of the whole colour array (``channel`` None) or of one
    colour channel, with ``spec``, straight into the image's depth or in float (float32, or
    float64 for float64 images and outputs)."""

    label: str  # "" for a plan's only call; the colour channel's or the part's name
    spec: CorrelationSpec
    float_output: bool
    channel: int | None = None


@dataclass(frozen=True, eq=False)
class EngineCall:
    """What the engine itself is handed for a :class:`Call`: the image's shape and dtype
    (padded, zero-inserted ...) and the spec (dilated, flipped ...)."""

    label: str
    shape: tuple[int, ...]
    dtype: np.dtype
    spec: CorrelationSpec
    float_output: bool


@dataclass(frozen=True)
class Explanation:
    """How a plan filters, as data: the engine's route for each call (``routes``: the
    route's text and the calls' labels), what is done around them (``extras``) and the
    output's size. ``str()`` gives the one line ``--explain`` prints."""

    routes: tuple[tuple[str, tuple[str, ...]], ...]
    extras: tuple[str, ...]
    output_shape: tuple[int, int]
    resized: bool  # the extras already say the output size (stride, padding ...)

    @property
    def route_text(self) -> str:
        """The engine's part of the line: its route, or each route with its calls' labels."""
        if len(self.routes) == 1:
            return self.routes[0][0]
        return "; ".join(f"{' and '.join(labels)}: {text}" for text, labels in self.routes)

    def __str__(self) -> str:
        return self.route_text + "".join(f"; {extra}" for extra in self.extras)

    def line(self, compared_with: "Explanation | None" = None) -> str:
        """The line ``--explain`` prints for a file: this, the route of the engine it was
        compared with, and the output's size at the end (said once)."""
        text = str(self)
        if compared_with is not None:
            text += f"; compared with {compared_with.route_text}"
        return text if self.resized else f"{text}; output {self.output_shape[0]}x{self.output_shape[1]}"

    def to_dict(self) -> dict:
        """As JSON: each route with the calls it is for, the extras, the output's size."""
        return {
            "routes": [{"route": text, "calls": list(labels)} for text, labels in self.routes],
            "extras": list(self.extras),
            "output": list(self.output_shape),
        }


_RGB = ("red", "green", "blue")


class Shape:
    """How a kind of kernel filters: its calls, the array they read, and what is made of
    their results. The base is a plain kernel on the colour array."""

    always_float = False  # the calls' results are merged in float whatever the options

    def calls(self, plan: "Plan") -> list[Call]:
        return [Call("", plan.spec, plan.float_output)]

    def source(self, plan: "Plan", colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        """The array the calls read (a channel of it, with ``Call.channel``)."""
        return np.ascontiguousarray(colour)

    def source_like(self, plan: "Plan", colour: np.ndarray) -> tuple[tuple[int, ...], np.dtype]:
        """The shape and dtype of :meth:`source`, without making it."""
        return colour.shape, colour.dtype

    def merge(self, plan: "Plan", results: list[np.ndarray], alpha: np.ndarray | None) -> np.ndarray:
        """The output from the calls' results (alpha put back)."""
        (out,) = results
        if plan.float_output:
            out = finish(out, plan.source, plan.target, plan.options.post)
        return plan.with_alpha(out, alpha)

    def extra(self, plan: "Plan") -> str | None:
        """What :meth:`Plan.explanation` says of this kind, if anything."""
        return None


class Premultiplied(Shape):
    """Filtering in premultiplied space, as libvips and ImageMagick do for alpha images.

    Colour is multiplied by alpha, colour and alpha are filtered together (the offset is
    left out), colour is divided by the filtered alpha and the offset added; the filtered
    alpha is the output alpha. Transparent pixels then lend no colour to their neighbours.
    """

    def calls(self, plan: "Plan") -> list[Call]:
        return [Call("", replace(plan.spec, delta=0.0), True)]

    def source(self, plan: "Plan", colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        assert alpha is not None
        work = plan.work
        weight = alpha.astype(work) / work.type(white_level(plan.source))
        premultiplied = colour.astype(work) * (weight[:, :, None] if colour.ndim == 3 else weight)
        return np.ascontiguousarray(np.dstack([premultiplied, alpha.astype(work)]))

    def source_like(self, plan: "Plan", colour: np.ndarray) -> tuple[tuple[int, ...], np.dtype]:
        channels = colour.shape[2] if colour.ndim == 3 else 1
        return colour.shape[:2] + (channels + 1,), plan.work

    def merge(self, plan: "Plan", results: list[np.ndarray], alpha: np.ndarray | None) -> np.ndarray:
        (filtered,) = results
        kind = plan.work.type
        top = kind(white_level(plan.source))
        new_alpha = filtered[:, :, -1]
        covered = new_alpha > 0
        scale = np.where(covered, top / np.where(covered, new_alpha, kind(1)), kind(0))
        new_colour = filtered[:, :, :-1] * scale[:, :, None] + kind(plan.spec.delta)
        new_colour[~covered] = 0
        post = plan.options.post
        return np.dstack([finish(new_colour, plan.source, plan.target, post), finish(new_alpha, plan.source, plan.target, "clip")])


class PerChannel(Shape):
    """Each colour channel with its own kernel (depthwise), then ``pointwise`` mixing.

    The kernel's ``channels`` and the columns/rows of ``pointwise`` are in RGB order,
    whatever the array's channel order.
    """

    def _channels(self, plan: "Plan") -> tuple[list[Kernel], list[str], np.ndarray | None]:
        """Each channel's kernel and name in the array's order, and the mixing matrix."""
        kernel: ChannelKernels = plan.kernel  # type: ignore[assignment]
        colour = split_alpha(plan.image)[0]
        count = 1 if colour.ndim == 2 else colour.shape[2]
        kernels = list(kernel.for_channels(count))
        names = ["grey"] if count == 1 else list(_RGB[:count])
        mix = kernel.pointwise
        if plan.options.channel_order == "bgr" and count >= 3:
            kernels = kernels[2::-1] + kernels[3:]
            names = names[2::-1] + names[3:]
            if mix is not None:
                mix = mix[:, [2, 1, 0] + list(range(3, count))]
                mix = mix[::-1] if mix.shape[0] == 3 else mix
        return kernels, names, mix

    def source(self, plan: "Plan", colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        return colour  # each call copies out its own channel

    def native(self, plan: "Plan") -> bool:
        """Each channel correlated straight into the image's depth (nothing to mix or finish)."""
        return plan.kernel.pointwise is None and plan.options.post == "clip" and plan.target == plan.source

    def calls(self, plan: "Plan") -> list[Call]:
        kernels, names, _ = self._channels(plan)
        native = self.native(plan)
        colour = split_alpha(plan.image)[0]
        return [
            Call(name, plan.spec_of(k), not native, None if colour.ndim == 2 else index)
            for index, (k, name) in enumerate(zip(kernels, names))
        ]

    def merge(self, plan: "Plan", results: list[np.ndarray], alpha: np.ndarray | None) -> np.ndarray:
        _, _, mix = self._channels(plan)
        out = np.dstack(results) if len(results) > 1 else results[0]
        if mix is not None:
            stacked = out if out.ndim == 3 else out[:, :, None]
            out = np.tensordot(stacked, mix.T.astype(plan.work), axes=([2], [0])).astype(plan.work)
            if out.shape[2] == 1:
                out = out[:, :, 0]
        if not self.native(plan):
            out = finish(out, plan.source, plan.target, plan.options.post)
        return plan.with_alpha(out, alpha)

    def extra(self, plan: "Plan") -> str | None:
        mixing = " then pointwise mixing" if plan.kernel.pointwise is not None else ""
        return f"one kernel per colour channel{mixing}"


class Combined(Shape):
    """Each part correlated in float (border and geometry as the plan's), then merged
    channel by channel: ``magnitude`` is ``sqrt(p1*p1 + p2*p2 + ...)``, ``max`` the
    largest, ``sum`` the sum, all in float32 (float64 for float64 images and outputs)."""

    always_float = True

    def calls(self, plan: "Plan") -> list[Call]:
        parts = plan.kernel.parts
        return [Call(part.name or f"part {i + 1}", plan.spec_of(part), True) for i, part in enumerate(parts)]

    def merge(self, plan: "Plan", results: list[np.ndarray], alpha: np.ndarray | None) -> np.ndarray:
        combine = plan.kernel.combine
        merged = None
        for values in results:
            values = values.astype(plan.work, copy=False)
            with np.errstate(over="ignore"):  # beyond float32: inf, as OpenCV's float sums give
                if combine == "magnitude":
                    values = values * values
                if merged is None:
                    merged = values.copy()
                elif combine == "max":
                    np.maximum(merged, values, out=merged)
                else:
                    merged += values
        assert merged is not None
        merged = np.sqrt(merged) if combine == "magnitude" else merged
        return plan.with_alpha(finish(merged, plan.source, plan.target, plan.options.post), alpha)

    def extra(self, plan: "Plan") -> str | None:
        kernel = plan.kernel
        return f"so for each of {len(kernel.parts)} kernels, combined by {kernel.combine}: {COMBINE_HELP[kernel.combine]}"


_SHAPES: tuple[tuple[type, Shape], ...] = ((ChannelKernels, PerChannel()), (CombinedKernel, Combined()), (Kernel, Shape()))
"""The shape of each kind of kernel, most specific first."""


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything :func:`imgconv.apply` decides before the pixels move (see the module
    docstring). Made by :meth:`make`, which raises :class:`UsageError` for what cannot run."""

    image: np.ndarray
    kernel: Kernel
    options: FilterOptions
    engine: Engine
    spec: CorrelationSpec
    geometry: Geometry
    out_shape: tuple[int, int]
    source: np.dtype
    target: np.dtype
    shape: Shape

    @property
    def work(self) -> np.dtype:
        """The float type of float sums: float32, or float64 for float64 images and outputs."""
        return float_type(self.image.dtype, self.target)

    @property
    def float_output(self) -> bool:
        """True when the engine's sums are taken in float and finished afterwards."""
        return self.shape.always_float or not (self.options.post == "clip" and self.target == self.source)

    def spec_of(self, kernel: Kernel) -> CorrelationSpec:
        """The plan's spec (border, value) with another kernel's weights, anchor and offset."""
        return replace(self.spec, kernel=kernel.effective.astype(np.float32), anchor=kernel.anchor, delta=kernel.offset)

    def with_alpha(self, out: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        """``out`` with the image's alpha carried to the output's grid."""
        if alpha is None:
            return out
        return attach_alpha(out, alpha_through(alpha, self.spec, self.geometry, self.out_shape), self.target)

    # -- the calls, run or described -------------------------------------------------------
    def run(self) -> np.ndarray:
        """Filter: make every call and merge the results."""
        colour, alpha = split_alpha(self.image)
        source = self.shape.source(self, colour, alpha)
        results = [
            correlate(
                self.engine,
                source if call.channel is None else np.ascontiguousarray(source[:, :, call.channel]),
                call.spec,
                self.geometry,
                float_output=call.float_output,
            )
            for call in self.shape.calls(self)
        ]
        out = self.shape.merge(self, results, alpha)
        assert out.shape[:2] == self.out_shape, (out.shape, self.out_shape)
        return out

    def engine_calls(self) -> list[EngineCall]:
        """What :meth:`run` hands the engine, call by call, labelled by colour channel (in
        RGB order) or by part."""
        colour = split_alpha(self.image)[0]
        shape, dtype = self.shape.source_like(self, colour)
        out = []
        for call in self.shape.calls(self):
            engine = composed(shape if call.channel is None else shape[:2], call.spec, self.geometry)
            out.append(EngineCall(call.label, engine.shape, np.dtype(dtype), engine.spec, call.float_output))
        order = {name: i for i, name in enumerate(_RGB)}
        return sorted(out, key=lambda c: order.get(c.label, 0))  # stable: parts keep their order

    def explanation(self) -> Explanation:
        """How :meth:`run` filters, as data (``str()`` of it: the ``--explain`` line)."""
        describe = getattr(self.engine, "explain", None)
        routes: dict[str, list[str]] = {}  # description -> the channels or parts it is for
        for c in self.engine_calls():
            text = describe(c.shape, c.dtype, c.spec, float_output=c.float_output) if describe else self.engine.name
            routes.setdefault(text, []).append(c.label)
        extras = [self.shape.extra(self)]
        g = self.geometry
        if not g.is_plain:
            extras.append(
                f"stride {g.stride[0]}x{g.stride[1]}, dilation {g.dilation[0]}x{g.dilation[1]}, "
                f"padding {g.padding if isinstance(g.padding, str) else '%dx%d' % g.padding}"
                f"{', transposed' if g.transposed else ''} -> {self.out_shape[0]}x{self.out_shape[1]}"
            )
        if split_alpha(self.image)[1] is not None:
            extras.append("alpha premultiplied and filtered" if self.options.premultiply else "alpha kept")
        if self.float_output:
            extras.append(f"{self.work}, then post={self.options.post}, depth={self.target}")
        return Explanation(
            tuple((text, tuple(labels)) for text, labels in routes.items()),
            tuple(e for e in extras if e),
            self.out_shape,
            resized=not g.is_plain,
        )

    def explain(self) -> str:
        """The line :func:`imgconv.filtering.explain` prints: the routes and the extras."""
        return str(self.explanation())

    def routes(self) -> str:
        """The engine's part of :meth:`explain`: its route for each call."""
        return self.explanation().route_text

    def result_like(self) -> np.ndarray:
        """Zeros shaped as :meth:`run`'s result (the next step of a chain, in a dry run)."""
        colour, alpha = split_alpha(self.image)
        dims = colour.shape[2:]
        if self.kernel.pointwise is not None:
            rows = self.kernel.pointwise.shape[0]
            dims = () if rows == 1 else (rows,)
        if alpha is not None:
            dims = ((dims[0] if dims else 1) + 1,)
        return np.zeros(self.out_shape + dims, self.target)

    @classmethod
    def make(cls, image: Any, kernel: Any, options: FilterOptions | None = None, **kwargs: Any) -> "Plan":
        """The plan for ``image`` and ``kernel`` with ``options`` (or the same as keywords)."""
        if options is None:
            options = FilterOptions(**kwargs)
        elif kwargs:
            raise UsageError("give options either as a FilterOptions or as keywords, not both")
        image = check_image(image)
        kernel = load_kernel(kernel)
        border = get_border(options.border)
        source = image.dtype
        target = source if options.depth == "same" else dtype_of(options.depth)
        border.check_value(options.border_value, source)
        if options.gray:
            image = to_gray(image, options.channel_order)
        if target == np.float64 and image.dtype != np.float64:  # float64 sums, in the input's units
            image = image.astype(np.float64)
        if options.mode == "convolve":
            kernel = kernel.flipped()
        shape = next(shape for kind, shape in _SHAPES if isinstance(kernel, kind))
        alpha = split_alpha(image)[1]
        if options.premultiply:
            _check_premultiply(kernel, alpha is not None)
            if alpha is not None:
                shape = Premultiplied()
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
        return cls(image, kernel, options, engine, spec, geometry, out_shape, source, target, shape)


def _check_premultiply(kernel: Kernel, has_alpha: bool) -> None:
    """A :class:`UsageError` where ``--premultiply`` cannot work with ``kernel``."""
    if isinstance(kernel, ChannelKernels):
        raise UsageError("--premultiply does not combine with per-channel or pointwise kernels")
    if isinstance(kernel, CombinedKernel):
        raise UsageError(
            f"--premultiply does not combine with {kernel.name}, a combined kernel "
            f"({kernel.combine} of {len(kernel.parts)} kernels)"
        )
    if has_alpha and abs(kernel.sum) < 1e-9:
        raise UsageError(
            f"--premultiply filters alpha with the kernel, and {kernel.name} sums to 0 "
            "(it would erase alpha); use it with smoothing kernels, or leave it out"
        )
