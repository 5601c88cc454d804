"""``imgconv conv1d SIGNAL --kernel K``: one-dimensional convolution of numbers."""

from __future__ import annotations

import json
import sys

import typer

from ..borders import BORDER_NAMES
from ..options import MODES


def conv1d_command(
    signal: str = typer.Argument(..., metavar="SIGNAL", help="Numbers: 1,2,3,4,5 (commas or spaces), or - for stdin."),
    kernel: str = typer.Option(..., "--kernel", "-k", metavar="K", help="Kernel weights: 1,0,-1."),
    mode: str = typer.Option(
        "convolve", "--mode", metavar="|".join(MODES), help="convolve flips the kernel (the definition); correlate does not."
    ),
    padding: str = typer.Option("same", "--padding", metavar="same|valid|full", help="Output length: n, n-k+1 or n+k-1."),
    border: str = typer.Option(
        "constant", "--border", metavar="|".join(BORDER_NAMES), help="Beyond the ends (default: zeros)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """Convolve a signal with a kernel and print the result on one line.

    Example: imgconv conv1d 1,2,3,4,5 --kernel 1,0,-1   (prints 2 2 2 2 -4)
    """
    from ..conv1d import conv1d, parse_numbers

    text = sys.stdin.read() if signal == "-" else signal
    values = conv1d(
        parse_numbers(text, "signal"), parse_numbers(kernel, "kernel"), mode=mode, padding=padding, border=border
    )
    if as_json:
        typer.echo(json.dumps(values))
    else:
        typer.echo(" ".join(_show(v) for v in values))


def _show(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.10g}"
