"""Filtering files: which inputs, where outputs go, what may not be overwritten, and running.

Three replaceable steps, none of which prints:

1. :func:`find_inputs` (:mod:`.inputs`) turns INPUT arguments (files, folders, glob
   patterns, ``-``) into :class:`Source` records, each file once;
2. :func:`plan_jobs` (:mod:`.plan`) pairs each source with its output (:class:`Job`),
   leaving out the batch's own outputs;
3. :func:`run_jobs` (:mod:`.run`) runs the jobs (in this process or in a pool of worker
   processes) and yields one :class:`JobResult` per job as it finishes; :func:`run_job`
   does one file, and with ``JobSettings(compare_with=...)`` checks a second engine
   against the first (:func:`compare_engines`, :mod:`.compare`); with a Dask client the
   jobs run on a cluster (:mod:`.cluster`).

:func:`apply_files` (:mod:`.files`) is all three from Python.
"""

from __future__ import annotations

from .compare import compare_engines
from .files import apply_files
from .inputs import IMAGE_EXTENSIONS, STDIO, Source, find_inputs, nothing_found
from .plan import Job, default_output, plan_jobs, same_file, writable_name
from .run import JobResult, JobSettings, run_job, run_jobs

__all__ = [
    "Source",
    "Job",
    "JobResult",
    "JobSettings",
    "IMAGE_EXTENSIONS",
    "STDIO",
    "default_output",
    "writable_name",
    "find_inputs",
    "nothing_found",
    "plan_jobs",
    "same_file",
    "run_job",
    "run_jobs",
    "compare_engines",
    "apply_files",
]
