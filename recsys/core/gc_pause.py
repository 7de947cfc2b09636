"""Bulk loads without the cyclic garbage collector running over and over.

Building a serving state allocates millions of container objects that all survive (decoded plan tiers and creator
lists, frames, dicts). CPython starts a collection every few hundred net allocations and a full one whenever the
objects not yet fully scanned reach a quarter of the old generation, so a growing heap is walked again and again:
at 1M products that was a third of a worker's start (30.6 s to ready with the collector, 20.3 s without it;
``bench/PROFILE.md``). Nothing a load builds is garbage until it is swapped out, so pausing the collector for the
load loses nothing; reference counting still frees everything acyclic at once, and the collector resumes (and
catches up on any cycles) when the last pause ends.

Pauses nest and may overlap across threads (a reload while a background refresh runs): the collector is enabled
again when the last one ends, and only if it was enabled when the first began.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic cyclic collection inside the block (nested and concurrent blocks allowed)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
