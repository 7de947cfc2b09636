"""Assembling a ready matcher from the current bundle and the store (used by the service and the CLI).

The bundle fixes *who* can be matched (its id maps); the store says what holds *now*: plans, admission data,
prices. Rows are aligned to the bundle; an entity the store no longer has is kept as a placeholder that no rule
admits, so it is never recommended.

A :class:`MatcherState` is immutable once built: plan edits and new bundles produce a *new* state (see
:func:`with_plans` and ``serving.runtime``), so a request that took a reference keeps a consistent view.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from models.bundle import Bundle, load_current
from models.matching.assemble import assemble_matcher
from models.matching.matcher import Matcher
from recsys.core.config import Settings
from recsys.core.schema import Marketplace
from recsys.core.store import Store, now_utc
from serving.invite_store import collaborations_frame
from serving.market_snapshot import MARKET_DIR, MarketSnapshots, read_store_market

log = logging.getLogger("recsys.serving")


def load_serving_market(
    store: Store, promotions_since: datetime | None = None, settings: Settings | None = None
) -> Marketplace:
    """Merchants, products, creators and plans in one consistent read, with the promotions started since
    ``promotions_since`` (the market state's recent collaborations; older ones reach the matcher through the
    bundle's pair features); orders left empty (the fixture's 1.9M orders alone take half a minute to read, and
    serving never looks at them). Extra columns are left out too, but for the capacity columns: their values reach
    the matcher through the bundle's features (1M products' embedding lists took 0.6 GiB as Python objects).

    With ``settings`` whose ``serving.market_snapshot`` is on, read from the newest snapshot of these tables plus
    the rows written since (:mod:`serving.market_snapshot`): the same frames, without reading 2.3M rows at 1M."""
    if settings is None or promotions_since is None or not settings.serving.market_snapshot:
        return read_store_market(store, promotions_since)
    snapshots = MarketSnapshots(settings.artifacts_dir / MARKET_DIR, store, settings.serving.market_snapshot_rewrite)
    read = snapshots.read(promotions_since)
    log.info(
        "serving market read from the %s in %.1f s (%d rows written since the snapshot)%s",
        read.source,
        read.seconds,
        read.delta_rows,
        f"; snapshot written: {read.written.name}" if read.written else "",
    )
    return read.market


def load_serving_bundle(settings: Settings, snapshot: bool = False) -> Bundle:
    """The current bundle as the service holds it: compiled models, arrays and indexes memory-mapped (settings);
    with ``snapshot`` (the running service: ``serving.snapshot_bundle``) loaded from a shared verified copy, which
    its owner removes when it is no longer served (``serving.bundle_guard``)."""
    serving = settings.serving
    return load_current(
        settings.artifacts_dir, mmap=serving.mmap_bundle, compiled=serving.compiled_models, snapshot=snapshot
    )


@dataclass
class MatcherState:
    """A matcher with the bundle and store snapshot it was built from (the store as it was at ``revision``).

    ``merchant_ids`` are the merchants the store knew. ``cache`` is per-state memo space (rankings), dropped with
    the state.
    """

    matcher: Matcher
    bundle: Bundle
    revision: int
    merchant_ids: frozenset[str] = frozenset()
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.bundle.run_id

    @property
    def now(self) -> datetime:
        """The time plan windows and merchant ages are evaluated at."""
        book = self.matcher.planbook
        return book.now.to_pydatetime() if book is not None else now_utc()


def promotions_since(bundle: Bundle, settings: Settings, now: datetime) -> datetime:
    """The start of the promotions a state reads from the store: those after the bundle's training cutoff (older
    ones reach it through the bundle's pair features) and those of the current capacity period."""
    return min(bundle.engine.tables.cutoff.to_pydatetime(), now - timedelta(days=settings.matching.capacity_days))


