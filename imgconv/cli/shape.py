"""``imgconv shape SIZE --kernel K``: the output-size formula of a convolution."""

from __future__ import annotations

import json

import typer


def shape_command(
    size: str = typer.Argument(..., metavar="SIZE", help="Input size: N, or HxW (rows x columns)."),
    kernel: str = typer.Option(
        ..., "--kernel", "-k", metavar="K", help="Kernel size (N or RxC), or any kernel spec (its size is used)."
    ),
    stride: str = typer.Option("1", "--stride", "-s", metavar="N|RxC", help="Stride."),
    padding: str = typer.Option(
        "0", "--padding", "-p", metavar="N|RxC|same|valid|full", help="Padding per side (default 0, as in PyTorch)."
    ),
    dilation: str = typer.Option("1", "--dilation", "-d", metavar="N|RxC", help="Dilation."),
    transposed: bool = typer.Option(False, "--transposed", help="Transposed convolution: (n-1)s - 2p + d(k-1) + op + 1."),
    output_padding: str = typer.Option(
        "0", "--output-padding", metavar="N|RxC", help="Extra rows/columns of a transposed convolution (< stride)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: input, output, and the parameters."),
) -> None:
    """Print the output size of a convolution: floor((n + 2p - d(k-1) - 1)/s) + 1.

    Example: imgconv shape 64 --kernel 3 --stride 2 --padding 1   (prints 32)
    """
    from ..geometry import output_size, parse_pair, parse_padding

    two_axes = "x" in size.lower()
    sizes = parse_pair(size, "size")
    kernel_shape = _kernel_shape(kernel)
    strides = parse_pair(stride, "stride")
    dilations = parse_pair(dilation, "dilation")
    paddings = parse_padding(padding)
    extra = parse_pair(output_padding, "output padding", minimum=0)
    out = tuple(
        output_size(
            sizes[axis],
            kernel_shape[axis],
            stride=strides[axis],
            dilation=dilations[axis],
            padding=paddings if isinstance(paddings, str) else paddings[axis],
            transposed=transposed,
            output_padding=extra[axis],
        )
        for axis in (0, 1)
    )
    if as_json:
        info = {
            "input": list(sizes) if two_axes else sizes[0],
            "output": list(out) if two_axes else out[0],
            "kernel": list(kernel_shape),
            "stride": list(strides),
            "padding": paddings if isinstance(paddings, str) else list(paddings),
            "dilation": list(dilations),
            "transposed": transposed,
        }
        typer.echo(json.dumps(info))
        return
    typer.echo(f"{out[0]}x{out[1]}" if two_axes else str(out[0]))


def _kernel_shape(text: str) -> tuple[int, int]:
    from ..errors import UsageError
    from ..geometry import parse_pair

    try:
        return parse_pair(text, "kernel size")
    except UsageError:
        pass
    from ..kernels import load_kernel  # a kernel spec: its (rows, columns)

    return load_kernel(text).shape
