"""Convolution engines behind one interface (:class:`~imgconv.engines.base.Engine`)."""

from __future__ import annotations

import functools

from ..errors import UsageError
from .base import NO_TILES, CorrelationSpec, Engine, RowTiles

__all__ = ["ENGINE_NAMES", "get_engine", "CorrelationSpec", "Engine", "RowTiles", "NO_TILES"]

ENGINE_NAMES: tuple[str, ...] = ("auto", "cv2", "numpy")
"""The engines, the default first: ``auto`` picks the faster of the other two per call
where both give the cv2 engine's result bit for bit (:mod:`.auto`)."""


@functools.lru_cache(maxsize=None)
def get_engine(name: str) -> Engine:
    """The engine called ``name``, made once per process (engines keep only caches of their
    plans, which every call may share); a :class:`UsageError` listing the known ones if none."""
    if name == "auto":
        from .auto import AutoEngine

        return AutoEngine()
    if name == "cv2":
        from .opencv import OpenCVEngine

        return OpenCVEngine()
    if name == "numpy":
        from .numpy import NumpyEngine

        return NumpyEngine()
    raise UsageError(f"unknown engine {name!r}; expected one of: {', '.join(ENGINE_NAMES)}")
