"""Linear combinations of shifted views: ``sum of w * view`` with one multiply per distinct weight."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["Group", "groups", "ops", "combine", "Scaled", "passes_text"]


@dataclass(frozen=True)
class Group:
    """``factor * (sum of the views in plus - sum of those in minus)``."""

    factor: float
    plus: tuple
    minus: tuple


def groups(terms: list[tuple[object, float]]) -> tuple[Group, ...]:
    """Terms ``(key, weight)`` grouped by ``|weight|`` (one multiply per distinct weight)."""
    by: dict[float, tuple[list, list]] = {}
    for key, w in terms:
        plus, minus = by.setdefault(abs(w), ([], []))
        (plus if w > 0 else minus).append(key)
    groups = []
    for factor, (plus, minus) in by.items():
        if not plus:  # all negative: sum them and subtract
            groups.append(Group(-factor, tuple(minus), ()))
        else:
            groups.append(Group(factor, tuple(plus), tuple(minus)))
    if not groups:
        groups.append(Group(0.0, (terms[0][0],), ()))
    groups.sort(key=lambda g: (g.factor < 0, -len(g.plus) - len(g.minus)))
    return tuple(groups)


def ops(groups: tuple[Group, ...]) -> int:
    """Number of whole-array passes :func:`combine` makes."""
    n = 0
    for k, g in enumerate(groups):
        count = len(g.plus) + len(g.minus)
        if k == 0:
            n += max(1, count - 1) + (abs(g.factor) != 1 and count > 1) + (g.factor == -1 and count > 1)
        elif abs(g.factor) == 1:
            n += count
        else:
            n += max(1, count - 1) + (count > 1) + 1
    return n


def combine(groups: tuple[Group, ...], view, out, tmp, cast, scaled=None) -> None:  # noqa: ANN001
    """``out = sum over groups of factor * (sum of plus views - sum of minus views)``.

    With ``scaled`` (float32 images, see :class:`Scaled`), a group of several views and
    a factor under 1 is summed from views of ``|factor| * source`` instead: summing
    first would reach ``count * max|x|`` where OpenCV's terms ``w * x`` stay small (a
    15x15 box on values from 1.5e36 made infinities where OpenCV's result is finite).
    """
    for k, g in enumerate(groups):
        if scaled is not None and abs(g.factor) < 1 and len(g.plus) + len(g.minus) > 1:
            g, group_view = Group(1.0 if g.factor > 0 else -1.0, g.plus, g.minus), scaled(abs(g.factor))
        else:
            group_view = view
        _combine_group(k, g, group_view, out, tmp, cast)


class Scaled:
    """``factor -> view``: the views of ``factor * source`` for :func:`combine`, where
    ``at(base, key)`` is the view ``key`` of ``base``, written into ``buf``: the
    combination's ``tmp``, which only a group of its own uses (a buffer of its own would be
    one more band in the caches)."""

    def __init__(self, source: np.ndarray, at, buf: np.ndarray) -> None:  # noqa: ANN001
        self.source, self.at = source, at
        self.buf = buf[: source.size]

    def __call__(self, factor: float):  # noqa: ANN204
        np.multiply(self.source, self.source.dtype.type(factor), out=self.buf)
        return functools.partial(self.at, self.buf)


def _combine_group(k: int, g: Group, view, out, tmp, cast) -> None:  # noqa: ANN001
    """Group ``k`` of :func:`combine`: into ``out`` (the first) or added to it."""
    if k and abs(g.factor) == 1:  # add and subtract straight into out
        sign = g.factor > 0
        for key in g.plus:
            (np.add if sign else np.subtract)(out, view(key), out=out)
        for key in g.minus:
            (np.subtract if sign else np.add)(out, view(key), out=out)
        return
    target = out if k == 0 else tmp
    factor = g.factor if k == 0 else abs(g.factor)
    keys = g.plus + g.minus
    if len(keys) == 1:
        if factor == 1:
            np.copyto(target, view(keys[0]))
        else:
            np.multiply(view(keys[0]), cast(factor), out=target)
    else:
        if len(g.plus) > 1:
            np.add(view(g.plus[0]), view(g.plus[1]), out=target)
            rest, minus = g.plus[2:], g.minus
        else:
            np.subtract(view(g.plus[0]), view(g.minus[0]), out=target)
            rest, minus = (), g.minus[1:]
        for key in rest:
            np.add(target, view(key), out=target)
        for key in minus:
            np.subtract(target, view(key), out=target)
        if factor != 1:
            np.multiply(target, cast(factor), out=target)
    if k:
        (np.add if g.factor > 0 else np.subtract)(out, tmp, out=out)


def passes_text(n: int, kind: str) -> str:
    return f"{n} {kind} pass" + ("" if n == 1 else "es")
