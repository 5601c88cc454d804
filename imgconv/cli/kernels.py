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

    rows, cols = loaded.shape
    ax, ay = loaded.anchor
    table = Table(title=f"{loaded.name} ({rows}x{cols})", show_header=False, show_lines=False)
    for _ in range(cols):
        table.add_column(justify="right")
    for r, row in enumerate(loaded.weights):
        cells = []
        for c, value in enumerate(row):
            text = _number(value)
            style = "red" if value < 0 else ("green" if value > 0 else "dim")
            if (c, r) == (ax, ay):
                style += " underline"
            cells.append(f"[{style}]{text}[/]")
        table.add_row(*cells)
    console = Console()
    console.print(table)
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
