"""``imgconv kernels list`` and ``imgconv kernels show KERNEL``."""

from __future__ import annotations

import json
from typing import Optional

import typer

from ..errors import UsageError

app = typer.Typer(help="List the named kernels or show one.", no_args_is_help=True)


def _dumps(value: object) -> str:
    """JSON with two-space indents, but each matrix row kept on one line."""
    if isinstance(value, dict):
        items = [f"  {json.dumps(k)}: {_dumps(v).replace(chr(10), chr(10) + '  ')}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n}"
    if isinstance(value, list) and value and all(isinstance(v, (list, dict)) for v in value):
        return "[\n" + ",\n".join("  " + json.dumps(v) for v in value) + "\n]"
    return json.dumps(value)


def _number(value: float, digits: int = 6) -> str:
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.{digits}g}"


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List the named and parametric kernels.

    Example: imgconv kernels list --json
    """
    from ..kernels import PARAMETRIC, named_kernels

    rows = []
    for kernel in named_kernels():
        family = PARAMETRIC.get(kernel.name)
        rows.append(
            {
                "name": kernel.name,
                "shape": list(kernel.shape),
                # a combined kernel (sobel, kirsch) is not one linear filter: no sum, no rank
                "sum": round(kernel.sum, 12) if kernel.single else None,
                "separable": kernel.separable if kernel.single else None,
                "combine": kernel.combine,
                "parameters": family.signature() if family else None,
                "description": family.description if family else kernel.description,
                "source": kernel.source,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Named kernels (use as: imgconv apply NAME photo.jpg)")
    table.add_column("name", style="bold")
    table.add_column("size")
    table.add_column("sum", justify="right")
    table.add_column("parameters (defaults)")
    table.add_column("description")
    for row in rows:
        table.add_row(
            row["name"],
            "x".join(map(str, row["shape"])),
            _number(row["sum"]) if row["sum"] is not None else row["combine"],
            row["parameters"] or "",
            row["description"],
        )
    Console().print(table)


@app.command("show")
def show_command(
    kernel: str = typer.Argument(
        ...,
        metavar="KERNEL",
        help="Any kernel spec: a name, name:key=value, a .json or libvips .mat file, a matrix, "
        "an ImageMagick kernel '3x3: ...'.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the kernel and what is known of it as JSON."),
    flip: bool = typer.Option(
        False, "--flip", help="Show the kernel as --mode convolve uses it: rotated 180 degrees, anchor mirrored."
    ),
    rotate: int = typer.Option(
        None,
        "--rotate",
        metavar="DEGREES",
        help="Turn the kernel counter-clockwise: multiples of 90 for any kernel, of 45 for 3x3 kernels "
        "(the 8 neighbours move round the ring, as compass kernels are made).",
    ),
    dilation: str = typer.Option(
        "1", "--dilation", metavar="N|RxC",
        help="Say how large the kernel spans with its taps N pixels apart (and, with --json and --plot, "
        "the dilated kernel's frequency response).",
    ),
    plot: Optional[str] = typer.Option(
        None, "--plot", metavar="FILE.png",
        help="Draw the kernel: its weights, frequency response |H(u,v)|, |H| along each axis, and its effect "
        "on a zone plate. Takes chains (blur+sharpen) too.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="With --plot: replace an existing file."),
) -> None:
    """Show one kernel: matrix, sum, separable factors, symmetry, size after dilation,
    frequency response (DC and Nyquist gains, half-power frequency); --plot draws it.

    Example: imgconv kernels show sobel-x --rotate 90   (imgconv kernels show blur --plot blur.png)
    """
    from ..kernels import COMBINE_HELP, CombinedKernel, inspect_kernel, load_kernel

    if plot is not None:
        _plot(kernel, plot, dilation=dilation, rotate=rotate, flip=flip, overwrite=overwrite)
        if not as_json:
            return
    loaded = load_kernel(kernel)
    if rotate is not None:
        loaded = loaded.rotated(rotate)
    if flip:
        loaded = loaded.flipped()
    info = inspect_kernel(loaded, dilation)
    if flip:
        info["flipped"] = True
    if rotate is not None:
        info["rotation"] = rotate
    if as_json:
        typer.echo(_dumps(info))
        return
    from rich.console import Console

    console = Console()

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    shown = []
    if rotate is not None:
        shown.append(f"rotated {rotate} degrees counter-clockwise")
    if flip:
        shown.append("flipped (rotated 180 degrees: what --mode convolve correlates with)")
    if not loaded.single:  # per-channel or combined: each matrix it holds in turn
        if isinstance(loaded, CombinedKernel):
            parts = [
                (f"kernel {i + 1} of {len(loaded.parts)}: {k.name}, divisor {_number(k.divisor)}, offset {_number(k.offset)}",
                 k.weights, k.anchor)
                for i, k in enumerate(loaded.parts)
            ]
        else:
            parts = [
                (f"channel {i + 1} ({'RGBA'[i]}): {k.name}, divisor {_number(k.divisor)}, offset {_number(k.offset)}",
                 k.weights, k.anchor)
                for i, k in enumerate(loaded.channels)
            ] or [(f"{loaded.name}, on every channel", loaded.weights, loaded.anchor)]
            if loaded.pointwise is not None:
                parts.append(("pointwise: output channels x input channels (RGB)", loaded.pointwise, None))
        for title, weights, anchor in parts:
            say(title)
            console.print(_matrix_table(None, weights, anchor, console.width))
            if note := _digits_note(weights, console.width):
                say(note)
        if isinstance(loaded, CombinedKernel):
            say(f"combine   {loaded.combine}: {COMBINE_HELP[loaded.combine]}")
        _say_common(say, loaded, info, shown)
        return
    rows, cols = loaded.shape
    ax, ay = loaded.anchor
    console.print(_matrix_table(f"{loaded.name} ({rows}x{cols})", loaded.weights, loaded.anchor, console.width))
    if note := _digits_note(loaded.weights, console.width):
        say(note)
    say(f"divisor   {_number(loaded.divisor)}")
    say(f"offset    {_number(loaded.offset)}")
    say(f"anchor    [{ax}, {ay}] (x, y; underlined)")
    say(
        f"sum       {_number(round(loaded.sum, 12))}"
        + ("  (zero-sum: an edge/derivative kernel)" if info["zero_sum"] else "")
        + ("  (sums to 1: a smoothing kernel)" if info["sums_to_one"] else "")
    )
    factors = info["factors"]
    if factors is not None:
        how = "exact, whole numbers" if factors["exact"] else "floating point, to rounding"
        say(
            f"separable yes (rank {loaded.rank}): column {_vector(factors['column'])} x row "
            f"{_vector(factors['row'])} ({how}; the outer product, divided by the divisor)"
        )
    elif loaded.rank == 0:
        say("separable yes (rank 0: every weight is 0)")
    else:
        say(f"separable no (rank {loaded.rank})")
    say(f"symmetry  {_symmetry_text(info['symmetry'])}")
    _say_common(say, loaded, info, shown)


def _plot(spec: str, path: str, *, dilation: str, rotate: int | None, flip: bool, overwrite: bool) -> None:
    """Write the kernel's figure (:mod:`imgconv.kernelplot`) to ``path``."""
    from ..geometry import parse_pair
    from ..imageio import write_image
    from ..kernelplot import kernel_figure
    from ..kernels import load_kernel_chain

    chain = load_kernel_chain(spec)
    if rotate is not None:
        chain = [k.rotated(rotate) for k in chain]
    if flip:
        chain = [k.flipped() for k in chain]
    try:
        figure = kernel_figure(chain, dilation=parse_pair(dilation, "dilation"), title=spec)
    except ValueError as error:
        raise UsageError(str(error)) from None
    smallest = "9" if path.lower().endswith(".png") else None  # a figure is written once, read often
    write_image(path, figure, channel_order="bgr", overwrite=overwrite, compression=smallest)
    typer.echo(f"wrote {path}", err=True)


