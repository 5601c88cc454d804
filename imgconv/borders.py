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

from .dtypes import integer_max, white_level
from .errors import UsageError

__all__ = ["Border", "BORDERS", "BORDER_NAMES", "DEFAULT_BORDER", "get_border"]


@dataclass(frozen=True)
class Border:
    """One border mode: its names in the other libraries, and the work it does.

    Made once, from a name, by :func:`get_border` (which says what is allowed); from then
    on the mode is carried as this object and asked to index or pad, so no consumer
    compares names.
    """

    name: str
    opencv: int  # the cv2.BORDER_* flag (constants written out so cv2 is not imported here)
    numpy: str  # np.pad mode
    scipy: str  # scipy.ndimage mode
    picture: str

    @property
    def constant(self) -> bool:
        """True when the border is a constant value rather than copies of pixels."""
        return self.name == "constant"

    def filter2d_extends(self, value: float) -> bool:
        """True when ``cv2.filter2D`` extends the image itself with this border: it has no
        wrap and no border value (its constant border is always 0).

        >>> get_border("wrap").filter2d_extends(0), get_border("constant").filter2d_extends(7)
        (False, False)
        """
        return not (self.name == "wrap" or (self.constant and value != 0))

    def indices(self, n: int, before: int, after: int):  # noqa: ANN201 - np.ndarray
        """For each of ``before + n + after`` positions, the index it copies (-1: the constant).

        OpenCV's ``borderInterpolate`` rules, for pads of any width (also wider than the
        image, where the reflections repeat), and for ``n == 1`` every mode but constant
        copies pixel 0.

        >>> get_border("reflect101").indices(4, 3, 3).tolist()
        [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
        >>> get_border("reflect").indices(4, 3, 3).tolist()
        [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
        >>> get_border("wrap").indices(3, 2, 2).tolist()
        [1, 2, 0, 1, 2, 0, 1]
        """
        import numpy as np

        index = np.arange(-before, n + after)
        return _INDEX_RULES[self.name](index, n)

    def pad(self, image, top: int, bottom: int, left: int, right: int, value: float = 0.0):  # noqa: ANN001, ANN201
        """``image`` (H x W or H x W x C) extended by the given widths.

        One vectorised gather per axis; a ``constant`` border is filled with ``value``
        (rounded and saturated for integer images, as OpenCV does).

        >>> import numpy as np
        >>> get_border("wrap").pad(np.array([[1, 2, 3, 4]], np.uint8), 0, 0, 3, 3).tolist()
        [[2, 3, 4, 1, 2, 3, 4, 1, 2, 3]]
        """
        import numpy as np

        rows = self.indices(image.shape[0], top, bottom)
        cols = self.indices(image.shape[1], left, right)
        out = image.take(np.maximum(rows, 0), axis=0).take(np.maximum(cols, 0), axis=1)
        if self.constant:
            fill = self.fill_value(value, image.dtype)
            out[rows < 0] = fill
            out[:, cols < 0] = fill
        return out

    def fill_value(self, value: float, dtype) -> float:  # noqa: ANN001
        """The constant border's value as an image of ``dtype`` holds it: integer images
        round half to even and saturate, as OpenCV's ``saturate_cast`` does.

        >>> c = get_border("constant")
        >>> c.fill_value(7.5, "uint8"), c.fill_value(300, "uint8"), c.fill_value(0.25, "float32")
        (8, 255, 0.25)
        """
        import numpy as np

        if np.dtype(dtype).kind == "u":
            return min(max(round(value), 0), integer_max(dtype))
        return float(value)

    def check_value(self, value: float, dtype) -> None:  # noqa: ANN001
        """A :class:`UsageError` when a constant border's ``value`` lies outside the range of
        integer images of ``dtype`` (float images take any finite value)."""
        import numpy as np

        if self.constant and np.dtype(dtype).kind == "u" and not 0 <= value <= white_level(dtype):
            raise UsageError(
                f"border value {value:g} is outside the {np.dtype(dtype)} range 0..{white_level(dtype):g}"
            )


def _reflect(index, n: int):  # noqa: ANN001, ANN202
    folded = index % (2 * n)
    return _where(folded >= n, 2 * n - 1 - folded, folded)


def _reflect101(index, n: int):  # noqa: ANN001, ANN202
    if n == 1:
        return index * 0
    folded = index % (2 * n - 2)
    return _where(folded >= n, 2 * n - 2 - folded, folded)


def _where(condition, a, b):  # noqa: ANN001, ANN202
    import numpy as np

    return np.where(condition, a, b)


_INDEX_RULES = {
    "reflect101": _reflect101,
    "reflect": _reflect,
    "replicate": lambda index, n: index.clip(0, n - 1),
    "constant": lambda index, n: _where((index >= 0) & (index < n), index, -1),
    "wrap": lambda index, n: index % n,
}

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


def get_border(name: "str | Border") -> Border:
    """The border mode called ``name``; a :class:`UsageError` listing the known ones if none.

    >>> get_border("wrap").numpy
    'wrap'
    """
    if isinstance(name, Border):
        return name
    try:
        return BORDERS[name]
    except (KeyError, TypeError):
        raise UsageError(
            f"unknown border {name!r}; expected one of: {', '.join(BORDER_NAMES)}"
        ) from None
