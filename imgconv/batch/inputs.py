"""What a batch reads: INPUT arguments (files, folders, glob patterns, ``-``) made into files.

:func:`find_inputs` lists each file once, in a stable order, as a :class:`Source` that
also says where it goes under ``-o FOLDER``. Folders contribute only image files
(:data:`IMAGE_EXTENSIONS`), never hidden files; FIFOs, sockets and devices are listed as
skipped (with why) but never opened; the walk survives symlink loops; a file named directly is taken whatever its name, and any error
in it is reported when it is run. :func:`nothing_found` says why nothing was found.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..errors import UsageError
from ..formats import (
    IMAGE_EXTENSIONS,  # what a folder contributes (files named directly need none)
)
from ..zarrs import is_zarr

STDIO = "-"
"""Standard input as an INPUT, standard output as an output."""



@dataclass(frozen=True)
class Source:
    path: str
    relative: str  # where it goes under -o DIR: its path inside the folder given, or its name
    from_folder: bool = False
    skip: str | None = None  # why a folder's entry is listed but never opened (a FIFO, a device)


def find_inputs(inputs: Sequence[str], *, recursive: bool = False, pattern: str | None = None) -> list[Source]:
    """Expand INPUT arguments into the files to filter, each once, in a stable order."""
    if not inputs:
        raise UsageError("no input given")
    sources: list[Source] = []
    seen: set[tuple[int, int] | str] = set()

    def add(source: Source) -> None:
        try:
            info = os.stat(source.path)
            key: tuple[int, int] | str = (info.st_dev, info.st_ino)
        except (OSError, ValueError):
            key = os.path.abspath(source.path)
        if key not in seen:
            seen.add(key)
            sources.append(source)

    for argument in inputs:
        if argument == STDIO:
            if len(inputs) > 1:
                raise UsageError("standard input ('-') can only be the only input")
            return [Source(STDIO, STDIO)]
        if os.path.isdir(argument) and not is_zarr(argument):  # a .zarr folder is one image
            prefix = os.path.join(argument, "")  # what the walk's paths start with
            for path, skip in _walk(argument, recursive):
                if pattern is None or fnmatch.fnmatch(os.path.basename(path), pattern):
                    relative = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, argument)
                    add(Source(path, relative, from_folder=True, skip=skip))
        elif not os.path.lexists(argument) and glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise UsageError("no file matches this pattern", argument)
            for path in matches:
                if os.path.isdir(path) and not is_zarr(path):
                    for inner, skip in _walk(path, recursive):
                        add(Source(inner, os.path.relpath(inner, os.path.dirname(path) or "."), from_folder=True,
                                   skip=skip))
                elif _is_image_file(path) and (pattern is None or fnmatch.fnmatch(os.path.basename(path), pattern)):
                    add(Source(path, os.path.basename(path), from_folder=True))
        else:  # named directly: filtered whatever its name; errors are reported when run
            add(Source(argument, os.path.basename(argument)))
    return sources


def nothing_found(inputs: Sequence[str], *, recursive: bool = False, pattern: str | None = None) -> str:
    """Why INPUT... gave no file to filter, in one line (for the folders among them).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as top:
    ...     os.mkdir(os.path.join(top, "sub"))
    ...     open(os.path.join(top, "sub", "a.png"), "wb").close()
    ...     nothing_found([top]).endswith("its sub-folders hold some: add --recursive")
    True
    """
    folders = [i for i in inputs if os.path.isdir(i)]
    what = f"image files matching {pattern!r}" if pattern else "image files"
    line = f"no {what} in {', '.join(folders or inputs)}"
    if folders and not recursive:
        below = any(
            pattern is None or fnmatch.fnmatch(os.path.basename(path), pattern)
            for folder in folders for path, skip in _walk(folder, True) if skip is None
        )  # stops at the first one found
        if below:
            line += f"; {'their' if len(folders) > 1 else 'its'} sub-folders hold some: add --recursive"
    return line


def _walk(folder: str, recursive: bool) -> Iterator[tuple[str, str | None]]:
    """Image files in ``folder`` (and below), hidden ones skipped, symlink loops survived:
    ``(path, None)``; and FIFOs, sockets and devices, which are never opened (reading one
    could block for ever), with why: ``(path, reason)``."""
    visited: set[tuple[int, int]] = set()

    def visit(path: str) -> Iterator[str]:
        try:
            info = os.stat(path)
        except OSError:
            return
        if (info.st_dev, info.st_ino) in visited:  # a symlink loop, or a folder seen already
            return
        visited.add((info.st_dev, info.st_ino))
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks; the visited set stops loops
            except OSError:
                continue
            if is_dir and is_zarr(entry.path):  # a Zarr image, not a folder to walk
                yield entry.path, None
            elif is_dir:
                if recursive:
                    yield from visit(entry.path)
            elif (kind := _special(entry.path)) is not None:
                yield entry.path, f"skipped: {kind}, not a regular file (never opened)"
            elif _is_image_file(entry.path):
                yield entry.path, None

    yield from visit(folder)


def _special(path: str) -> str | None:
    """What a FIFO, a socket or a device is (from its status alone), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return None


def _is_image_file(path: str) -> bool:
    if os.path.splitext(path)[1].lower() not in IMAGE_EXTENSIONS:
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # FIFOs, sockets, devices: never opened
    except OSError:
        return False  # a dangling link
