"""``imgconv kernels list`` and ``imgconv kernels show KERNEL``."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="List the named kernels or show one.", no_args_is_help=True)


def _dumps(value: object) -> str:
    """JSON with two-space indents, but each matrix row kept on one line."""
    if isinstance(value, dict):
        items = [f"  {json.dumps(k)}: {_dumps(v).replace(chr(10), chr(10) + '  ')}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n}"
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return "[\n" + ",\n".join("  " + json.dumps(v) for v in value) + "\n]"
    return json.dumps(value)


def _number(value: float) -> str:
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.6g}"


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
                "sum": round(kernel.sum, 12),
                "separable": kernel.separable,
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
            _number(row["sum"]),
            row["parameters"] or "",
            row["description"],
        )
    Console().print(table)


@app.command("show")
def show_command(
    kernel: str = typer.Argument(..., metavar="KERNEL", help="Any kernel spec: a name, name:key=value, a .json file, a matrix."),
    as_json: bool = typer.Option(False, "--json", help="Print the kernel as JSON."),
) -> None:
    """Show one kernel: its matrix, divisor, anchor, sum and whether it is separable.

    Example: imgconv kernels show gaussian:size=5,sigma=1
    """
    from ..kernels import load_kernel

    loaded = load_kernel(kernel)
    info = loaded.to_dict()
    if as_json:
        typer.echo(_dumps(info))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if loaded.per_channel:
        parts = [
            (f"channel {i + 1} ({'RGBA'[i]}): {k.name}, divisor {_number(k.divisor)}, offset {_number(k.offset)}",
             k.weights, k.anchor)
            for i, k in enumerate(loaded.channels)
        ] or [(f"{loaded.name}, on every channel", loaded.weights, loaded.anchor)]
        if loaded.pointwise is not None:
            parts.append(("pointwise: output channels x input channels (RGB)", loaded.pointwise, None))
        for title, weights, anchor in parts:
            console.print(title, markup=False, highlight=False)
            console.print(_matrix_table(None, weights, anchor))
        return
    rows, cols = loaded.shape
    ax, ay = loaded.anchor
    console.print(_matrix_table(f"{loaded.name} ({rows}x{cols})", loaded.weights, loaded.anchor))
    lines = [
        f"divisor   {_number(loaded.divisor)}",
        f"offset    {_number(loaded.offset)}",
        f"anchor    [{ax}, {ay}] (x, y; underlined)",
        f"sum       {_number(round(loaded.sum, 12))}"
        + ("  (zero-sum: an edge/derivative kernel)" if abs(loaded.sum) < 1e-12 else "")
        + ("  (sums to 1: a smoothing kernel)" if abs(loaded.sum - 1) < 1e-12 else ""),
        f"separable {'yes' if loaded.separable else 'no'} (rank {loaded.rank})",
    ]
    if loaded.description:
        lines.append(f"what      {loaded.description}")
    if loaded.source:
        lines.append(f"source    {loaded.source}")
    for line in lines:
        console.print(line, markup=False, highlight=False)


def _matrix_table(title: str | None, weights, anchor):  # noqa: ANN001, ANN202
    """A rich table of weights: negative red, positive green, zero dim, the anchor underlined."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for _ in range(weights.shape[1]):
        table.add_column(justify="right")
    for r, row in enumerate(weights):
        cells = []
        for c, value in enumerate(row):
            style = "red" if value < 0 else ("green" if value > 0 else "dim")
            if anchor is not None and (c, r) == tuple(anchor):
                style += " underline"
            cells.append(f"[{style}]{_number(value)}[/]")
        table.add_row(*cells)
    return table