def open_matcher_state(
    settings: Settings, store: Store | None = None, bundle: Bundle | None = None, market: Marketplace | None = None
) -> MatcherState:
    """Load the current bundle (or use ``bundle``) and the store's current tables (or ``market``, read by
    :func:`load_serving_market` with at least :func:`promotions_since`'s promotions) into a matcher."""
    store = store or Store.from_settings(settings)
    revision = store.current_revision()
    bundle = bundle if bundle is not None else load_serving_bundle(settings)
    now = now_utc()
    since = promotions_since(bundle, settings, now)
    market = market if market is not None else load_serving_market(store, since, settings)
    accepted = collaborations_frame(store, started_since=since)  # accepted invitations count like promotions
    if len(accepted):
        market.promotions = pd.concat([market.promotions, accepted], ignore_index=True)
    return MatcherState(
        assemble_matcher(bundle.engine, market, settings, now, settings.artifacts_dir / MARKET_DIR),
        bundle,
        revision,
        merchant_ids=frozenset(market.merchants["merchant_id"].astype(str)),
    )


def with_plans(
    state: MatcherState, changed: pd.DataFrame, revision: int, settings: Settings, now: datetime | None = None
) -> MatcherState:
    """A new state with ``changed`` plans (store rows) applied on top of ``state``, evaluated at ``now`` (default:
    the state's time) so that a plan starting now is open at once; ``state`` is untouched."""
    changed = changed[changed["product_id"].isin(state.bundle.engine.tables.products.index)]
    if changed.empty:
        return MatcherState(state.matcher, state.bundle, revision, state.merchant_ids, state.cache)
    book = state.matcher.planbook
    planbook = book.refresh(changed) if book is not None else None
    if planbook is not None and now is not None:
        planbook = planbook.at(now)
    return MatcherState(state.matcher.with_planbook(planbook), state.bundle, revision, state.merchant_ids)


def with_promotions(state: MatcherState, arrived: pd.DataFrame, settings: Settings, now: datetime) -> MatcherState:
    """A new state whose market knows the ``arrived`` promotions (events since the state was built): their pairs
    are existing collaborations from now on, and their creators' loads grow."""
    if arrived.empty:
        return state
    market = state.matcher.market
    tables = state.bundle.engine.tables
    moved = market.state.with_promotions(arrived, tables, now, settings.matching.capacity_days)
    matcher = state.matcher.with_market(replace(market, state=moved))
    return MatcherState(matcher, state.bundle, state.revision, state.merchant_ids)


def at_time(state: MatcherState, now: datetime, settings: Settings) -> MatcherState:
    """The same state with plan windows and merchant ages evaluated at ``now``."""
    book = state.matcher.planbook
    if book is None:
        return state
    return MatcherState(state.matcher.with_planbook(book.at(now)), state.bundle, state.revision, state.merchant_ids)


def release_free_memory() -> None:
    """Hand freed heap back to the OS (glibc's malloc_trim). Building a state reads millions of store rows as
    short-lived Python objects; without this a worker kept ~0.4 GiB of free heap at 1M products."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


MADV_DONTNEED = 4


def _library_code() -> list[tuple[int, int, int]]:
    """(start, end, resident bytes) of this process's executable mappings of shared libraries that hold no page
    of their own (``Anonymous: 0`` in ``/proc/self/smaps``: nothing was written into them, e.g. by relocation)."""
    out: list[tuple[int, int, int]] = []
    span: tuple[int, int] | None = None
    rss = 0
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if not head[0].endswith(":"):  # a mapping's first line: range, perms, offset, dev, inode[, path]
                start, _, end = head[0].partition("-")
                path = head[5] if len(head) > 5 else ""
                library = path.endswith(".so") or ".so." in path
                span = (int(start, 16), int(end, 16)) if head[1] == "r-xp" and library else None
            elif span is not None and head[0] == "Rss:":
                rss = int(head[1]) * 1024
            elif span is not None and head[0] == "Anonymous:":
                if int(head[1]) == 0 and rss:
                    out.append((*span, rss))
                span = None
    return out


def release_library_code() -> int:
    """Drop this process's resident pages of shared-library code, as the kernel itself evicts clean file pages
    under memory pressure; returns the bytes that were resident. Loading the service runs far more library code
    than answering requests does (LLVM compiling or loading the ranker, Arrow and pandas reading the store): a
    worker forked after this faults back in, from the page cache, only the code its requests run (1M bench
    bundle, 2 forked workers: their libraries' PSS 156 -> 88 MiB). Only executable mappings with no private page
    are dropped, so nothing written into a library (relocations, data) is ever lost."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        return sum(rss for start, end, rss in _library_code() if libc.madvise(start, end - start, MADV_DONTNEED) == 0)
    return 0


def open_matcher(settings: Settings) -> Matcher:
    return open_matcher_state(settings).matcher
