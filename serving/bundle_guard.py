"""The bundle a worker serves: its shared snapshot's life, its damage, and failures to load the live bundle.

The service loads every bundle from a verified snapshot (``models.bundle_snapshot``: copied and verified in one pass
under ``<artifacts>/.serving/``, once per bundle, shared by every worker), so changing or truncating the artifacts
after a load reaches no worker. Every load holds its snapshot; this guard releases the hold once the bundle is no
longer served (after a swap; at shutdown) — the last release deletes the folder, except the current bundle's
copy at shutdown with ``serving.keep_snapshot`` (the next start maps it rather than copying the bundle again) —
sweeps the snapshots no live process holds at start (but that copy), checks on every background tick that the
served snapshot itself is intact (a truncated memory-mapped file would be a SIGBUS on the next page read), and
keeps the reason ``/readyz`` reports while something is wrong: the served snapshot damaged, or the live bundle (the
one another worker switched to) refused here. The last good bundle keeps serving meanwhile. A fatal signal still
possible (a snapshot truncated by hand) prints a traceback to the worker's log (``faulthandler``), so a worker never
dies silently.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
from pathlib import Path

from models.bundle import Bundle, BundleError, current_bundle_dir
from models.bundle_snapshot import (
    SnapshotError,
    file_sizes,
    is_copy_of,
    is_snapshot,
    kept_copy,
    remove_snapshot,
    snapshot_damage,
    sweep_stale_snapshots,
)

log = logging.getLogger("recsys.serving")


class BundleGuard:
    """Per worker: the served snapshot, its cleanup, and the bundle problem ``/readyz`` reports (None: none)."""

    def __init__(self, artifacts_dir: Path, keep_current: bool = False) -> None:
        self.artifacts_dir = artifacts_dir
        self.keep_current = keep_current  # serving.keep_snapshot: the current bundle's copy outlives its holders
        self.problem: str | None = None
        self._served: tuple[Path, dict[str, int]] | None = None  # the snapshot and its files' sizes, set at once

    def start(self) -> None:
        """At worker start: fatal signals print a traceback; snapshots of workers that died are removed."""
        if not faulthandler.is_enabled():
            faulthandler.enable(file=sys.stderr, all_threads=True)
        try:
            for folder in sweep_stale_snapshots(self.artifacts_dir, self._current()):
                log.info("removed the bundle snapshot %s: no running worker serves it", folder.name)
        except OSError as exc:
            log.warning("could not sweep old bundle snapshots: %s", exc)

    def swapped(self, bundle: Bundle) -> None:
        """``bundle`` is served now: the previous load's hold is released (each load holds once, even of the same
        snapshot; the folder goes with its last holder, and its mappings stay valid until unmapped)."""
        served = (bundle.path, file_sizes(bundle.path)) if is_snapshot(bundle.path) else None
        previous, self._served = self._served, served
        self.problem = None
        if previous is not None:
            self._remove(previous[0])

    def serves_current(self) -> bool:
        """Whether the bundle ``artifacts/current`` names is the one served, from an intact snapshot: a reload then
        has nothing to load. Raises :class:`BundleError` when its artifacts are damaged (the reload is refused, as
        any reload of a damaged bundle is); False when anything else differs or is unknown (a full reload decides)."""
        served = self._served
        if served is None or self.problem is not None:
            return False
        try:
            return is_copy_of(served[0], current_bundle_dir(self.artifacts_dir))
        except SnapshotError as exc:
            raise BundleError(str(exc)) from exc
        except BundleError:
            return False  # no current bundle: the full reload says so

    def discard(self, bundle: Bundle) -> None:
        """A snapshot loaded but never served (the state could not be built from it) is released at once."""
        if is_snapshot(bundle.path):
            self._remove(bundle.path)

    def refused(self, what: str, exc: BaseException) -> None:
        """The live bundle could not be loaded here: logged, and ``/readyz`` says so until a load succeeds."""
        log.error("%s: %s; the previous bundle keeps serving", what, exc)
        self.problem = _short(f"{what} ({exc}); the previous bundle keeps serving")

    def check(self) -> None:
        """Whether the served snapshot is as it was copied (sizes); a change is logged once and turns /readyz red."""
        served = self._served
        if served is None or self.problem is not None:
            return
        damage = snapshot_damage(*served)
        if damage is not None and self._served is served:  # not a folder a swap just removed
            log.error("%s; reload a bundle (POST /v1/admin/reload) to serve from a fresh copy", damage)
            self.problem = _short(f"{damage}; POST /v1/admin/reload")

    def close(self) -> None:
        """At shutdown: the served snapshot is released (removed when no other worker serves it), but kept for the
        next start when it is an intact copy of the current bundle and ``keep_current`` is on."""
        served, self._served = self._served, None
        if served is not None:
            self._remove(served[0], keep=kept_copy(served[0], self._current()))

    def _current(self) -> Path | None:
        """The current bundle's folder when its copy is to be kept (None: keep nothing, or no current bundle)."""
        if not self.keep_current:
            return None
        try:
            return current_bundle_dir(self.artifacts_dir)
        except BundleError:
            return None

    def _remove(self, folder: Path, keep: bool = False) -> None:
        try:
            remove_snapshot(folder, keep=keep)
        except Exception as exc:  # a cleanup failure must never fail a swap
            log.warning("could not release the bundle snapshot %s: %s", folder, exc)


def _short(text: str, limit: int = 240) -> str:
    """One line for /readyz (the log keeps the whole text)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
