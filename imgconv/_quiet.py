"""tifffile, quiet: it logs what it finds odd in a file to stderr, where imgconv says one line."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

__all__ = ["tifffile_quiet"]


@contextlib.contextmanager
def tifffile_quiet() -> Iterator[None]:
    """While it lasts (also a decorator), tifffile logs nothing short of critical."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
