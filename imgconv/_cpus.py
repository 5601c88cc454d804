"""How many CPUs imgconv may use: one answer for the worker processes and the engine's threads."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: ``taskset``, a container's
    cpuset), which can be fewer than the machine has (``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
