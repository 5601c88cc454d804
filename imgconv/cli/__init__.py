"""The ``imgconv`` command: a thin Typer layer over the library.

This module is the one error boundary: library errors (:class:`~imgconv.errors.ImgconvError`)
and usage errors become one plain line on stderr, ``imgconv: <file>: <reason>``, with the
contract's exit code (1 runtime, 2 usage); no traceback reaches a user.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import warnings

import typer

from .. import __version__
from ..errors import ImgconvError, ImgconvWarning, InternalError, debugging
from . import apply as _apply
from . import bench as _bench
from . import conv1d as _conv1d
from . import diff as _diff
from . import kernels as _kernels
from . import shape as _shape

app = typer.Typer(
    name="imgconv",
    help="Image convolution: filter images with named, parametric or your own kernels.\n\n"
    "Example: imgconv apply edge photo.jpg   (writes photo.edge.jpg)",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("apply", no_args_is_help=True)(_apply.apply_command)
app.add_typer(_kernels.app, name="kernels")
app.command("shape", no_args_is_help=True)(_shape.shape_command)
app.command("conv1d", no_args_is_help=True)(_conv1d.conv1d_command)
app.command("diff", no_args_is_help=True)(_diff.diff_command)
app.command("bench")(_bench.bench_command)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"imgconv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Image convolution: filter images with named, parametric or your own kernels.

    Example: imgconv apply edge photo.jpg   (writes photo.edge.jpg)
    """


def error_line(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    line = " ".join(f"imgconv: {message}".split("\n"))
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


_show_other_warning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """imgconv's own warnings as one line, ``imgconv: warning: ...``; others as Python shows them."""
    if issubclass(category, ImgconvWarning):
        error_line(f"warning: {message}")
    else:
        _show_other_warning(message, category, filename, lineno, file, line)


warnings.showwarning = _show_warning


def _is_click_exception(error: BaseException) -> bool:
    # Typer ships its own copy of Click; recognise its exceptions without importing it.
    return hasattr(error, "exit_code") and hasattr(error, "format_message")


def _usage_hint(error: BaseException) -> str:
    ctx = getattr(error, "ctx", None)
    path = getattr(ctx, "command_path", None)
    return f" (see '{path} --help')" if path else ""


def _dash_file_hint(argv: list[str]) -> str:
    # `imgconv apply edge -photo.png`: the name reads as options; say how to write it.
    for argument in argv:
        if argument.startswith("-") and argument != "-" and os.path.lexists(argument):
            return f" ('{argument}' is a file: write ./{argument} or put -- before it)"
    return ""


def _quiet_broken_pipe() -> int:
    # The reader went away (`imgconv ... | head`): stop quietly, and keep Python from
    # complaining again when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="imgconv", standalone_mode=False)
    except ImgconvError as error:
        error_line(str(error))
        return error.exit_code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the one boundary
        if type(error).__name__ == "NoArgsIsHelpError":  # a bare command: show its help
            sys.stderr.write(error.format_message() + "\n")  # type: ignore[attr-defined]
            return 2
        if _is_click_exception(error):
            message = error.format_message()  # type: ignore[attr-defined]
            code = int(error.exit_code)  # type: ignore[attr-defined]
            if code == 2:
                message += _dash_file_hint(argv if argv is not None else sys.argv[1:]) or _usage_hint(error)
            error_line(message)
            return code
        if debugging():
            raise
        error_line(str(InternalError.of(error)))
        return 1
    except SystemExit as exit_:  # raised by code that calls sys.exit
        return exit_.code if isinstance(exit_.code, int) else 1
    if isinstance(result, int):  # typer.Exit in non-standalone mode returns its code
        return result
    return 0


def run() -> None:
    """The console-script entry point (exits; a script that runs imgconv in its own
    process and has exit handlers of its own calls :func:`main` instead)."""
    # atexit handlers run last-registered first: registered before the run, this one runs
    # after those of the run (worker pools, temporary files), once every file is
    # written and closed, and ends the process without the interpreter's teardown of
    # every module and object: 30-70 ms of each run with numpy, OpenCV and Typer loaded,
    # for nothing a user sees.
    code = [1]  # if main() never returns
    atexit.register(_end_now, code)
    if "numpy" not in sys.modules:
        # numpy's OpenBLAS starts a thread per core that spins for about 0.1 s of CPU at
        # import, and imgconv has no use for it: its BLAS products are sized for one
        # thread (the matmul route), and its threads and workers share out the cores.
        # Several imgconv runs at once (xargs -P2, make -j) ran 1.2x as fast without it.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code[0] = main()
    sys.exit(code[0])


def _end_now(code: list[int]) -> None:
    status = code[0]
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # the reader went away: as Python's own exit would say
        status = status or 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status)
