"""Time named stages of the code under measurement by wrapping their functions in place (stdlib only, so a
process can import it before what it measures: ``bench.soak_start`` times the imports themselves)."""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Iterable
from typing import Any

Stage = tuple[str, str | None, str, str]
"""(label, class or None for a module-level function, module, attribute)"""


def time_stages(
    stages: Iterable[Stage], times: dict[str, float], clock: Callable[[], float] = time.perf_counter
) -> list[str]:
    """Wrap each stage's function so that every call adds its duration by ``clock`` (inclusive of what it calls)
    to ``times[label]`` (a ``defaultdict(float)``). A class or attribute the code tree lacks is skipped (an older
    tree measured side by side); returns the labels wrapped, in order."""
    wrapped = []
    for label, cls, module, attr in stages:
        owner: Any = importlib.import_module(module)
        if cls is not None:
            owner = getattr(owner, cls, None)
        if owner is None or not callable(getattr(owner, attr, None)):
            continue
        setattr(owner, attr, _timed(times, label, getattr(owner, attr), clock))
        wrapped.append(label)
    return wrapped


def _timed(times: dict[str, float], label: str, fn: Any, clock: Callable[[], float]) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            times[label] += clock() - started

    return wrapper
