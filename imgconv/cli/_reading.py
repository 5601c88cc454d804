"""The decoder's safety options, shared by every command that reads images."""

from __future__ import annotations

import typer

from ..headers import DEFAULT_MAX_PIXELS


def max_pixels_option() -> int:
    return typer.Option(
        DEFAULT_MAX_PIXELS,
        "--max-pixels",
        metavar="N",
        help="Refuse images of more than N pixels (width x height), read from their header before "
        "decoding (decompression bombs). 0: no limit.",
    )


def allow_truncated_option() -> bool:
    return typer.Option(
        False,
        "--allow-truncated",
        help="Filter what a truncated JPEG or PNG holds (the missing rows grey or black) instead of refusing it.",
    )


def read_options(max_pixels: int, allow_truncated: bool):  # noqa: ANN201 - imgconv.imageio.ReadOptions
    from ..imageio import ReadOptions

    return ReadOptions(max_pixels=max_pixels, allow_truncated=allow_truncated)  # 0: no limit
