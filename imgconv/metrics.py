"""How two images differ, in numbers: the metrics behind ``imgconv diff``.

Pure functions on numpy arrays; nothing here reads files or prints.

Definitions (``A`` and ``B`` have the same shape and dtype; a *sample* is one channel of
one pixel, a *pixel* is one location with all its channels):

* ``max_abs``: the largest ``|A - B|`` over all samples.
* ``mean_abs``: the mean of ``|A - B|`` over all samples (pixels x channels).
* ``rmse``: ``sqrt(mean((A - B)**2))`` over all samples.
* ``psnr``: ``20 * log10(peak / rmse)`` in dB, ``None`` when the images are identical. The
  peak is the dtype's maximum: 255 for uint8, 65535 for uint16, and **1.0 for float
  images, which are assumed to hold values in 0..1** (give ``data_range`` otherwise, e.g.
  255 for a float32 image that ``imgconv apply --depth float32`` kept in uint8 units).
* ``differing_pixels``: the number of pixel locations where *any* channel differs;
  ``differing_fraction`` is that count over the number of pixels.
* ``ssim``: the structural similarity of Wang et al. (2004): an 11 x 11 Gaussian window
  (sigma 1.5, truncated at 3.5 sigma), K1 = 0.01, K2 = 0.03, population covariances,
  mirrored edges (``c b a | a b c d | d c b``) for the local statistics, and the mean
  of the SSIM map taken away from a 5-pixel band along the edges. This is what
  ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=peak, channel_axis=-1)`` computes; for colour
  images it is the mean of the per-channel values. ``None`` when a side is shorter than
  the 11-pixel window.
* ``border`` / ``interior``: the pixel metrics again, for the strip of ``border_width``
  pixels along the four edges (where border modes act, and where engines and libraries
  disagree) and for the rest. ``interior`` is ``None`` when the image is no wider or
  taller than two strips; ``border`` is ``None`` for ``border_width=0``.

Non-finite float samples: the same value at the same place (NaN and NaN included) is no
difference; anything else involving NaN or infinity is an infinite difference.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .dtypes import integer_max, white_level
from .errors import ImgconvError, UsageError, display_path

__all__ = [
    "diff",
    "within_tolerance",
    "absolute_difference",
    "ssim",
    "peak_value",
    "check_comparable",
    "ImageMismatchError",
    "DEFAULT_BORDER_WIDTH",
    "SSIM_SIGMA",
    "SSIM_WINDOW",
]

DEFAULT_BORDER_WIDTH = 8
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_TRUNCATE = 3.5  # scipy.ndimage.gaussian_filter's and scikit-image's window cut-off
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)  # 5, as scipy.ndimage rounds it
SSIM_WINDOW = 2 * SSIM_RADIUS + 1  # 11



class ImageMismatchError(ImgconvError):
    """The two images cannot be compared: their shapes or dtypes differ (exit code 1)."""


# -- the public functions -----------------------------------------------------------------
def diff(
    a: np.ndarray,
    b: np.ndarray,
    *,
    border_width: int | None = None,
    data_range: float | None = None,
    names: Sequence[str] = ("A", "B"),
    channel_names: Sequence[str] | None = None,
    with_ssim: bool = True,
) -> dict[str, Any]:
    """Compare two images of the same shape and dtype.

    Parameters
    ----------
    a, b : ndarray
        H x W (grey) or H x W x C images of the same shape and dtype (uint8, uint16,
        other integers, or float; float images are assumed to hold 0..1).
    border_width : int, optional
        Width in pixels of the edge strip measured apart as ``"border"`` (default 8).
    data_range : float, optional
        The peak for PSNR and the data range for SSIM; default the dtype's maximum
        (255, 65535; 1.0 for float).
    names : pair of str
        What to call the images in an error message (file names in the CLI).
    channel_names : sequence of str, optional
        Names for the ``"channels"`` entries; default ``gray``, ``gray, alpha``,
        ``red, green, blue[, alpha]`` (imgconv's arrays are RGB(A)), else ``c0, c1, ...``.
    with_ssim : bool
        Compute SSIM (the costliest metric); ``False`` gives ``None`` for it.

    Returns
    -------
    dict
        ``max_abs, mean_abs, rmse, psnr, differing_pixels, differing_fraction, identical,
        shape, dtype`` (the contract's keys), then ``data_range``, ``ssim``, ``channels``
        (a list: ``name``, the pixel metrics of that channel alone, and its ``ssim``),
        ``border`` and ``interior`` (the pixel metrics of each region, with its
        ``pixels`` count and, for the border, its ``width``). Integer images give integer
        ``max_abs``; every value is a plain Python number, ready for ``json.dumps``.

    Raises
    ------
    ImageMismatchError
        The shapes or dtypes differ (exit code 1).
    UsageError
        A negative ``border_width`` or a non-positive ``data_range`` (exit code 2).

    Examples
    --------
    >>> a = np.zeros((2, 3), np.uint8)
    >>> b = a.copy(); b[0, 1] = 10
    >>> d = diff(a, b)
    >>> d["max_abs"], d["differing_pixels"], d["identical"], round(d["rmse"], 4)
    (10, 1, False, 4.0825)
    >>> diff(a, a)["psnr"] is None
    True
    """
    a, b = check_comparable(a, b, names)
    width = DEFAULT_BORDER_WIDTH if border_width is None else _check_width(border_width)
    peak = peak_value(a.dtype) if data_range is None else _check_range(data_range)
    integer = a.dtype.kind in "iu"
    d = absolute_difference(a, b)  # H x W x C, per sample
    rows, cols, count = d.shape
    pixels = rows * cols
    differs = d.max(axis=2) > 0 if count > 1 else d[:, :, 0] > 0  # H x W: any channel

    names_ = _channel_names(count) if channel_names is None else [str(n) for n in channel_names]
    if len(names_) != count:
        raise UsageError(f"{len(names_)} channel names given for an image with {count} channels")
    channels = []
    for index in range(count):
        plane = d[:, :, index]
        entry = {"name": names_[index], **_pixel_metrics(plane, plane > 0, peak, integer, pixels)}
        entry["ssim"] = None
        channels.append(entry)
    if with_ssim and rows >= SSIM_WINDOW and cols >= SSIM_WINDOW:
        for entry, value in zip(channels, _ssim_means(a, b, peak)):
            entry["ssim"] = value

    # Overall values from the channels' (same-sized) sums: no second pass over the image.
    mse = sum(_mse(plane) for plane in (d[:, :, i] for i in range(count))) / count
    max_abs = max(c["max_abs"] for c in channels)
    mean_abs = sum(c["mean_abs"] for c in channels) / count
    overall = _assemble(max_abs, mean_abs, mse, int(np.count_nonzero(differs)), pixels, peak)
    ssim_values = [c["ssim"] for c in channels]
    result: dict[str, Any] = {
        **overall,
        "shape": list(a.shape),
        "dtype": a.dtype.name,
        "data_range": _plain(peak),
        "ssim": (sum(ssim_values) / count) if with_ssim and None not in ssim_values else None,
        "channels": channels,
    }
    result["border"], result["interior"] = _regions(d, differs, width, peak, integer)
    return result


def within_tolerance(metrics: dict[str, Any], tolerance: float = 0) -> bool:
    """True when ``metrics["max_abs"] <= tolerance`` (the exit code of ``imgconv diff``).

    Parameters
    ----------
    metrics : dict
        A result of :func:`diff`.
    tolerance : float
        The largest acceptable absolute difference of one sample, in image units
        (levels for integer images). Default 0: identical.

    Examples
    --------
    >>> within_tolerance({"max_abs": 1}, 1), within_tolerance({"max_abs": 2}, 1)
    (True, False)
    """
    tolerance = float(tolerance)
    if math.isnan(tolerance) or tolerance < 0:
        raise UsageError(f"the tolerance must be a number >= 0, got {tolerance}")
    return bool(metrics["max_abs"] <= tolerance)


def peak_value(dtype: np.dtype | type) -> float:
    """The PSNR peak and SSIM data range of a dtype: its white level (:mod:`imgconv.dtypes`),
    the maximum of an unsigned type and 1.0 for float (of any width).

    Signed integers use their whole range (max - min).

    >>> peak_value(np.uint8), peak_value(np.uint16), peak_value(np.float32)
    (255, 65535, 1.0)
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return white_level(dtype)
    if dtype.kind == "u":
        return integer_max(dtype)
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return int(info.max) - int(info.min)
    raise UsageError(f"cannot compare {dtype.name} images (integer or float samples expected)")


def absolute_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b|`` per sample, exact, as H x W x C (grey images get C = 1).

    Unsigned integers keep their dtype (no wrap-around: ``max - min``), other integers
    become int64 and floats float64. For floats, equal samples (NaN and NaN included)
    give 0 and any other NaN gives ``inf``.

    >>> absolute_difference(np.array([[3, 250]], np.uint8), np.array([[5, 0]], np.uint8))[..., 0]
    array([[  2, 250]], dtype=uint8)
    """
    a = a[:, :, None] if a.ndim == 2 else a
    b = b[:, :, None] if b.ndim == 2 else b
    kind = a.dtype.kind
    if kind == "u":
        return np.maximum(a, b) - np.minimum(a, b)
    if kind == "i" and a.dtype.itemsize < 8:
        return np.abs(a.astype(np.int64) - b.astype(np.int64))
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(a64 - b64)
    if kind == "f" and not np.isfinite(d).all():
        d[(a64 == b64) | (np.isnan(a64) & np.isnan(b64))] = 0.0
        d[np.isnan(d)] = np.inf
    return d


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> float | None:
    """The mean structural similarity (SSIM) of two images (Wang et al. 2004).

    An 11 x 11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, population
    covariances; local means taken with mirrored edges (OpenCV ``BORDER_REFLECT``,
    scipy ``mode="reflect"``) and the SSIM map averaged without its outer 5 pixels, as
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)`` does. Colour images: the mean over channels.

    Parameters
    ----------
    a, b : ndarray
        H x W or H x W x C, same shape.
    data_range : float, optional
        Default the dtype's maximum (1.0 for float).

    Returns
    -------
    float or None
        1.0 for identical images; ``None`` when a side is shorter than 11 pixels.

    Examples
    --------
    >>> x = np.arange(144, dtype=np.uint8).reshape(12, 12)
    >>> ssim(x, x)
    1.0
    >>> ssim(x[:5], x[:5]) is None
    True
    """
    a, b = check_comparable(a, b)
    peak = peak_value(a.dtype) if data_range is None else _check_range(data_range)
    if a.shape[0] < SSIM_WINDOW or a.shape[1] < SSIM_WINDOW:
        return None
    means = _ssim_means(a, b, peak)
    return sum(means) / len(means)


def _ssim_means(a: np.ndarray, b: np.ndarray, peak: float) -> list[float]:
    """The mean SSIM of each channel (one plane at a time: faster and smaller than all at once)."""
    if a.ndim == 2:
        return [_ssim_plane(a, b, peak)]
    return [_ssim_plane(a[:, :, i], b[:, :, i], peak) for i in range(a.shape[2])]


# -- checks and pieces -------------------------------------------------------------------------------
def check_comparable(a: Any, b: Any, names: Sequence[str] = ("A", "B")) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as arrays, or an :class:`ImageMismatchError` naming both.

    Same shape and dtype, H x W or H x W x C, not empty, integer or float samples.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    name_a, name_b = (display_path(n) for n in names)
    if a.shape != b.shape or a.dtype != b.dtype:
        what = " and ".join(
            w for w, differ in (("shapes", a.shape != b.shape), ("dtypes", a.dtype != b.dtype)) if differ
        )
        raise ImageMismatchError(
            f"cannot compare {name_a} and {name_b}: their {what} differ "
            f"({name_a} is {_describe(a)}, {name_b} is {_describe(b)}); convert or resize one first"
        )
    if a.ndim not in (2, 3):
        raise ImageMismatchError(f"cannot compare {name_a} and {name_b}: expected H x W or H x W x C images, got shape {a.shape}")
    if a.size == 0:
        raise ImageMismatchError(f"cannot compare {name_a} and {name_b}: the images are empty (shape {a.shape})")
    peak_value(a.dtype)  # rejects bool, complex, object
    return a, b


def _describe(image: np.ndarray) -> str:
    shape = "x".join(str(n) for n in image.shape) if image.ndim else "a scalar"
    return f"{shape} {image.dtype.name}"


def _check_width(width: int) -> int:
    if isinstance(width, bool) or int(width) != width or width < 0:
        raise UsageError(f"the border width must be a whole number >= 0, got {width}")
    return int(width)


def _check_range(value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"the data range must be a finite number > 0, got {value}")
    return _plain(value)


def _plain(value: float) -> float | int:
    """An int when the value is whole and was given as an integer peak."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def _channel_names(count: int) -> list[str]:
    known = {1: ["gray"], 2: ["gray", "alpha"], 3: ["red", "green", "blue"], 4: ["red", "green", "blue", "alpha"]}
    return known.get(count, [f"c{i}" for i in range(count)])


def _mse(d: np.ndarray) -> float:
    """Mean of squares in float64, without a float64 copy of the whole image at once."""
    flat = d.reshape(-1)
    if flat.dtype == np.float64:
        with np.errstate(over="ignore"):
            return float(np.dot(flat, flat)) / flat.size
    total = 0.0
    step = 1 << 20
    for start in range(0, flat.size, step):
        part = flat[start : start + step].astype(np.float64)
        total += float(np.dot(part, part))
    return total / flat.size


def _number(value: Any, integer: bool) -> int | float:
    return int(value) if integer else float(value)


def _assemble(max_abs: float, mean_abs: float, mse: float, differing: int, pixels: int, peak: float) -> dict[str, Any]:
    rmse = math.sqrt(mse)
    identical = max_abs == 0
    if identical:
        psnr = None
    elif rmse == math.inf:
        psnr = -math.inf
    else:
        psnr = 20.0 * math.log10(peak / rmse)
    return {
        "max_abs": max_abs,
        "mean_abs": float(mean_abs),
        "rmse": rmse,
        "psnr": psnr,
        "differing_pixels": differing,
        "differing_fraction": differing / pixels,
        "identical": bool(identical),
    }


def _pixel_metrics(d: np.ndarray, differs: np.ndarray, peak: float, integer: bool, pixels: int) -> dict[str, Any]:
    """The pixel metrics of one block of samples ``d`` (any shape; ``differs`` per pixel)."""
    max_abs = _number(d.max(), integer)
    mean_abs = float(d.mean(dtype=np.float64))
    return _assemble(max_abs, mean_abs, _mse(d), int(np.count_nonzero(differs)), pixels, peak)


def _regions(d: np.ndarray, differs: np.ndarray, width: int, peak: float, integer: bool) -> tuple[dict | None, dict | None]:
    rows, cols = differs.shape
    has_interior = rows > 2 * width and cols > 2 * width
    if has_interior:
        inner = (slice(width, rows - width), slice(width, cols - width))
        interior_pixels = (rows - 2 * width) * (cols - 2 * width)
        interior = {"pixels": interior_pixels, **_pixel_metrics(d[inner], differs[inner], peak, integer, interior_pixels)}
    else:
        interior = None
    if width == 0:
        return None, interior
    mask = np.ones((rows, cols), dtype=bool)
    if has_interior:
        mask[inner] = False
    border_pixels = int(np.count_nonzero(mask))
    border = {
        "width": width,
        "pixels": border_pixels,
        **_pixel_metrics(d[mask], differs[mask], peak, integer, border_pixels),
    }
    return border, interior


def _gaussian_window() -> np.ndarray:
    """scipy.ndimage's 1-D Gaussian weights for sigma 1.5, truncate 3.5: 11 taps, sum 1."""
    x = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return (weights / weights.sum()).reshape(-1, 1)


def _ssim_plane(x: np.ndarray, y: np.ndarray, peak: float) -> float:
    """The mean SSIM of two H x W planes."""
    from ._cv import cv2

    cv = cv2()
    window = _gaussian_window()

    def local_mean(image: np.ndarray) -> np.ndarray:
        # Mirrored edges "c b a | a b c d | d c b" (scipy's mode="reflect"); they only
        # reach the band the final mean leaves out, so the choice does not show.
        return cv.sepFilter2D(image, cv.CV_64F, window, window, borderType=cv.BORDER_REFLECT)

    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan
    c1 = (SSIM_K1 * peak) ** 2
    c2 = (SSIM_K2 * peak) ** 2
    # Wang et al.: SSIM = (2 mx my + C1)(2 vxy + C2) / ((mx^2 + my^2 + C1)(vx + vy + C2)),
    # vx = E[x^2] - mx^2 (population variance) etc.; computed in place to spare memory.
    mx, my = local_mean(x), local_mean(y)
    exx, eyy, exy = local_mean(x * x), local_mean(y * y), local_mean(x * y)
    mxy = mx * my
    mx *= mx  # mx^2
    my *= my  # my^2
    exy -= mxy  # vxy
    exy *= 2
    exy += c2  # 2 vxy + C2
    mxy *= 2
    mxy += c1  # 2 mx my + C1
    exx += eyy
    exx -= mx
    exx -= my
    exx += c2  # vx + vy + C2
    mx += my
    mx += c1  # mx^2 + my^2 + C1
    mxy *= exy
    mx *= exx
    mxy /= mx  # the SSIM map
    r = SSIM_RADIUS
    return float(mxy[r:-r, r:-r].mean(dtype=np.float64))
