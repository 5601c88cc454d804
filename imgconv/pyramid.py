"""The reduced levels of an image written band by band (``--pyramid``), as slide viewers want.

Each level is half the one above in both directions (rounded up): every pixel the mean of a
2x2 block, the last row or column of an odd size paired with itself; integers rounded half
to even, float32 kept as float32. The levels are built while the full-resolution rows go by,
into temporary Zarr arrays beside the output (whole rows of chunks at a time), and handed to
the writer afterwards, so memory holds a few rows of tiles per level, not the levels.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Iterator

import numpy as np

from .zarrs import create_zarr

__all__ = ["Pyramid", "reduce"]


def reduce(rows: np.ndarray) -> np.ndarray:
    """The 2x2 means of an even number of rows (an odd last column paired with itself).

    >>> reduce(np.array([[0, 1, 9], [2, 3, 9]], np.uint8)).tolist()
    [[2, 9]]
    """
    if rows.shape[1] % 2:
        rows = np.concatenate([rows, rows[:, -1:]], axis=1)
    out = np.empty((rows.shape[0] // 2, rows.shape[1] // 2) + rows.shape[2:], rows.dtype)
    for y in range(0, rows.shape[0], 64):  # 64 rows at a time: the sums stay small
        part = rows[y : y + 64]
        if rows.dtype.kind == "f":
            total = part[0::2, 0::2].astype(np.float64) + part[1::2, 0::2] + part[0::2, 1::2] + part[1::2, 1::2]
            out[y // 2 : (y + len(part)) // 2] = total / 4
            continue
        total = part[0::2, 0::2].astype(np.uint32) + part[1::2, 0::2] + part[0::2, 1::2] + part[1::2, 1::2]
        half, rest = total >> 2, total & 3  # total / 4, rounded half to even as the filtering rounds
        half += (rest > 2) | ((rest == 2) & (half & 1 == 1))
        out[y // 2 : (y + len(part)) // 2] = half
    return out


class Pyramid:
    """Levels of an image of ``shape`` whose rows arrive in order (:meth:`add`), down to a
    level that fits in one ``tile``; kept in a temporary folder in ``folder``."""

    def __init__(self, folder: str, shape: tuple[int, ...], dtype: np.dtype, tile: int) -> None:
        self.tile, self.full, self.dtype = tile, tuple(shape), np.dtype(dtype)
        self.shapes: list[tuple[int, ...]] = []
        height, width = shape[:2]
        while max(height, width) > tile:
            height, width = -(-height // 2), -(-width // 2)
            self.shapes.append((height, width) + tuple(shape[2:]))
        self.folder = tempfile.mkdtemp(prefix=".imgconv-levels-", dir=folder)
        self.arrays = [create_zarr(os.path.join(self.folder, f"{k}.zarr"), s, dtype, chunks=(tile, tile),
                                   compression="none") for k, s in enumerate(self.shapes)]
        self.carry: list[np.ndarray | None] = [None] * (len(self.shapes) + 1)  # an odd row waiting for its pair
        self.held: list[list[np.ndarray]] = [[] for _ in self.shapes]  # rows not yet a whole row of chunks
        self.written = [0] * len(self.shapes)

    def add(self, rows: np.ndarray, level: int = 0, last: bool = False) -> None:
        """Rows of ``level`` (0: full resolution), in order; ``last``: the level's last rows."""
        if level == len(self.shapes):
            return
        if self.carry[level] is not None:
            rows = np.concatenate([self.carry[level], rows])
            self.carry[level] = None
        if len(rows) % 2:
            if last:
                rows = np.concatenate([rows, rows[-1:]])
            else:
                self.carry[level], rows = rows[-1:], rows[:-1]
        reduced = reduce(rows) if len(rows) else rows[:0, : -(-rows.shape[1] // 2)]
        self._store(level, reduced, last)
        self.add(reduced, level + 1, last)

    def _store(self, level: int, rows: np.ndarray, last: bool) -> None:
        held = self.held[level]
        if len(rows):
            held.append(rows)
        count = sum(len(r) for r in held)
        if count < self.tile and not last:
            return
        block = np.concatenate(held) if len(held) > 1 else (held[0] if held else None)
        held.clear()
        if block is None:
            return
        whole = len(block) if last else len(block) // self.tile * self.tile
        start = self.written[level]
        self.arrays[level][start : start + whole] = block[:whole]
        self.written[level] += whole
        if whole < len(block):
            held.append(block[whole:])

    def finish(self) -> None:
        """After the last full-resolution rows: the odd rows left are paired with themselves."""
        self.add(np.empty((0,) + self.full[1:], self.dtype), 0, last=True)

    def levels(self) -> Iterator[tuple[tuple[int, ...], Iterator[np.ndarray]]]:
        """Each level's shape and its tiles, row of tiles by row of tiles."""
        for array in self.arrays:
            yield array.shape, self._tiles(array)

    def _tiles(self, array) -> Iterator[np.ndarray]:  # noqa: ANN001
        for y in range(0, array.shape[0], self.tile):
            band = np.asarray(array[y : y + self.tile])
            for x in range(0, band.shape[1], self.tile):
                yield band[:, x : x + self.tile]

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
