"""Filtering files: where outputs go, what may not be overwritten, one file end to end.

The CLI plans the jobs (:func:`plan_jobs`), runs each (:func:`run_job`) and reports the
:class:`JobResult` records; nothing here prints.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Literal

from .errors import ImageWriteError, ImgconvError, UsageError
from .imageio import (
    decode_image,
    encode_image,
    format_for,
    read_bytes,
    sniff_format,
    write_bytes_atomic,
    write_stdout,
)
from .kernels import Kernel
from .options import FilterOptions

__all__ = ["Job", "JobResult", "default_output", "plan_jobs", "run_job"]

STDIO = "-"


@dataclass(frozen=True)
class Job:
    input: str
    output: str


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: Literal["done", "failed", "skipped"]
    error: ImgconvError | None = None
    milliseconds: float = 0.0


def default_output(input_path: str, kernel: Kernel) -> str:
    """``photo.jpg`` filtered with ``edge`` -> ``photo.edge.jpg``, beside the input.

    >>> from imgconv.kernels import load_kernel
    >>> default_output("shots/photo.jpg", load_kernel("edge"))
    'shots/photo.edge.jpg'
    """
    root, ext = os.path.splitext(input_path)
    return f"{root}.{kernel.tag}{ext or '.png'}"


def plan_jobs(inputs: list[str], output: str | None, kernel: Kernel) -> list[Job]:
    """Pair every input with its output path.

    * one input: ``output`` is the file to write (``-`` for standard output), or without
      it the input's name with the kernel's tag; standard input goes to standard output;
    * several inputs: ``output`` must be a folder, and files keep their names in it.
    """
    if not inputs:
        raise UsageError("no input given")
    for path in inputs:
        if path != STDIO and os.path.isdir(path):
            raise UsageError("is a folder; give image files (folder batches are not supported yet)", path)
    if inputs.count(STDIO) and len(inputs) > 1:
        raise UsageError("standard input ('-') can only be the only input")
    if len(inputs) == 1:
        source = inputs[0]
        if output is not None and os.path.isdir(output) and source != STDIO:
            return [Job(source, os.path.join(output, os.path.basename(source)))]
        if output is None:
            output = STDIO if source == STDIO else default_output(source, kernel)
        return [Job(source, output)]
    if output is None:
        return [Job(path, default_output(path, kernel)) for path in inputs]
    if output == STDIO:
        raise UsageError("several inputs cannot all go to standard output; give -o FOLDER")
    if not os.path.isdir(output):
        raise UsageError("several inputs need -o to be an existing folder", output)
    return [Job(path, os.path.join(output, os.path.basename(path))) for path in inputs]


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def run_job(
    job: Job,
    kernel: Kernel,
    options: FilterOptions,
    *,
    output_format: str | None = None,
    overwrite: bool = False,
    skip_existing: bool = False,
) -> JobResult:
    """Read, filter and write one image; errors become a failed :class:`JobResult`.

    The output is never the input (by path, hard link or symlink), even with
    ``overwrite``; with neither ``overwrite`` nor ``skip_existing`` an existing output fails.
    """
    from .filtering import apply

    started = time.perf_counter()

    def result(status, error=None):  # noqa: ANN001, ANN202
        return JobResult(job, status, error, (time.perf_counter() - started) * 1000)

    try:
        to_stdout = job.output == STDIO
        if not to_stdout:
            if job.input != STDIO and os.path.exists(job.output) and _same_file(job.input, job.output):
                raise ImageWriteError("output is the input itself; imgconv never overwrites an input", job.output)
            if os.path.lexists(job.output):
                if skip_existing:
                    return result("skipped")
                if not overwrite:
                    raise ImageWriteError("output exists; use --overwrite to replace it", job.output)
        data = read_bytes(job.input)
        if to_stdout:
            fmt = format_for(output_format or _input_format(job.input, data))
        else:
            fmt = format_for(output_format, path=job.output)
        image = decode_image(data, name=job.input, channel_order=options.channel_order)
        del data
        filtered = apply(image, kernel, options)
        encoded = encode_image(filtered, fmt, channel_order=options.channel_order, name=job.output if not to_stdout else job.input)
        if to_stdout:
            write_stdout(encoded)
        else:
            write_bytes_atomic(job.output, encoded, overwrite=overwrite)
    except ImgconvError as error:
        return result("failed", error)
    return result("done")


def _input_format(path: str, data: bytes) -> str:
    sniffed = sniff_format(data)
    if sniffed:
        return sniffed
    try:
        return format_for(None, path=path).name
    except UsageError:
        return "png"
