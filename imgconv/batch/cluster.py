"""Running a batch on a Dask cluster: the same jobs, files and results as a local run.

Everything is decided on the client before anything is sent (:func:`imgconv.batch.plan_jobs`:
which inputs, which outputs, what may not be overwritten); each job then runs on a worker
as :func:`~imgconv.batch.run.run_job` runs it locally, reading and writing the files itself
(a filesystem the workers share), and only its small :class:`JobResult` travels back. Jobs
go out in small groups (one task, one scheduler round trip), a few tasks per worker thread
at a time, so a million inputs never make a million futures. A job whose worker dies is run again elsewhere (Dask reschedules it); one
that keeps killing workers fails alone, with the reason. Needs the ``dask`` extra
(``pip install 'imgconv[dask]'``): ``dask`` and ``distributed``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from ..errors import ImgconvError, UsageError
from ..kernels import Kernel
from ..options import FilterOptions
from ..zarrs import is_zarr
from .inputs import STDIO
from .plan import Job
from .run import JobResult, JobSettings, Step, keeps_existing, run_job

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["connect", "run_on_client", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a scheduler before saying it cannot be reached."""
_IN_FLIGHT = 3
"""Tasks submitted per worker thread at a time (enough to keep each busy between round trips)."""


def _distributed():  # noqa: ANN202 - the module
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--scheduler needs Dask's distributed scheduler: pip install 'imgconv[dask]'"
        ) from None
    return distributed


@contextlib.contextmanager
def connect(address: str, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator["Client"]:
    """A client of the scheduler at ``address``, closed (with its cluster) afterwards.

    ``address``: ``tcp://host:port`` (or ``host:port``), a scheduler file (``scheduler.json``,
    as ``dask scheduler --scheduler-file`` writes), or ``local`` / ``local:N`` for a
    ``LocalCluster`` of N single-threaded worker processes (default: the CPUs we may use)
    that lives as long as the client. A scheduler that cannot be reached within ``timeout``
    seconds is an :class:`ImgconvError` in one line.
    """
    distributed = _distributed()
    if not timeout > 0:
        raise UsageError(f"--scheduler-timeout must be a number of seconds > 0, got {timeout}")
    cluster = None
    try:
        if address == "local" or address.startswith("local:"):
            cluster = _local_cluster(distributed, address)
            client = distributed.Client(cluster, timeout=timeout)
        elif address.lower().endswith(".json") or os.path.isfile(address):
            if not os.path.isfile(address):
                raise ImgconvError("no such scheduler file", address)
            client = distributed.Client(scheduler_file=address, timeout=timeout)
        else:
            client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError) as error:
        if cluster is not None:
            cluster.close()
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImgconvError(
            f"cannot reach the Dask scheduler within {timeout:g} s ({reason})", address
        ) from None
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _local_cluster(distributed, address: str):  # noqa: ANN001, ANN202
    import dask

    from .._cpus import usable_cpus
    from .run import _start_context

    count = address.partition(":")[2]
    if count and not (count.isdigit() and int(count) >= 1):
        raise UsageError(f"--scheduler local:N takes a number of workers >= 1, not {count!r}")
    workers = int(count) if count else usable_cpus()
    # the local pool's rule for starting worker processes: fork (0.1 s for two, with OpenCV
    # already loaded) while this process has filtered nothing, else forkserver (0.5 s)
    method = _start_context().get_start_method()
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        return distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        )


def check_runnable(jobs: Sequence[Job]) -> None:
    """What a cluster cannot do, said before anything is sent: standard input and output are
    this process's, and every output folder must be writable (the workers write there)."""
    folders = set()
    for job in jobs:
        if job.input == STDIO or job.output == STDIO:
            raise UsageError("--scheduler runs on the workers, which have no standard input or output; give files")
        if not job.skip:
            folders.add(os.path.dirname(os.path.abspath(job.output)))
    for folder in sorted(folders):
        existing = folder
        while not os.path.isdir(existing):  # a mirrored tree's folders are made on the workers
            existing = os.path.dirname(existing)
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ImgconvError("the output folder is not writable (the workers write there)", existing)


def _run_remote(jobs: Sequence[Job], kernels: Sequence[Kernel], options: FilterOptions,
                settings: JobSettings) -> list[JobResult]:
    """A few jobs on a worker, each result marked with the worker's address."""
    from distributed import get_worker

    from .._cv import cv2

    cv2().setNumThreads(1)  # the worker's threads are the parallelism, as in the local pool
    worker = get_worker().address
    results = []
    for job in jobs:
        result = run_job(job, kernels, options, settings)
        if result.error is not None:  # which machine could not read or write the file
            error = result.error
            result = replace(result, error=type(error)(f"{error.reason} (on worker {worker})", error.path))
        results.append(replace(result, worker=worker))
    return results


