"""``imgconv.apply_files``: the batch runner from Python, locally or on a Dask cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..kernels import Kernel, load_kernel_chain
from ..options import FilterOptions
from .inputs import find_inputs
from .plan import plan_jobs
from .run import JobSettings, run_jobs

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["apply_files", "plan_files"]


def plan_files(kernel: Any, inputs: Sequence[str], output: str | None, *, recursive: bool = False,
               pattern: str | None = None, output_format: str | None = None) -> tuple[list[Kernel], list]:
    """The kernel chain and the jobs of ``imgconv apply KERNEL INPUTS... -o OUTPUT``: a spec
    (``blur+sharpen``), a :class:`Kernel` or a list of them; outputs named by the chain's tags
    (and ending in ``output_format``'s extension, when given)."""
    if isinstance(kernel, str):
        chain = load_kernel_chain(kernel)
    elif isinstance(kernel, Kernel):
        chain = [kernel]
    else:
        chain = list(kernel)
    tag = "+".join(k.tag for k in chain)
    jobs = plan_jobs(find_inputs(inputs, recursive=recursive, pattern=pattern), output, tag, several=len(inputs) > 1,
                     output_format=output_format)
    return chain, jobs


def apply_files(
    kernel: Any,
    inputs: str | Sequence[str],
    *,
    output: str | None = None,
    client: "Client | None" = None,
    workers: int = 1,
    recursive: bool = False,
    pattern: str | None = None,
    settings: JobSettings = JobSettings(),
    **options: Any,
) -> list[dict]:
    """Filter files as ``imgconv apply`` does, and return the records ``--report`` writes.

    ``kernel``: a spec (``"blur+sharpen"`` is a chain), a :class:`Kernel` or a list of them;
    ``inputs``: files, folders, glob patterns; ``output``: a file or a folder (None: beside
    each input); ``client``: a ``dask.distributed.Client`` to run on its cluster (the workers
    read and write the files), else ``workers`` local processes; ``options``: the fields of
    :class:`FilterOptions` (``border="wrap"`` ...). Failures are records with an ``error``.

    >>> import tempfile, os, cv2, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> _ = cv2.imwrite(os.path.join(folder, "a.png"), np.zeros((4, 4), np.uint8))
    >>> [r["status"] for r in apply_files("edge", folder, output=os.path.join(folder, "out"))]
    ['done']
    """
    filtering = FilterOptions(**options)
    names = [inputs] if isinstance(inputs, str) else list(inputs)
    chain, jobs = plan_files(kernel, names, output, recursive=recursive, pattern=pattern,
                             output_format=settings.output_format)
    results = run_jobs(jobs, chain, filtering, settings, workers=workers, client=client)
    return [result.record(filtering.engine) for result in results]
