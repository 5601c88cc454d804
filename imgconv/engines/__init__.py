"""Convolution engines behind one interface (:class:`~imgconv.engines.base.Engine`)."""

from __future__ import annotations

from ..errors import UsageError
from .base import CorrelationSpec, Engine

__all__ = ["ENGINE_NAMES", "get_engine", "CorrelationSpec", "Engine"]

ENGINE_NAMES: tuple[str, ...] = ("cv2", "numpy")


def get_engine(name: str) -> Engine:
    """The engine called ``name``; a :class:`UsageError` listing the known ones if none."""
    if name == "cv2":
        from .opencv import OpenCVEngine

        return OpenCVEngine()
    if name == "numpy":
        from .numpy_engine import NumpyEngine

        return NumpyEngine()
    raise UsageError(f"unknown engine {name!r}; expected one of: {', '.join(ENGINE_NAMES)}")
