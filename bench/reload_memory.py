"""What a reload keeps: a worker's memory after each of N reloads, in process (no HTTP, no load generator).

    python -m bench.reload_memory --data-dir D --artifacts-dir A --reloads 10              # as a worker runs now
    python -m bench.reload_memory --data-dir D --artifacts-dir A --reloads 10 --no-tuning  # glibc's defaults
    python -m bench.reload_memory --data-dir D --artifacts-dir A --same --trace --types    # where it goes

The service (``serving.runtime.Service``, as a worker builds it: the bundle from its shared snapshot, the store's
tables, the entities written after training) is started on the given store and artifacts, then reloaded N times,
alternating between the current bundle and a twin of it under another run id (a real swap: a new snapshot, new
memory maps, new compiled models), or reloading the same bundle with ``--same``. Each reload runs on a thread of its
own, as a worker following another worker's reload does. After each reload, measured in this process:

- RSS and its anonymous part (``/proc/self/status``), the C heap in use and free in it (glibc ``mallinfo2``: free
  memory malloc keeps is what RSS grows by when nothing is alive), Python's allocated blocks
  (``sys.getallocatedblocks``: live Python objects), tracemalloc's traced bytes (``--trace``: Python objects and
  numpy arrays), and whether the previous :class:`~serving.state.MatcherState` is still alive (a weak reference).
- With ``--types``, the object types whose count grew between the first and the last reload (objgraph-style);
  with ``--trace``, the 10 allocation sites whose traced size grew most over the same span.

Write access to the artifacts folder is needed for the twin (``<run_id>-reload-twin``, removed at the end, and
``current`` restored); use a private copy of a demo (``cp -a``), never a store or bundle in use.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import shutil
import sys
import threading
import time
import tracemalloc
import weakref
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TWIN_SUFFIX = "-reload-twin"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def _mallinfo() -> tuple[float, float]:
    """(C heap in use, free memory malloc keeps) in MiB; (nan, nan) without glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return float("nan"), float("nan")
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


def proc_status(names: tuple[str, ...] = ("VmRSS", "RssAnon")) -> dict[str, float]:
    """Memory figures of this process from ``/proc/self/status`` (e.g. VmRSS, RssAnon, VmHWM), in MiB."""
    out: dict[str, float] = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name in names:
                out[name] = int(value.split()[0]) / 1024
    return out


def measure(previous: weakref.ref[Any] | None) -> dict[str, Any]:
    """One row: memory now, and whether the state ``previous`` points at is still alive."""
    gc.collect()
    in_use, free = _mallinfo()
    status = proc_status()
    return {
        "rss_mib": round(status.get("VmRSS", 0.0), 1),
        "anon_mib": round(status.get("RssAnon", 0.0), 1),
        "c_heap_mib": round(in_use, 1),
        "c_free_mib": round(free, 1),
        "py_blocks": sys.getallocatedblocks(),
        "traced_mib": round(tracemalloc.get_traced_memory()[0] / 2**20, 1) if tracemalloc.is_tracing() else None,
        "previous_alive": None if previous is None else previous() is not None,
    }


def type_counts() -> Counter[str]:
    """Live gc-tracked objects by type name (the service freezes its state out of the GC: thawed to count)."""
    gc.unfreeze()
    try:
        return Counter(type(o).__qualname__ for o in gc.get_objects())
    finally:
        gc.freeze()


@contextlib.contextmanager
def twin_bundle(artifacts: Path) -> Iterator[tuple[str, str]]:
    """The current bundle and a twin of it under another run id (removed, and ``current`` restored, at the end)."""
    from models.bundle import current_bundle_dir, set_current

    first = current_bundle_dir(artifacts).name
    twin = artifacts / f"{first}{TWIN_SUFFIX}"
    if not twin.exists():
        shutil.copytree(artifacts / first, twin, copy_function=shutil.copyfile)
        manifest = twin / "manifest.json"
        data = json.loads(manifest.read_text())
        data["run_id"] = twin.name
        manifest.write_text(json.dumps(data))
    try:
        yield first, twin.name
    finally:
        set_current(artifacts, first)
        shutil.rmtree(twin, ignore_errors=True)


def _settings(args: argparse.Namespace) -> Any:
    from recsys.core.config import Settings

    settings = Settings(data_dir=args.data_dir, artifacts_dir=args.artifacts_dir)
    serving: dict[str, bool] = {"warm_up_compliance": False}
    if args.no_tuning:
        serving["tune_allocator"] = False
    return settings.model_copy(update={"serving": settings.serving.model_copy(update=serving)})


