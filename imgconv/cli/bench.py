"""``imgconv bench``: the engines side by side on this machine, or on the user's own case."""

from __future__ import annotations

import json
from typing import Optional

import typer

from ..borders import BORDER_NAMES, DEFAULT_BORDER
from ..errors import UsageError
from ..options import DEPTHS


def bench_command(
    kernel: Optional[str] = typer.Argument(None, metavar="[KERNEL", help="A kernel spec (a chain too: blur+sharpen)."),
    image: Optional[str] = typer.Argument(None, metavar="IMAGE]", help="An image file: your own case."),
    engine: str = typer.Option(
        "all", "--engine", metavar="all|auto|cv2|numpy",
        help="With KERNEL IMAGE: the routes timed (the cv2 engine always, as the reference).",
    ),
    border: str = typer.Option(DEFAULT_BORDER, "--border", metavar="|".join(BORDER_NAMES), help="As for apply."),
    depth: str = typer.Option("same", "--depth", metavar="|".join(DEPTHS), help="As for apply."),
    as_json: bool = typer.Option(False, "--json", help="With KERNEL IMAGE: the table as JSON on stdout."),
    calibrate: bool = typer.Option(
        False, "--calibrate",
        help="Measure OpenCV's and the numpy engine's speed on this machine (about 10 s) and store it "
        "for --engine auto, in the user's cache folder ($IMGCONV_CALIBRATION names another file).",
    ),
    quick: bool = typer.Option(False, "--quick", help="A subset: fewer kernels and images (about a minute)."),
    budget: float = typer.Option(1.0, "--budget", metavar="SECONDS", help="Timing budget per engine and case."),
    no_memory: bool = typer.Option(False, "--no-memory", help="Skip the 4096x4096 peak-memory check."),
) -> None:
    """Time the engines: on your own case (KERNEL IMAGE: every route that can run it, which
    one auto takes), or the built-in suite against cv2.filter2D, sepFilter2D and scipy.

    Example: imgconv bench gaussian:size=9,sigma=2 photo.jpg   (also: imgconv bench --calibrate)
    """
    if calibrate:
        if kernel is not None:
            raise UsageError("--calibrate measures this machine; give it without KERNEL IMAGE")
        from ..engines.calibration import measure, save

        typer.echo("measuring OpenCV and the numpy engine on this machine ...", err=True)
        path = save(measure())
        typer.echo(f"wrote {path}: --engine auto now uses these costs")
        typer.echo(path.read_text().rstrip())
        return
    if (kernel is None) != (image is None):
        raise UsageError("give both KERNEL and IMAGE (your own case), or neither (the built-in suite)")
    if kernel is not None:
        from ..bench import bench_user_case, print_user_case
        from ..options import FilterOptions

        if engine not in ("all", "auto", "cv2", "numpy"):
            raise UsageError(f"unknown --engine {engine!r}; expected one of: all, auto, cv2, numpy")
        engines = ("auto", "cv2", "numpy") if engine == "all" else (engine,)
        report = bench_user_case(kernel, image, FilterOptions(border=border, depth=depth), budget=budget,
                                 engines=engines)
        if as_json:
            typer.echo(json.dumps(report, indent=2))
        else:
            print_user_case(report)
        return
    from ..bench import main

    args = ["--budget", str(budget)] + (["--quick"] if quick else []) + (["--no-memory"] if no_memory else [])
    raise typer.Exit(main(args))
