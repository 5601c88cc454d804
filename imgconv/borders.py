"""Border modes: the one table, used everywhere.

How each mode extends a row ``a b c d`` beyond its ends (``v`` is ``border_value``):

============  ======================  =========  ============  ==========================
imgconv       OpenCV                  np.pad     scipy.ndimage picture
============  ======================  =========  ============  ==========================
reflect101    BORDER_REFLECT_101      reflect    mirror        ``d c b | a b c d | c b a``
reflect       BORDER_REFLECT          symmetric  reflect       ``c b a | a b c d | d c b``
replicate     BORDER_REPLICATE        edge       nearest       ``a a a | a b c d | d d d``
constant      BORDER_CONSTANT         constant   constant      ``v v v | a b c d | v v v``
wrap          BORDER_WRAP             wrap       wrap          ``b c d | a b c d | a b c``
============  ======================  =========  ============  ==========================

``cv2.filter2D`` refuses ``BORDER_WRAP`` and has no border value (its constant border is
always 0); the OpenCV engine pads the image itself for those cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError

__all__ = ["Border", "BORDERS", "BORDER_NAMES", "DEFAULT_BORDER", "get_border"]


@dataclass(frozen=True)
class Border:
    name: str
    opencv: int  # the cv2.BORDER_* flag (constants written out so cv2 is not imported here)
    numpy: str  # np.pad mode
    scipy: str  # scipy.ndimage mode
    picture: str


BORDERS: dict[str, Border] = {
    b.name: b
    for b in (
        Border("reflect101", 4, "reflect", "mirror", "d c b | a b c d | c b a"),
        Border("reflect", 2, "symmetric", "reflect", "c b a | a b c d | d c b"),
        Border("replicate", 1, "edge", "nearest", "a a a | a b c d | d d d"),
        Border("constant", 0, "constant", "constant", "v v v | a b c d | v v v"),
        Border("wrap", 3, "wrap", "wrap", "b c d | a b c d | a b c"),
    )
}
BORDER_NAMES: tuple[str, ...] = tuple(BORDERS)
DEFAULT_BORDER = "reflect101"


def get_border(name: str) -> Border:
    """The border mode called ``name``; a :class:`UsageError` listing the known ones if none.

    >>> get_border("wrap").numpy
    'wrap'
    """
    try:
        return BORDERS[name]
    except KeyError:
        raise UsageError(
            f"unknown border {name!r}; expected one of: {', '.join(BORDER_NAMES)}"
        ) from None


def source_indices(n: int, before: int, after: int, name: str):  # noqa: ANN201 - np.ndarray
    """For each of ``before + n + after`` positions, the index it copies (-1: the constant).

    OpenCV's ``borderInterpolate`` rules, for pads of any width (also wider than the
    image, where the reflections repeat), and for ``n == 1`` every mode but constant
    copies pixel 0.

    >>> source_indices(4, 3, 3, "reflect101").tolist()
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    >>> source_indices(4, 3, 3, "reflect").tolist()
    [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
    """
    import numpy as np

    get_border(name)
    index = np.arange(-before, n + after)
    if name == "constant":
        return np.where((index >= 0) & (index < n), index, -1)
    if name == "replicate" or n == 1:
        return np.clip(index, 0, n - 1)
    if name == "wrap":
        return index % n
    if name == "reflect":
        folded = index % (2 * n)
        return np.where(folded >= n, 2 * n - 1 - folded, folded)
    if name == "reflect101":
        folded = index % (2 * n - 2)
        return np.where(folded >= n, 2 * n - 2 - folded, folded)
    raise AssertionError(f"border {name!r} has no index rule")


def pad(image, top: int, bottom: int, left: int, right: int, name: str, value: float = 0.0):  # noqa: ANN001, ANN201
    """``image`` (H x W or H x W x C) extended by the given widths with a border mode.

    One vectorised gather per axis; a ``constant`` border is filled with ``value``
    (rounded and saturated for integer images, as OpenCV does).

    >>> import numpy as np
    >>> pad(np.array([[1, 2, 3, 4]], np.uint8), 0, 0, 3, 3, "wrap").tolist()
    [[2, 3, 4, 1, 2, 3, 4, 1, 2, 3]]
    """
    import numpy as np

    rows = source_indices(image.shape[0], top, bottom, name)
    cols = source_indices(image.shape[1], left, right, name)
    out = image.take(np.maximum(rows, 0), axis=0).take(np.maximum(cols, 0), axis=1)
    if name == "constant":
        value = constant_value(value, image.dtype)
        out[rows < 0] = value
        out[:, cols < 0] = value
    return out


def constant_value(value: float, dtype) -> float:  # noqa: ANN001
    """The constant border's value as an image of ``dtype`` holds it: integer images round
    half to even and saturate, as OpenCV's ``saturate_cast`` does.

    >>> constant_value(7.5, "uint8"), constant_value(300, "uint8"), constant_value(0.25, "float32")
    (8, 255, 0.25)
    """
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return min(max(round(value), 0), int(np.iinfo(dtype).max))
    return float(value)