def _say_common(say, loaded, info, shown) -> None:  # noqa: ANN001
    rows, cols = loaded.shape
    dy, dx = info["dilation"]
    size = f"size      {rows}x{cols}"
    if (dy, dx) != (1, 1):
        er, ec = info["effective_size"]
        size += f"; with dilation {dy}x{dx} it spans {er}x{ec} (d*(k-1)+1)"
    say(size)
    if shown:
        say(f"shown     {'; '.join(shown)}")
    if loaded.description:
        say(f"what      {loaded.description}")
    if loaded.source:
        say(f"source    {loaded.source}")


def _vector(values: list) -> str:
    return "[" + ", ".join(_number(v) for v in values) + "]"


def _symmetry_text(symmetry: dict) -> str:
    centre = symmetry["centre"]
    if centre == "even":
        head = "even about the centre (equal to its 180-degree rotation: --mode convolve gives the same result)"
    elif centre == "odd":
        head = "odd about the centre (its 180-degree rotation is its negation: --mode convolve negates the result)"
    else:
        head = "not symmetric about the centre (--mode convolve gives a different result)"
    mirrors = [f"{where} {kind}" for where, kind in (("left-right", symmetry["left_right"]), ("up-down", symmetry["up_down"])) if kind]
    return head + ("; " + ", ".join(mirrors) if mirrors else "")


def _matrix_table(title: str | None, weights, anchor, width: int):  # noqa: ANN001, ANN202
    """A rich table of weights: negative red, positive green, zero dim, the anchor underlined.

    The weights get as many significant digits (6 at most) as let a row fit in ``width``
    columns, rather than being cut off with an ellipsis; see :func:`_digits_note`.
    """
    from rich.table import Table

    digits = _fitting_digits(weights, width) or 6
    table = Table(title=title, show_header=False)
    for _ in range(weights.shape[1]):
        table.add_column(justify="right")
    for r, row in enumerate(weights):
        cells = []
        for c, value in enumerate(row):
            style = "red" if value < 0 else ("green" if value > 0 else "dim")
            if anchor is not None and (c, r) == tuple(anchor):
                style += " underline"
            cells.append(f"[{style}]{_number(value, digits)}[/]")
        table.add_row(*cells)
    return table


def _fitting_digits(weights, width: int) -> int | None:  # noqa: ANN001
    """The most significant digits (6 down to 2) with which a row of ``weights`` fits in
    ``width`` columns (each cell takes its text, 2 of padding and 1 of border); None if
    not even 2 do."""
    room = (width - 1) // weights.shape[1] - 3
    for digits in range(6, 1, -1):
        if max(len(_number(v, digits)) for v in weights.flat) <= room:
            return digits
    return None


def _digits_note(weights, width: int) -> str | None:  # noqa: ANN001
    """What to say when the table cannot show the weights as ``--json`` has them."""
    digits = _fitting_digits(weights, width)
    if digits is None:
        return "weights   too many columns for this terminal to show whole; --json prints them in full"
    if all(_number(v, digits) == _number(v) for v in weights.flat):
        return None
    return f"weights   shown to {digits} significant digits to fit the terminal; --json prints them in full"
