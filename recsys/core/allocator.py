"""The process's memory allocators tuned to give freed memory back to the OS (glibc malloc through ``mallopt``,
Arrow's default pool), for the long-lived processes that build and drop large arrays again and again: a service
worker across reloads and the Dask training run's driver across cutoffs."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os

log = logging.getLogger("recsys")

M_ARENA_MAX = -8  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
ARENA_MAX = 2
"""glibc malloc arenas a worker may use (glibc's default: 8 per core)."""
MMAP_THRESHOLD = 256 * 1024
"""Heap blocks at least this large are mapped on their own (and unmapped when freed)."""


def tune_allocator() -> list[str]:
    """Make the memory a process frees go back to the OS (called once, early: at a service worker's start before
    its first state is built, at the start of a Dask training run's driver); returns what was changed. A setting
    glibc or Arrow reads from the environment wins over this.

    Why (measured with ``python -m bench.reload_memory``): a reload builds a whole new state while the old one still
    serves, on a thread of its own, then drops the old one. What stays alive afterwards is the same as before (C heap
    in use and Python's blocks flat across reloads; the previous state is collected), but RSS still rose by ~50 MiB
    at the first reload and by more now and then: (1) glibc gives each thread an arena of its own whose free memory
    stays mapped, and after a state's large arrays are freed it raises its mmap threshold (up to 32 MiB), so the next
    state's arrays come from the heap and fragment it; (2) pandas keeps strings in Arrow buffers, allocated from
    Arrow's mimalloc pool, which keeps the pages it freed. So: at most :data:`ARENA_MAX` arenas, blocks from
    :data:`MMAP_THRESHOLD` bytes mapped on their own (returned on free), Arrow on the system allocator."""
    done: list[str] = []
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune there
        libc = ctypes.CDLL("libc.so.6")
        for env, param, value in (
            ("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENA_MAX),
            ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        ):
            if env not in os.environ and libc.mallopt(param, value) == 1:
                done.append(f"{env}={value}")
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa

        if pa.default_memory_pool().backend_name != "system":
            pa.set_memory_pool(pa.system_memory_pool())
            done.append("ARROW_DEFAULT_MEMORY_POOL=system")
    if done:
        log.info("memory allocators tuned: %s", ", ".join(done))
    return done
