"""``imgconv bench``: the engines side by side on this machine."""

from __future__ import annotations

import typer


def bench_command(
    quick: bool = typer.Option(False, "--quick", help="A subset: fewer kernels and images (about a minute)."),
    budget: float = typer.Option(1.0, "--budget", metavar="SECONDS", help="Timing budget per engine and case."),
    no_memory: bool = typer.Option(False, "--no-memory", help="Skip the 4096x4096 peak-memory check."),
) -> None:
    """Time the numpy engine against cv2.filter2D, sepFilter2D and scipy, and print ratios.

    Example: imgconv bench --quick
    """
    from ..bench import main

    args = ["--budget", str(budget)] + (["--quick"] if quick else []) + (["--no-memory"] if no_memory else [])
    raise typer.Exit(main(args))
