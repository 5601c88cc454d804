"""Border modes: hand-computed tables in the style of scipy.ndimage's ``test_extend01``.

A row ``a b c d`` = ``[1, 2, 3, 4]`` correlated with a 1x7 one-hot kernel, anchored at its
centre, reads exactly one neighbour: a one at column 0 reads ``x - 3`` (the left
extension), a one at column 6 reads ``x + 3`` (the right one). The expected rows below are
written by hand from the pictures in ``imgconv/borders.py``::

    reflect101  d c b | a b c d | c b a
    reflect     c b a | a b c d | d c b
    replicate   a a a | a b c d | d d d
    constant    v v v | a b c d | v v v
    wrap        b c d | a b c d | a b c
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import imgconv
from imgconv.borders import BORDER_NAMES, BORDERS, DEFAULT_BORDER, get_border
from imgconv.errors import UsageError

ROW = np.array([[1, 2, 3, 4]], dtype=np.uint8)  # a b c d
READ_LEFT = np.array([[1, 0, 0, 0, 0, 0, 0]])  # out[x] = in[x - 3]
READ_RIGHT = np.array([[0, 0, 0, 0, 0, 0, 1]])  # out[x] = in[x + 3]

# (border, border_value, out with READ_LEFT, out with READ_RIGHT)
EXTEND_TABLE = [
    # in[-3 -2 -1 0] = d c b a          in[3 4 5 6] = d c b a
    ("reflect101", 0, [4, 3, 2, 1], [4, 3, 2, 1]),
    # in[-3 -2 -1 0] = c b a a          in[3 4 5 6] = d d c b
    ("reflect", 0, [3, 2, 1, 1], [4, 4, 3, 2]),
    # in[-3 -2 -1 0] = a a a a          in[3 4 5 6] = d d d d
    ("replicate", 0, [1, 1, 1, 1], [4, 4, 4, 4]),
    # in[-3 -2 -1 0] = v v v a          in[3 4 5 6] = d v v v
    ("constant", 9, [9, 9, 9, 1], [4, 9, 9, 9]),
    ("constant", 0, [0, 0, 0, 1], [4, 0, 0, 0]),
    # in[-3 -2 -1 0] = b c d a          in[3 4 5 6] = d a b c
    ("wrap", 0, [2, 3, 4, 1], [4, 1, 2, 3]),
]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("border, value, left, right", EXTEND_TABLE)
def test_extend_row(border, value, left, right, dtype):
    image = ROW.astype(dtype)
    got_left = imgconv.apply(image, READ_LEFT, border=border, border_value=value)
    got_right = imgconv.apply(image, READ_RIGHT, border=border, border_value=value)
    assert got_left.dtype == dtype and got_right.dtype == dtype
    assert got_left.tolist() == [left]
    assert got_right.tolist() == [right]


@pytest.mark.parametrize("border, value, left, right", EXTEND_TABLE)
def test_extend_column(border, value, left, right):
    """The same table down a column (the kernel and the image transposed)."""
    column = ROW.T.copy()
    got_left = imgconv.apply(column, READ_LEFT.T.copy(), border=border, border_value=value)
    got_right = imgconv.apply(column, READ_RIGHT.T.copy(), border=border, border_value=value)
    assert got_left[:, 0].tolist() == left
    assert got_right[:, 0].tolist() == right


@pytest.mark.parametrize("border, value, left, right", EXTEND_TABLE)
def test_extend_row_in_every_channel(border, value, left, right):
    """A 3-channel row whose channels are a b c d, 10 x (a b c d), 20 x (a b c d)."""
    image = np.dstack([ROW, ROW * 10, ROW * 20]).astype(np.uint16)
    got = imgconv.apply(image, READ_LEFT, border=border, border_value=value)
    for channel, scale in enumerate((1, 10, 20)):
        # the constant border is v in every channel; the image's values scale
        expected = [v if (border == "constant" and i < 3) else v * scale for i, v in enumerate(left)]
        assert got[0, :, channel].tolist() == expected


def test_default_border_is_reflect101():
    assert DEFAULT_BORDER == "reflect101"
    assert imgconv.apply(ROW, READ_LEFT).tolist() == [[4, 3, 2, 1]]


def test_extend_by_more_than_the_row():
    """A reach of 5 on a row of 4: the extension repeats (as OpenCV's borderInterpolate)."""
    kernel = np.zeros((1, 11))
    kernel[0, 0] = 1  # anchor 5: out[x] = in[x - 5], x = 0..3 reads in[-5 .. -2]
    # reflect101, period 6, leftwards from in[-1]:
    #   in[-1]=b in[-2]=c in[-3]=d in[-4]=c in[-5]=b  ->  in[-5..-2] = b c d c
    assert imgconv.apply(ROW, kernel, border="reflect101").tolist() == [[2, 3, 4, 3]]
    # reflect, period 8: in[-1]=a in[-2]=b in[-3]=c in[-4]=d in[-5]=d  ->  d d c b
    assert imgconv.apply(ROW, kernel, border="reflect").tolist() == [[4, 4, 3, 2]]
    # wrap, period 4: in[-5]=d in[-4]=a in[-3]=b in[-2]=c
    assert imgconv.apply(ROW, kernel, border="wrap").tolist() == [[4, 1, 2, 3]]
    assert imgconv.apply(ROW, kernel, border="replicate").tolist() == [[1, 1, 1, 1]]
    assert imgconv.apply(ROW, kernel, border="constant", border_value=9).tolist() == [[9, 9, 9, 9]]


# -- the table itself ---------------------------------------------------------------------

def test_names_are_the_five_of_the_contract():
    assert BORDER_NAMES == ("reflect101", "reflect", "replicate", "constant", "wrap")
    assert set(BORDERS) == set(BORDER_NAMES)
    assert imgconv.BORDER_NAMES == BORDER_NAMES


@pytest.mark.parametrize(
    "name, flag",
    [
        ("reflect101", cv2.BORDER_REFLECT_101),
        ("reflect", cv2.BORDER_REFLECT),
        ("replicate", cv2.BORDER_REPLICATE),
        ("constant", cv2.BORDER_CONSTANT),
        ("wrap", cv2.BORDER_WRAP),
    ],
)
def test_opencv_flags(name, flag):
    assert BORDERS[name].opencv == flag
    assert get_border(name).name == name


# np.pad([1, 2, 3, 4], 3, mode) written out by hand
NUMPY_PADS = [
    ("reflect101", "reflect", [4, 3, 2, 1, 2, 3, 4, 3, 2, 1]),
    ("reflect", "symmetric", [3, 2, 1, 1, 2, 3, 4, 4, 3, 2]),
    ("replicate", "edge", [1, 1, 1, 1, 2, 3, 4, 4, 4, 4]),
    ("constant", "constant", [9, 9, 9, 1, 2, 3, 4, 9, 9, 9]),
    ("wrap", "wrap", [2, 3, 4, 1, 2, 3, 4, 1, 2, 3]),
]


def _picture_values(picture: str, border_value: int = 9) -> list[int]:
    """``'d c b | a b c d | c b a'`` -> [4, 3, 2, 1, 2, 3, 4, 3, 2, 1] (v = border_value)."""
    letters = {"a": 1, "b": 2, "c": 3, "d": 4, "v": border_value}
    return [letters[t] for t in picture.split() if t != "|"]


@pytest.mark.parametrize("name, mode, expected", NUMPY_PADS)
def test_numpy_pad_modes_draw_the_documented_pictures(name, mode, expected):
    border = BORDERS[name]
    assert border.numpy == mode
    assert _picture_values(border.picture) == expected
    extra = {"constant_values": 9} if mode == "constant" else {}
    assert np.pad(np.array([1, 2, 3, 4]), 3, mode=border.numpy, **extra).tolist() == expected


@pytest.mark.parametrize("name, mode, expected", NUMPY_PADS)
def test_opencv_flags_draw_the_documented_pictures(name, mode, expected):
    padded = cv2.copyMakeBorder(ROW, 0, 0, 3, 3, BORDERS[name].opencv, value=9)
    assert padded.reshape(-1).tolist() == expected


@pytest.mark.parametrize("name", BORDER_NAMES)
def test_picture_is_in_the_module_docstring(name):
    import imgconv.borders as module

    assert BORDERS[name].picture in module.__doc__


@pytest.mark.parametrize("bad", ["mirror", "REFLECT101", "", "border_wrap"])
def test_unknown_border_lists_the_five_names(bad):
    with pytest.raises(UsageError) as info:
        get_border(bad)
    message = str(info.value)
    assert repr(bad) in message
    for name in BORDER_NAMES:
        assert name in message
    with pytest.raises(UsageError) as info:
        imgconv.apply(ROW, READ_LEFT, border=bad)
    for name in BORDER_NAMES:
        assert name in str(info.value)
    assert info.value.exit_code == 2
