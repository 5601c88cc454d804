"""The one place cv2 is imported: lazily (start-up time) and with OpenCV's own logging off.

OpenCV prints warnings such as "imencode(): can't encode data" straight to stderr; imgconv
reports errors itself, in one line, so the library's chatter is silenced.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Iterator


@functools.lru_cache(maxsize=None)
def cv2():  # noqa: ANN201 - the module
    import cv2 as _cv2

    try:
        _cv2.utils.logging.setLogLevel(_cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # very old builds without the logging module
        pass
    return _cv2


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while a codec runs.

    libpng and libjpeg write their own warnings ("libpng error: PNG input buffer is
    incomplete") straight to the process's stderr, below Python and below OpenCV's log
    level; imgconv reports the failure itself, in one line. Python's own ``sys.stderr`` is
    flushed first so nothing of ours is lost.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
