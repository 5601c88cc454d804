"""The numpy engine: ``cv2.filter2D`` in vectorised numpy, identical to it wherever it can be.

It estimates the time of every route that can run a call and takes the cheapest:
``integer`` and ``shift`` (sums of shifted views, :mod:`.integer`), ``separable`` and
``matmul`` (two 1-D passes, :mod:`.separable`), ``fft`` (overlap-save, :mod:`.fft`). The band
routes share one band loop (:meth:`.route.Route.run`) over padded bands (:mod:`.bands`);
where OpenCV's own float32 rounding decides a value, :mod:`.replay` redoes its arithmetic.
What it computes, and why each route is exact against OpenCV, is written down in
``docs/numpy-engine.md``; the tuning constants are in :mod:`.tuning`.
"""

from __future__ import annotations

from .engine import STRATEGIES, NumpyEngine

__all__ = ["NumpyEngine", "STRATEGIES"]