def _reload_on_a_thread(service: Any) -> float:
    """One reload on a new thread (as a worker follows another's reload); its seconds."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            service.reload(force=True)
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    started = time.perf_counter()
    thread = threading.Thread(target=run, name="reload")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start a service, reload it ``args.reloads`` times; the rows and what grew."""
    from models.bundle import set_current
    from recsys.core.store import Store
    from serving.runtime import Service
    from serving.telemetry import ServiceMetrics

    settings = _settings(args)
    store = Store.from_settings(settings)
    store.pin_file()
    rows: list[dict[str, Any]] = []
    grew: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        bundles = None if args.same else stack.enter_context(twin_bundle(args.artifacts_dir))
        service = Service(settings, store, ServiceMetrics(), check_interval=1e9)
        started = time.perf_counter()
        service.start()
        rows.append({"step": "start", "seconds": round(time.perf_counter() - started, 2), **measure(None)})
        if args.trace:
            tracemalloc.start(args.frames)
        marks: list[Any] = []
        for i in range(1, args.reloads + 1):
            if bundles is not None:
                set_current(args.artifacts_dir, bundles[i % 2])
            previous = weakref.ref(service.state())
            seconds = _reload_on_a_thread(service)
            rows.append({"step": f"reload {i}", "seconds": round(seconds, 2), **measure(previous)})
            if i in (1, args.reloads):
                marks.append(
                    (type_counts() if args.types else None, tracemalloc.take_snapshot() if args.trace else None)
                )
        service.stop()
    store.dispose()
    if len(marks) == 2:
        grew = _what_grew(marks[0], marks[1])
    return {"settings": _tuning(settings), "rows": rows, "grew": grew}


def _tuning(settings: Any) -> dict[str, bool]:
    return {"tune_allocator": settings.serving.tune_allocator}


def _what_grew(first: tuple[Any, Any], last: tuple[Any, Any]) -> dict[str, list[str]]:
    """Types whose count grew, and allocation sites whose traced size grew, from the first to the last reload."""
    out: dict[str, list[str]] = {}
    if first[0] is not None:
        diff = last[0] - first[0]
        out["types"] = [f"{name}: +{n}" for name, n in diff.most_common(10)]
    if first[1] is not None:
        stats = last[1].compare_to(first[1], "traceback")
        out["sites"] = [f"{s.size_diff / 1024:+.0f} KiB {s.count_diff:+d} blocks at {s.traceback}" for s in stats[:10]]
    return out


def growth(rows: list[dict[str, Any]]) -> dict[str, float]:
    """RSS growth: start -> reload 1 (the second state's high-water mark) and per reload after the first."""
    start, first, last = rows[0]["rss_mib"], rows[1]["rss_mib"], rows[-1]["rss_mib"]
    later = max(len(rows) - 2, 1)
    return {
        "start_mib": start,
        "first_reload_mib": round(first - start, 1),
        "per_reload_after_first_mib": round((last - first) / later, 2),
        "start_to_last_pct": round(100 * (last - start) / start, 1),
    }


def report(result: dict[str, Any]) -> str:
    """The rows as a markdown table, then the growth and what grew."""
    cols = ["step", "seconds", "rss_mib", "anon_mib", "c_heap_mib", "c_free_mib", "py_blocks", "traced_mib"]
    lines = [f"settings: {result['settings']}", "", "| " + " | ".join([*cols, "previous state alive"]) + " |"]
    lines.append("|" + "---|" * (len(cols) + 1))
    for row in result["rows"]:
        cells = ["" if row[c] is None else str(row[c]) for c in cols]
        alive = row["previous_alive"]
        lines.append("| " + " | ".join([*cells, "" if alive is None else ("yes" if alive else "no")]) + " |")
    lines += ["", f"growth: {growth(result['rows'])}"]
    for what, items in result["grew"].items():
        lines += [f"{what} that grew (first -> last reload):", *(f"  {item}" for item in items)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reload_memory", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="the store's folder (recsys.db)")
    parser.add_argument("--artifacts-dir", type=Path, required=True, help="bundles and artifacts/current")
    parser.add_argument("--reloads", type=int, default=10, help="how many reloads (default 10)")
    parser.add_argument("--same", action="store_true", help="reload the same bundle (default: alternate with a twin)")
    parser.add_argument("--no-tuning", action="store_true", help="allocators' defaults (serving.tune_allocator off)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: traced bytes, sites that grew (slower)")
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc frames per allocation (default 1)")
    parser.add_argument("--types", action="store_true", help="object types whose count grew")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.reloads < 2:
        parser.error("--reloads must be at least 2")
    result = run(args)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
