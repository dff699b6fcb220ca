"""The limits perfsim keeps to, so that bad or hostile input is refused before any work.

Each limit has a documented default and an environment variable that changes it:

========================  ==========================  ===========================================
limit                     default                     override
========================  ==========================  ===========================================
memory a run may need     80% of the memory this      ``PERFSIM_MAX_MEMORY_GIB`` (GiB)
                          process can have (the
                          machine's, or a smaller
                          container limit; 16 GiB
                          where unknown)
YAML file size            16 MiB                      ``PERFSIM_MAX_YAML_MIB`` (MiB)
YAML nodes, expanded      1,000,000 (every alias      ``PERFSIM_MAX_YAML_NODES``
                          counted as the nodes it
                          stands for)
YAML nesting depth        100 levels                  ``PERFSIM_MAX_YAML_DEPTH`` (at most 500)
========================  ==========================  ===========================================

**Memory.** A Monte Carlo run (``perfsim run``, ``perfsim calibrate`` with replications), a
generated portfolio and a folder of generated self-evaluation workbooks estimate the bytes they
would hold at once (:func:`monte_carlo_bytes`, :func:`selfeval_bytes`) and are refused with one
line — ``需要约 X GiB 内存，超过上限 Y GiB / would need about X GiB, above the limit Y GiB (set
PERFSIM_MAX_MEMORY_GIB to change)`` — before anything is allocated (:func:`check_memory`).

**YAML.** Every YAML file perfsim reads goes through one loader (:mod:`perfsim.yamlfile`), which
refuses a file above the size limit before reading it, a document whose nodes — aliases
expanded — exceed the node limit (a "billion laughs" file is refused after a few thousand
nodes are composed, without expanding anything), nesting deeper than the depth limit, and an
alias that refers to the node containing it.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
from pathlib import Path

from perfsim.errors import InputError

GIB = 1 << 30
MIB = 1 << 20

#: Share of the memory this process can have that a run may plan to use.
MEMORY_SHARE = 0.8
#: The memory limit where the machine's memory cannot be read.
MEMORY_FALLBACK_GIB = 16.0
MEMORY_ENV = "PERFSIM_MAX_MEMORY_GIB"

#: The largest YAML file perfsim reads, in MiB (the bundled ones are below 20 KiB).
YAML_MIB = 16.0
YAML_MIB_ENV = "PERFSIM_MAX_YAML_MIB"
#: The most nodes a YAML document may hold with every alias expanded (each use of an alias
#: counts all the nodes it stands for).
YAML_NODES = 1_000_000
YAML_NODES_ENV = "PERFSIM_MAX_YAML_NODES"
#: The deepest nesting of a YAML document (an indicator system needs fewer than 15 levels).
YAML_DEPTH = 100
YAML_DEPTH_ENV = "PERFSIM_MAX_YAML_DEPTH"
#: The highest depth limit ``PERFSIM_MAX_YAML_DEPTH`` may set (Python's own recursion limit
#: is not far above).
YAML_DEPTH_CEILING = 500


def _env_number(name: str, default: float, ceiling: float | None = None) -> float:
    """The positive number in the environment variable ``name``, else ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InputError(field=name, value=text, problem="must be a number > 0")
    if ceiling is not None and value > ceiling:
        raise InputError(field=name, value=text, problem=f"must be <= {ceiling:g}")
    return value


def machine_memory() -> int | None:
    """The memory this process can have: the machine's physical memory, or a smaller
    control-group limit (containers); None where unknown."""
    found = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(ValueError, OSError):
            found.append(int(Path(f).read_text().strip()))
    found = [v for v in found if v > 0]
    return min(found) if found else None


def memory_limit() -> int:
    """Bytes a run may plan to use: ``PERFSIM_MAX_MEMORY_GIB`` when set, else
    :data:`MEMORY_SHARE` of :func:`machine_memory` (:data:`MEMORY_FALLBACK_GIB` where
    unknown)."""
    have = machine_memory()
    default = MEMORY_FALLBACK_GIB if have is None else MEMORY_SHARE * have / GIB
    return int(_env_number(MEMORY_ENV, default) * GIB)


def yaml_bytes() -> int:
    """The largest YAML file perfsim reads, in bytes."""
    return int(_env_number(YAML_MIB_ENV, YAML_MIB) * MIB)


def yaml_nodes() -> int:
    """The most nodes a YAML document may expand to."""
    return int(_env_number(YAML_NODES_ENV, YAML_NODES))


def yaml_depth() -> int:
    """The deepest nesting of a YAML document."""
    return int(_env_number(YAML_DEPTH_ENV, YAML_DEPTH, YAML_DEPTH_CEILING))


def gib(n: float) -> str:
    """Bytes as GiB for a message: ``1.5``, ``45``, ``1,234``; small amounts with three
    significant digits (``0.00391``)."""
    x = n / GIB
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 0.1:
        return f"{x:.1f}"
    return f"{x:.3g}"


