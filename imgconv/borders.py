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
