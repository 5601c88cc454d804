"""The numpy engine: plan a call (the cheapest exact route), then run it, in threads if worth it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..._cpus import usable_cpus
from ...dtypes import DTYPE_NAMES, float_type, supported
from ..analysis import CV2_DFT_AREA
from ..base import NO_TILES, CorrelationSpec, RowTiles
from .fft import FFTRoute
from .integer import IntegerRoute, ShiftRoute
from .kernel_info import analyse, exact_in_float32
from . import tuning
from .route import Route
from .separable import MatmulRoute, SeparableRoute

__all__ = ["NumpyEngine", "STRATEGIES"]

STRATEGIES: tuple[str, ...] = ("shift", "integer", "separable", "matmul", "fft")
"""The routes the engine can take; ``NumpyEngine(strategy=...)`` forces one (tests and benchmarks)."""

_ROUTES: tuple[type[Route], ...] = (ShiftRoute, FFTRoute, IntegerRoute, SeparableRoute, MatmulRoute)
"""Every route, in the order the cheapest is looked for (the first wins a tie)."""


_PLANS: dict[tuple, tuple[Route, int]] = {}  # plans of recent calls (routes are immutable)
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads:  # noqa: SLF001
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imgconv-numpy")
        return _POOL


class NumpyEngine:
    """Correlation in numpy, picking the fastest exact route (``docs/numpy-engine.md`` says why each is exact).

    Parameters
    ----------
    strategy : {None, "shift", "integer", "separable", "matmul", "fft"}
        For tests and benchmarks only: None (the default, and the only value imgconv itself
        uses) chooses by estimated cost; a name from :data:`STRATEGIES` forces that route and
        raises ``ValueError`` when it cannot run the call.
    threads : int, optional
        Most threads to use on large images; default: the CPUs this process may use.

    Examples
    --------
    >>> import numpy as np
    >>> from imgconv.borders import get_border
    >>> from imgconv.engines.base import CorrelationSpec
    >>> spec = CorrelationSpec(np.array([[-1, 0, 1]], np.float32), (1, 0), get_border("reflect101"))
    >>> NumpyEngine().correlate(np.array([[0, 0, 9, 9]], np.uint8), spec, float_output=False).tolist()
    [[0, 9, 9, 0]]
    >>> NumpyEngine().explain((480, 640), np.uint8, spec)
    'numpy: integer, 2 whole-number weights in 1 int16 pass, in 480-row bands'
    """

    name = "numpy"

    def __init__(self, strategy: str | None = None, *, threads: int | None = None) -> None:
        if strategy is not None and strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of: {', '.join(STRATEGIES)}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.strategy = strategy
        self.threads = threads

    # -- planning --
    def _routes(self, shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                float_output: bool, wanted: str | None = None) -> list[Route]:
        dtype = np.dtype(dtype)
        if not supported(dtype):
            raise ValueError(f"image dtype {dtype} is not supported; use {', '.join(DTYPE_NAMES[:-1])} or "
                             f"{DTYPE_NAMES[-1]}")
        shape3 = (shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
        info = analyse(spec.kernel)
        args = (info, shape3, dtype, spec, float_output, self.threads or usable_cpus())
        # uint16 with a kernel whose float32 sums are not exact, in OpenCV's direct range:
        # only replaying OpenCV's arithmetic agrees with it (docs/numpy-engine.md, "Exactness");
        # float64 images there: OpenCV's float64 sums, in its order, are the result
        direct = info.area < CV2_DFT_AREA[dtype]
        faithful = direct and (
            dtype == np.float64
            or (dtype == np.uint16 and not float_output and not exact_in_float32(info, dtype, spec))
        )
        wanted = wanted or self.strategy
        if wanted == "shift" or (faithful and wanted is None):
            return [ShiftRoute(*args, faithful=faithful)]
        if wanted is not None:
            route = next(r for r in _ROUTES if r.name == wanted)
            why = route.applicable(info, dtype, spec.delta, float_output)
            if why:
                raise ValueError(f"strategy {wanted!r} cannot run this call: {why}")
            return [route(*args)]
        return [r(*args) for r in _ROUTES if r.applicable(info, dtype, spec.delta, float_output) is None]

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
              float_output: bool) -> tuple[Route, int]:
        kernel = np.ascontiguousarray(spec.kernel, dtype=np.float32)
        key = (
            self.strategy, self.threads, tuple(shape), np.dtype(dtype).str, kernel.shape, kernel.tobytes(),
            tuple(spec.anchor), spec.border, float(spec.border_value), float(spec.delta), float_output,
        )
        plan = _PLANS.get(key)
        if plan is None:
            if len(_PLANS) >= 256:
                _PLANS.clear()
            plan = _PLANS[key] = self._new_plan(shape, dtype, spec, float_output)
        return plan

    def _new_plan(self, shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                  float_output: bool) -> tuple[Route, int]:
        # chosen as for at most tuning.PLAN_ROWS rows (with threads, as a taller image would
        # use them): a band of a taller image (imgconv.streaming) then takes the route and
        # the tiles the whole image takes (routes round a few values apart in OpenCV's DFT
        # range and on float results). No route's values depend on its threads.
        tall = shape[0] > tuning.PLAN_ROWS
        probe = (min(shape[0], tuning.PLAN_ROWS),) + tuple(shape[1:])
        route = min(self._routes(probe, dtype, spec, float_output), key=lambda r: r.wall_time(tall))
        if tall:
            route = self._routes(shape, dtype, spec, float_output, wanted=route.name)[0]
        return route, route.workers()

    def row_tiles(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                  *, float_output: bool = False) -> RowTiles:
        """In OpenCV's DFT range the routes round a few values apart, so a band must be
        planned as its image (``tuning.PLAN_ROWS`` rows or more); the FFT route's noise
        depends on its tiles of rows, begun at the image's top.

        >>> from imgconv.borders import get_border
        >>> spec = CorrelationSpec(np.ones((3, 3), np.float32), (1, 1), get_border("reflect101"))
        >>> NumpyEngine().row_tiles((4000, 4000), np.uint8, spec)
        RowTiles(period=1, first=0, min_rows=0)
        """
        dtype = np.dtype(dtype)
        if spec.kernel.size < CV2_DFT_AREA[dtype] and dtype.kind == "u" and not float_output:
            return NO_TILES
        route, _ = self._plan(tuple(image_shape), dtype, spec, float_output)
        # the FFT's tiles; the matmul route's bands (BLAS rounds by the products' shapes)
        return RowTiles(route.row_chunk() if route.spreads else 1, 0, tuning.PLAN_ROWS + 1)

    def estimate(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                 *, float_output: bool = False) -> float:
        """The cost model's estimate of :meth:`correlate`'s time for such an image, in ns
        (``tuning``'s constants; :mod:`imgconv.engines.calibration` scales it to a machine)."""
        route, _ = self._plan(tuple(image_shape), np.dtype(dtype), spec, float_output)
        return route.wall_time(image_shape[0] > tuning.PLAN_ROWS)

    def explain(self, image_shape: tuple[int, ...], dtype: np.dtype, spec: CorrelationSpec,
                *, float_output: bool = False) -> str:
        """One line saying how :meth:`correlate` would run this call.

        >>> import numpy as np
        >>> from imgconv.borders import get_border
        >>> from imgconv.engines.base import CorrelationSpec
        >>> sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
        >>> spec = CorrelationSpec(sobel, (1, 1), get_border("reflect101"))
        >>> NumpyEngine(threads=1).explain((512, 512), np.uint8, spec)
        'numpy: separable, two 1-D whole-number passes (3 then 3 taps) in int16, in 512-row bands'
        """
        route, threads = self._plan(tuple(image_shape), np.dtype(dtype), spec, float_output)
        text = f"numpy: {route.describe()}"
        if route.spreads and np.dtype(dtype).kind == "f":
            text += " (shift-and-add instead if the image holds NaN or infinity)"
        if threads > 1:
            text += f", {threads} threads"
        return text

    # -- running --
    def correlate(self, image: np.ndarray, spec: CorrelationSpec, *, float_output: bool) -> np.ndarray:
        """Correlate ``image`` (H x W or H x W x C; uint8, uint16, float32 or float64) with ``spec``.

        Returns an array of the same shape: float32 (float64 for a float64 image) when
        ``float_output``, else the image's dtype, rounded half to even and saturated.
        """
        image = np.asarray(image)
        if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"image must be a non-empty H x W or H x W x C array, got shape {image.shape}")
        route, threads = self._plan(image.shape, image.dtype, spec, float_output)
        if route.spreads and image.dtype.kind == "f" and not np.isfinite(image).all():
            shape3 = (route.height, route.width, route.channels)
            route = ShiftRoute(route.info, shape3, image.dtype, spec, float_output, route.threads)
        image3 = image if image.ndim == 3 else image[:, :, None]
        out_dtype = float_type(image.dtype) if float_output else image.dtype
        out = np.empty(image3.shape, out_dtype)
        height = image3.shape[0]
        if threads <= 1:
            _run(route, image3, out, 0, height)
        else:
            pool = _pool(threads)
            futures = [pool.submit(_run, route, image3, out, *chunk) for chunk in route.chunks(threads)]
            for f in futures:
                f.result()
        return out.reshape(image.shape)


def _run(route: Route, *args) -> None:  # noqa: ANN002
    """``route.run`` with numpy's float warnings off (per thread): like OpenCV, a NaN or an
    infinity in a float image simply propagates."""
    with np.errstate(all="ignore"):
        route.run(*args)
