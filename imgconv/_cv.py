"""The one place cv2 is imported: lazily (start-up time) and with OpenCV's own logging off.

OpenCV prints warnings such as "imencode(): can't encode data" straight to stderr; imgconv
reports errors itself, in one line, so the library's chatter is silenced.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def cv2():  # noqa: ANN201 - the module
    import cv2 as _cv2

    try:
        _cv2.utils.logging.setLogLevel(_cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # very old builds without the logging module
        pass
    return _cv2