def _group_size(remaining: int, threads: int) -> int:
    """Jobs per task: up to 8 while many remain (a task's round trip through the scheduler
    costs a few ms, as much as filtering a small image), one each for the last ones, so
    that the workers finish together."""
    return max(1, min(8, remaining // (4 * threads)))


def _zarr_on_cluster(job: Job, kernels: Sequence[Kernel], options: FilterOptions, settings: JobSettings,
                     client: "Client") -> JobResult:
    """A job with a Zarr output: its bands filtered as tasks across the cluster, each writing
    its own rows of chunks (:func:`imgconv.bigtiff.filter_on_cluster`), not one worker's job."""
    from ..bigtiff import DEFAULT_MEMORY, filter_on_cluster

    started = time.perf_counter()
    try:
        if job.make_folders:
            os.makedirs(os.path.dirname(job.output) or ".", exist_ok=True)
        done = filter_on_cluster(client, job.input, job.output, list(kernels), replace(options, channel_order="rgb"),
                                 memory=settings.max_memory or DEFAULT_MEMORY,
                                 compression=settings.compression or "zstd")
    except ImgconvError as error:
        return JobResult(job, "failed", error, (time.perf_counter() - started) * 1000)
    except Exception as error:  # noqa: BLE001 - a lost band fails its image, not the batch
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return JobResult(job, "failed", ImgconvError(f"the cluster lost a band of this image: {reason}", job.input),
                         (time.perf_counter() - started) * 1000)
    steps = tuple(Step(e) for e in done["explanations"]) if settings.explain else ()
    return JobResult(job, "done", None, (time.perf_counter() - started) * 1000,
                     done["shape"][0] * done["shape"][1], steps)


def run_on_client(
    jobs: Iterable[Job],
    kernels: Sequence[Kernel],
    options: FilterOptions,
    settings: JobSettings,
    client: "Client",
    *,
    retries: int = 1,
) -> Iterator[JobResult]:
    """Run ``jobs`` on the cluster behind ``client``, yielding each result as it finishes.

    Jobs planned as skipped are reported at once without a worker. Closing the generator (or
    Ctrl-C) cancels every job not finished; a job stopped midway leaves no file (writes are
    atomic on the worker).
    """
    distributed = _distributed()
    # What may be overwritten is decided here, before anything is sent; a worker may then
    # replace the output, so that a job run again after its worker died (perhaps after it
    # wrote the file) writes the same bytes again instead of failing on its own output.
    remote = replace(settings, overwrite=True, skip_existing=False)
    threads = max(1, sum(client.nthreads().values()))
    limit = _IN_FLIGHT * threads
    pending = distributed.as_completed()
    submitted: dict = {}
    queue = collections.deque(jobs)
    jobs_seen = list(queue)  # their output folders are swept of leftovers at the end

    def send(group: list[Job]) -> None:
        future = client.submit(_run_remote, group, kernels, options, remote, retries=retries, pure=False)
        submitted[future] = group
        pending.add(future)

    def fill() -> Iterator[JobResult]:
        group: list[Job] = []
        while queue and pending.count() < limit:
            job = queue.popleft()
            if job.skip:
                yield run_job(job, kernels, options, settings)
                continue
            if not settings.dry_run:
                try:
                    if keeps_existing(job, settings):
                        yield JobResult(job, "skipped")
                        continue
                except ImgconvError as error:
                    yield JobResult(job, "failed", error)
                    continue
            if is_zarr(job.output) and not settings.dry_run and not settings.compare_with:
                yield _zarr_on_cluster(job, kernels, options, settings, client)  # its bands are the tasks
                continue
            group.append(job)
            if len(group) >= _group_size(len(queue) + 1, threads):
                send(group)
                group = []
        if group:
            send(group)

    started = time.time()
    try:
        yield from fill()
        while not pending.is_empty():
            future = next(pending)
            group = submitted.pop(future)
            try:
                yield from future.result()
            except distributed.KilledWorker:
                if len(group) > 1:  # one of them may be the cause: each alone, so it fails alone
                    for job in group:
                        send([job])
                else:
                    yield JobResult(group[0], "failed", ImgconvError(
                        "the workers running this input died each time it was tried (out of memory?); "
                        "the other inputs went on", group[0].input))
            except Exception as error:  # noqa: BLE001 - a lost task fails its inputs, not the batch
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                for job in group:
                    yield JobResult(job, "failed", ImgconvError(f"the cluster lost this job: {reason}", job.input))
            yield from fill()
        _sweep_leftovers(jobs_seen, started)
    finally:
        if submitted:  # Ctrl-C or an abandoned generator: nothing more starts
            with contextlib.suppress(Exception):
                client.cancel(list(submitted))


def _sweep_leftovers(jobs: Iterable[Job], since: float) -> None:
    """Remove the temporary files of this batch's writes that a worker killed mid-write left
    in the output folders (Dask ran its job again elsewhere, under another temporary name).
    Only after every job has finished, and only temporary files made since the batch began."""
    for folder in {os.path.dirname(job.output) or "." for job in jobs if job.output != STDIO}:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if (entry.name.startswith(".imgconv-") and entry.name.endswith(".part")
                        and entry.stat(follow_symlinks=False).st_mtime >= since - 1):
                    with contextlib.suppress(OSError):
                        os.remove(entry.path)
