"""Errors meant for users.

Every failure a user can cause is an :class:`ImgconvError` subclass carrying the file it
concerns and a plain reason. The CLI turns one into a single line on stderr,
``imgconv: photo.png: reason``, and exits with the error's ``exit_code`` (the contract's
codes: 1 for runtime failures, 2 for invalid usage).
"""

from __future__ import annotations

import os
import re

__all__ = [
    "ImgconvError",
    "UsageError",
    "KernelError",
    "ImageReadError",
    "ImageWriteError",
    "OutputExistsError",
    "InternalError",
    "ImgconvWarning",
    "display_path",
    "debugging",
]

DEBUG_VARIABLE = "IMGCONV_DEBUG"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def debugging() -> bool:
    """Whether ``IMGCONV_DEBUG`` is set (to anything but the empty string).

    The one hidden switch: an internal error (a bug) then raises with its traceback instead
    of becoming a one-line :class:`InternalError`, in the CLI and in a batch alike.
    """
    return bool(os.environ.get(DEBUG_VARIABLE))


def display_path(path: str | bytes | os.PathLike | None) -> str:
    """A file name fit for one line of text.

    Undecodable bytes become ``\\xNN`` escapes and control characters (a newline in a file
    name) become ``\\n``-style escapes, so an error message is always one printable line.

    >>> display_path(b"caf\\xe9\\n.png")
    'caf\\\\xe9\\\\n.png'
    """
    if path is None:
        return ""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        text = path.decode("utf-8", "backslashreplace")
    else:
        text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class ImgconvError(Exception):
    """A failure explained to the user: ``path`` (may be None) and ``reason``."""

    exit_code = 1

    def __init__(self, reason: str, path: str | bytes | os.PathLike | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __reduce__(self):  # noqa: ANN204 - keeps the path across worker processes
        return (self.__class__, (self.reason, self.path))

    def __str__(self) -> str:
        reason = _CONTROL.sub(" ", self.reason)
        if self.path is None:
            return reason
        return f"{display_path(self.path)}: {reason}"


class UsageError(ImgconvError):
    """Invalid usage: a bad option value or combination (exit code 2)."""

    exit_code = 2


class KernelError(UsageError):
    """An invalid kernel spec or kernel file (exit code 2)."""


class ImageReadError(ImgconvError):
    """A missing, unreadable or undecodable image (exit code 1)."""


class ImageWriteError(ImgconvError):
    """An image that could not be written (exit code 1)."""


class OutputExistsError(ImageWriteError):
    """The output exists and replacing it was not asked for (exit code 1)."""


class InternalError(ImgconvError):
    """A bug met while filtering one file: that file fails (exit code 1), a batch goes on."""

    @classmethod
    def of(cls, error: BaseException, path: str | bytes | os.PathLike | None = None) -> "InternalError":
        return cls(
            f"internal error: {type(error).__name__}: {error} "
            f"(a bug: please report it; {DEBUG_VARIABLE}=1 shows the traceback)",
            path,
        )


class ImgconvWarning(UserWarning):
    """Something imgconv worked around and a user should hear of (a corrupt calibration
    file it ignored): the CLI prints it as one line, ``imgconv: warning: ...``."""
