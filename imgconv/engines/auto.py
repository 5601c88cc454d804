"""The auto engine: per call, the faster of the cv2 and numpy engines where both give the
cv2 engine's result bit for bit, else the cv2 engine.

The two engines agree bit for bit (``docs/numpy-engine.md``) on integer results of kernels
below OpenCV's DFT size (130 cells for 8-bit images, 50 for 16-bit ones) and on float64
images below 50 cells. Elsewhere OpenCV's own float32 rounding or DFT noise decides a few
values, which no other route reproduces: float32 results, and larger kernels, keep the cv2
engine. Where both may run, each one's time is estimated (the numpy engine's cost model,
OpenCV's in :mod:`.calibration`, both scaled to the machine by its calibration) and the
faster one runs; a tie goes to cv2. The choice depends only on the call and the calibration,
never on a clock: the same call always takes the same route.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._cv import cv2
from .analysis import CV2_DFT_AREA
from .base import NO_TILES, CorrelationSpec, RowTiles
from .calibration import OPENCV_THREADS_FROM, Calibration, load
from .numpy import NumpyEngine
from .numpy import tuning
from .opencv import OpenCVEngine, sum_may_wrap

__all__ = ["AutoEngine", "Choice"]


@dataclass(frozen=True)
class Choice:
    """The engine a call goes to, the estimates compared (ns; None where only cv2 may run),
    and why."""

    engine: object
    estimates: dict[str, float] | None
    reason: str


class AutoEngine:
    """The fastest exact engine for each call (see the module docstring).

    >>> from imgconv.borders import get_border
    >>> box = CorrelationSpec(np.full((9, 9), 1 / 81, np.float32), (4, 4), get_border("reflect101"))
    >>> AutoEngine().choice((512, 512), np.uint8, box, float_output=True).reason
    'float32 results: only the cv2 engine gives its own rounding'
    """

    name = "auto"

    def __init__(self, calibration: Calibration | None = None) -> None:
        self.cv2 = OpenCVEngine()
        self.numpy = NumpyEngine()
        self._calibration = calibration
        self._choices: dict[tuple, Choice] = {}
        self._last: tuple | None = None

    @property
    def calibration(self) -> Calibration:
        """The calibration given, else the stored one (read once per process: :func:`load`)."""
        return self._calibration or load()

    def choice(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, *,
               float_output: bool = False) -> Choice:
        """Which engine :meth:`correlate` gives such a call, and why (remembered per call
        and calibration: a batch of like images decides once)."""
        calibration = self.calibration
        threads = cv2().getNumThreads()
        last = self._last  # the same spec again (a batch, a benchmark): no key to build
        now = (image_shape, dtype, float_output, id(calibration), threads)
        if last is not None and last[0] is spec and last[1] == now:
            return last[2]
        dtype = np.dtype(dtype)
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        key = (tuple(image_shape), dtype.str, kernel.shape, kernel.tobytes(), tuple(spec.anchor), spec.border,
               float(spec.border_value), float(spec.delta), float_output, id(calibration), threads)
        choice = self._choices.get(key)
        if choice is None:
            if len(self._choices) >= 256:
                self._choices.clear()
            choice = self._choices[key] = self._choose(image_shape, dtype, spec, float_output, calibration)
        self._last = (spec, now, choice)
        return choice

    def _choose(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, float_output: bool,
                calibration: Calibration) -> Choice:
        why_not = _why_cv2_only(dtype, spec, float_output)
        if why_not:
            return Choice(self.cv2, None, why_not)
        estimates = {
            "cv2": self.cv2_estimate(image_shape, dtype, spec, float_output, calibration),
            "numpy": self.numpy.estimate(image_shape, dtype, spec, float_output=float_output)
            * calibration.numpy_scale[dtype.name],
        }
        faster = "numpy" if estimates["numpy"] < estimates["cv2"] else "cv2"
        engine = self.numpy if faster == "numpy" else self.cv2
        shown = ", ".join(f"{name} {ns / 1e6:.2f} ms" for name, ns in estimates.items())
        return Choice(engine, estimates, f"estimated {shown}; {calibration.source} costs")

    def cv2_estimate(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                     float_output: bool, calibration: Calibration) -> float:
        """The estimated ns of the cv2 engine's call (its direct paths: the DFT never
        competes, see the module docstring)."""
        function, taps, padded = self.cv2.work(dtype, spec, float_output=float_output)
        elements = float(np.prod(image_shape))
        name = np.dtype(dtype).name
        # OpenCV's own threads: from 2**20 pixels, unless it was given one (a batch's workers)
        threaded = int(image_shape[0]) * int(image_shape[1]) >= OPENCV_THREADS_FROM and cv2().getNumThreads() > 1
        if function == "sepFilter2D":
            per_element, per_tap = calibration.sep_ns[name][2:] if threaded else calibration.sep_ns[name][:2]
            ns = elements * (per_element + per_tap * taps)
        else:
            ns = elements * taps * calibration.filter2d_ns[name][threaded]
        if padded:  # the padded copy, written and read again, and the crop
            ns += 3 * elements * tuning.OP_NS[np.dtype(dtype).itemsize]
        return calibration.fixed_ns + ns

    # -- the engine interface --
    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        engine = self.choice(image.shape, image.dtype, spec, float_output=float_output).engine
        return engine.correlate(image, spec, float_output=float_output)  # type: ignore[attr-defined]

    def explain(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, *,
                float_output: bool = False) -> str:
        """The chosen engine's own line, and why it was chosen."""
        choice = self.choice(image_shape, dtype, spec, float_output=float_output)
        line = choice.engine.explain(image_shape, dtype, spec, float_output=float_output)  # type: ignore[attr-defined]
        return f"auto: {line} ({choice.reason})"

    def row_tiles(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec, *,
                  float_output: bool = False) -> RowTiles:
        """Where both engines may run, each pixel's value depends on its neighbourhood alone
        (they agree bit for bit): no tiles, whichever runs a band. Else the cv2 engine's."""
        if not _why_cv2_only(np.dtype(dtype), spec, float_output):
            return NO_TILES
        return self.cv2.row_tiles(image_shape, dtype, spec, float_output=float_output)


def _why_cv2_only(dtype: np.dtype, spec: CorrelationSpec, float_output: bool) -> str:
    """Why only the cv2 engine gives its own result for such a call ("" where both do)."""
    area = spec.kernel.size
    if dtype == np.float64:
        if area >= CV2_DFT_AREA[dtype]:
            return f"a float64 kernel of {area} cells: OpenCV's DFT noise decides the last bits"
        return ""
    if dtype.kind != "u":
        return "float32 images: only the cv2 engine gives OpenCV's float32 rounding"
    if float_output:
        return "float32 results: only the cv2 engine gives its own rounding"
    if area >= CV2_DFT_AREA[dtype]:
        return f"a kernel of {area} cells: OpenCV's DFT noise decides a few roundings"
    if sum_may_wrap(dtype, np.ascontiguousarray(spec.kernel, np.float32), spec.delta):
        return "sums beyond int32: the cv2 engine's own saturation"
    return ""