def check_memory(need: float, source: str | os.PathLike[str] | None = None,
                 where: str | None = None, field: str | None = None,
                 value: object = None) -> None:
    """Refuse, as one :class:`InputError` naming ``source``/``where``/``field`` = ``value``,
    a piece of work that would need ``need`` bytes, above :func:`memory_limit`."""
    limit = memory_limit()
    if need > limit:
        problem = (f"would need about {gib(need)} GiB, above the limit {gib(limit)} GiB "
                   f"(set {MEMORY_ENV} to change)")
        if field is None:
            raise InputError(source, where, problem=problem)
        raise InputError(source, where, field, value, problem)


#: Bytes a Python process running perfsim holds before a Monte Carlo starts (the interpreter,
#: numpy, pandas, the scenario): counted once in every estimate.
BASE_BYTES = 300 * MIB


def monte_carlo_bytes(*, slots: int, leaves: int, checkpoints: int, replications: int,
                      years: int, chunk_rows: int, metrics: int, parallel: int = 1) -> int:
    """Bytes a Monte Carlo holds at its peak, roughly (an upper estimate), before it starts.

    A chunk of ``chunk_rows`` replications works on arrays (rows, slots, leaves) — the year's
    draws and the next year's, made ahead, the leaf attainments and their scratch — about
    :data:`CHUNK_LEAF_ARRAYS` of them, and on arrays (rows, slots) — the state, the scores,
    the grades — about :data:`CHUNK_SLOT_ARRAYS`; ``parallel`` chunks run at once (a process
    pool's workers). What is kept over every replication and year — ``metrics`` numbers per
    replication and year, gathered, concatenated and turned into a table — costs about
    :data:`KEPT_COPIES` copies of (replications, years, metrics) numbers. Each number is 8
    bytes."""
    rows = max(1, min(chunk_rows, replications))
    per_chunk = rows * slots * (CHUNK_LEAF_ARRAYS * leaves + CHUNK_SLOT_ARRAYS
                                + 2 * max(checkpoints, 0))
    per_chunk += rows * years * (metrics + 4)  # the chunk's own results, year by year
    kept = KEPT_COPIES * replications * years * (metrics + 2)
    return BASE_BYTES + 8 * (max(1, parallel) * per_chunk + kept)


# Fitted to numpy's own allocation count (tracemalloc) in perfsim run on the bundled scenarios:
# 40-50 numbers per row and slot with one leaf, 115-140 with 16 leaves (3,468 projects); the
# estimate is 1.1-1.8 times the measured peak (tests/test_limits.py checks it stays above).

#: Arrays (rows, slots, leaves) a chunk holds at once, see :func:`monte_carlo_bytes`.
CHUNK_LEAF_ARRAYS = 8
#: Arrays (rows, slots) a chunk holds at once, see :func:`monte_carlo_bytes` (the year's
#: outcome keeps next year's budgets sorted for the distribution metrics: two of them).
CHUNK_SLOT_ARRAYS = 50
#: Copies of the per-replication, per-year results kept at the end of a run.
KEPT_COPIES = 4


#: Bytes one generated self-evaluation workbook holds while a folder of them is written (its
#: plan and truth rows, kept to the end: about 10 KiB measured, 100 to 400 workbooks).
SELFEVAL_BOOK_BYTES = 16 * 1024


def selfeval_bytes(projects: int) -> int:
    """Bytes writing ``projects`` generated self-evaluation workbooks holds at its peak,
    roughly: every workbook's plan and truth rows are kept until the end."""
    return BASE_BYTES + SELFEVAL_BOOK_BYTES * max(0, projects)


#: glibc's mallopt parameters: allocations below the threshold come from the heap, and
#: freed heap memory up to the trim threshold stays with the process (M_MMAP_THRESHOLD,
#: M_TRIM_THRESHOLD, M_TOP_PAD)
_MALLOPT = ((-3, 512 << 20), (-1, 1 << 30), (-2, 256 << 20))


def keep_freed_memory() -> bool:
    """In a process of perfsim's own, which ends with its work (the ``perfsim`` command's:
    :mod:`perfsim.start`; a pool's worker: a sensitivity analysis's, the processes or Dask
    engine's; never a process that imports perfsim as a library): let the C library keep the
    memory of freed arrays for the next chunk's, instead of returning it to the system and
    faulting fresh pages in for every large array (a chunk's arrays are tens of MiB: each
    would otherwise cost page faults and zeroing, a third of the CPU time). glibc only
    (``mallopt``); elsewhere nothing changes. Whether it applied."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return all(libc.mallopt(k, v) == 1 for k, v in _MALLOPT)
    except (OSError, AttributeError):
        return False
