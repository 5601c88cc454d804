"""How far two engines' results are apart, and whether that is within a tolerance.

Used by a batch that also filters each image with a second engine
(``JobSettings(compare_with=...)``) to check one engine against the other on real files;
pure numbers, no files.
"""

from __future__ import annotations


def compare_engines(
    a, b, tolerance: float | None = None, scale: float | None = None,  # noqa: ANN001
    *, engines: tuple[str, str] = ("cv2", "numpy"),
) -> dict:
    """How far ``b``, the result of the engine ``engines[1]``, is from ``a``, that of ``engines[0]``.

    ``engines`` (the two engines' names, listed in the result) plus the metrics of
    :func:`imgconv.metrics.diff` (without SSIM), ``tolerance`` and ``agree``. Default
    tolerance: 1 level for integer images, 1e-5 relative for float32 ones, relative to
    ``max(1, |a|, scale)``; a given tolerance is absolute. ``scale`` is the largest
    ``|value|`` the sums could reach (:meth:`Kernel.reach`): float32 rounding is relative
    to the size of what is summed, so where terms cancel (an edge kernel on a flat area,
    or OpenCV's DFT noise near black) a tiny result carries the rounding of large ones,
    which no engine can avoid.

    >>> import numpy as np
    >>> same = compare_engines(np.array([[1, 2]], np.uint8), np.array([[1, 3]], np.uint8))
    >>> same["engines"], same["agree"]
    (['cv2', 'numpy'], True)
    """
    import numpy as np

    from ..metrics import absolute_difference, diff

    metrics = diff(a, b, with_ssim=False, names=tuple(f"{name} engine" for name in engines))
    keep = ("max_abs", "mean_abs", "rmse", "psnr", "differing_pixels", "differing_fraction", "identical")
    result = {"engines": list(engines), **{key: metrics[key] for key in keep}}
    if tolerance is None and a.dtype.kind == "f":
        # NaN in the same place on both sides agrees; on one side only it is infinitely far
        distance = absolute_difference(a, b).reshape(a.shape)
        with np.errstate(invalid="ignore"):
            relative = distance / np.fmax(max(1.0, scale or 0.0), np.abs(a.astype(np.float64)))  # fmax: where a is NaN
        relative[np.isnan(relative)] = np.inf  # an infinity against a finite value
        worst = float(relative.max()) if a.size else 0.0
        result.update(tolerance="1e-5 relative", relative_max=worst, agree=bool(worst <= 1e-5))
    else:
        limit = 1 if tolerance is None else tolerance
        result.update(tolerance=limit, agree=bool(metrics["max_abs"] <= limit))
    return result


def finite_magnitude(image) -> float:  # noqa: ANN001
    """The largest finite ``|pixel|`` of ``image`` (0 if there is none)."""
    import numpy as np

    if image.dtype.kind != "f":
        return float(image.max()) if image.size else 0.0
    finite = np.abs(image[np.isfinite(image)])
    return float(finite.max()) if finite.size else 0.0
