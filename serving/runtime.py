"""The running service: the current :class:`MatcherState`, kept up to date, swapped atomically.

- Requests read :attr:`Service.current` once and use that reference to the end, so a swap never changes what a
  request in flight sees.
- Plan edits and events: the worker that writes a plan or ingests events calls :meth:`Service.refresh_plans` at
  once; every worker also checks the store revision at most once per :attr:`check_interval` seconds (one tiny
  query, in a background thread) and applies the plans changed and the promotions that arrived since the revision
  it last saw (``Store.read_table(..., since_revision=r)``): new collaborations leave the lists at once.
- Plan windows and merchant ages are re-evaluated every :data:`CLOCK_REFRESH_SECONDS`.
- Reload: :meth:`Service.reload` loads and verifies the newest bundle, then swaps; a broken bundle raises
  :class:`models.bundle.BundleError` and the old state keeps serving. A successful reload bumps a counter in the
  store (``revisions`` row ``serving_reload``) so the other workers load the same bundle within a second.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from models.bundle import BundleError
from recsys.core.allocator import tune_allocator
from recsys.core.config import Settings
from recsys.core.gc_pause import paused_gc
from recsys.core.schema import REVISIONS
from recsys.core.store import Store, now_utc
from serving.auth import KeyRing
from serving.bundle_guard import BundleGuard
from serving.errors import ApiError
from serving.experiments import ExperimentRuntime
from serving.invite_store import collaborations_frame, pending_invites_by_row
from serving.live_entities import LiveEntities
from serving.market_snapshot import MARKET_DIR
from serving.sample_store import SAMPLE_FULFILMENT_KEY, fulfilment_rates
from serving.state import (
    MatcherState,
    at_time,
    load_serving_bundle,
    release_free_memory,
    release_library_code,
    with_plans,
    with_promotions,
)
from serving.telemetry import ServiceMetrics

log = logging.getLogger("recsys.serving")

RELOAD_COUNTER = "serving_reload"
CLOCK_REFRESH_SECONDS = 60.0
COLLECT_AFTER_S = 2.0
"""After a swap, the previous state is collected again this long after (requests in flight held it at the swap)."""
COLLECT_RETRIES = 5
"""How many times that is tried while a request still holds the previous state."""


def read_reload_counter(store: Store) -> int:
    with store.engine.connect() as conn:
        value = conn.execute(sa.select(REVISIONS.c.value).where(REVISIONS.c.name == RELOAD_COUNTER)).scalar()
    return int(value or 0)


def bump_reload_counter(store: Store) -> int:
    with store.transaction() as conn:
        updated = conn.execute(
            sa.update(REVISIONS).where(REVISIONS.c.name == RELOAD_COUNTER).values(value=REVISIONS.c.value + 1)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(REVISIONS).values(name=RELOAD_COUNTER, value=1))
        value = conn.execute(sa.select(REVISIONS.c.value).where(REVISIONS.c.name == RELOAD_COUNTER)).scalar_one()
    return int(value)


def one_sentence(text: str, limit: int = 160) -> str:
    """The first line of ``text``, whitespace collapsed, cut at ``limit`` characters (readiness and refusal messages
    are one short sentence; the log keeps the whole text)."""
    first = " ".join((text.strip().splitlines() or [""])[0].split())
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def unready_reason(exc: BaseException) -> str:
    """Why no model could be opened, in one short sentence: a refused bundle says why in its own words; anything
    else failed while aligning the bundle with the store's rows (e.g. pandas quoting a whole array), which is a
    bundle that does not match the store."""
    if isinstance(exc, BundleError):
        return one_sentence(str(exc))
    return f"the bundle does not match the store's data ({type(exc).__name__}); retrain or restore the store"


class Service:
    """Settings, store, keys, metrics and the swappable matcher state of one worker."""

    def __init__(self, settings: Settings, store: Store, metrics: ServiceMetrics, check_interval: float = 1.0) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.keys = KeyRing(store)
        self.entities = LiveEntities(settings, store)  # creators, products, merchants written after training
        # the served snapshot; the bundle problem /readyz reports
        self.guard = BundleGuard(settings.artifacts_dir, settings.serving.keep_snapshot)
        self.check_interval = check_interval
        self.not_ready_reason: str | None = "the service is starting"
        self._state: MatcherState | None = None
        self._swap = threading.Lock()  # every state transition
        self._reload = threading.Lock()  # one bundle load at a time
        self._checking = threading.Lock()
        self._next_check = 0.0
        self._reload_counter = 0
        self._following = False
        self.experiments = ExperimentRuntime(settings, store, metrics, self.advanced)  # A/B arms
        # called after this worker swapped in a newly loaded bundle by :meth:`reload` (not when following another
        # worker's): pre-forked workers ask their master to load it too and fork fresh workers (serving.prefork)
        self.on_reloaded: Callable[[], None] | None = None

    # --- reading ------------------------------------------------------------------------------------------

    @property
    def current(self) -> MatcherState | None:
        return self._state

    def state(self) -> MatcherState:
        """The current state; 503 with the reason when no bundle is loaded."""
        state = self._state
        if state is None:
            raise ApiError(503, "model_not_loaded", f"no model is loaded: {self.not_ready_reason}")
        return state

    # --- transitions --------------------------------------------------------------------------------------

    def _set(self, state: MatcherState) -> None:
        self._attach_sample_fulfilment(state)
        self._attach_pending_invites(state)
        self._state = state
        self.not_ready_reason = None
        self.metrics.observe_state(state)
        # the product lists' fast pair lookups, in the background; kept for the next start and the other workers
        state.matcher.engine.tables.pair_lookup.prepare(self.settings.artifacts_dir / MARKET_DIR / "pairs")

    def _attach_sample_fulfilment(self, state: MatcherState) -> None:
        """The creators' sample fulfilment rates at the state's time, read from the store into its cache (every
        new state: a shipped sample or reported content bumps the revision, so every worker re-reads them)."""
        try:
            state.cache[SAMPLE_FULFILMENT_KEY] = fulfilment_rates(self.store, now_utc())
        except Exception as exc:  # a store hiccup must not block a state swap; the next state reads them again
            log.warning("could not read sample fulfilment rates: %s", exc)

    def _attach_pending_invites(self, state: MatcherState) -> None:
        """The invitations creators have not answered yet, read from the store, as room they hold (every new state:
        sending or answering an invitation bumps the revision, so every worker re-reads them)."""
        if self.settings.matching.pending_invites <= 0:
            return
        try:
            pending = pending_invites_by_row(self.store, state.matcher.engine.tables.creators, now_utc())
        except Exception as exc:  # a store hiccup must not block a state swap; the next state reads them again
            log.warning("could not read pending invitations: %s", exc)
            return
        state.matcher = state.matcher.with_pending(pending)

    def _swap_in_new_bundle(self, state: MatcherState) -> None:
        """Swap to a state built from a (re)loaded bundle, collect the previous one, return the garbage to the OS
        and freeze what is left out of the cyclic GC: a full collection walked every element of the state's
        object arrays (~5M references at 1M products) and stalled a request for ~120 ms now and then.

        Requests in flight still hold the previous state at the swap, so its reference cycles survive that
        collection and would be frozen with the new state, kept until the next swap (+30 MiB per worker on the
        demo under load). So the collection is repeated, off the request path, once they have finished
        (:meth:`_collect_previous`)."""
        with self._swap:
            previous = self._state
            self._set(state)
        gone = weakref.ref(previous.matcher) if previous is not None else None
        del previous  # not kept alive by this frame through the collection
        self.guard.swapped(state.bundle)
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        release_free_memory()
        if self.settings.serving.release_library_code:
            release_library_code()
        if gone is not None:
            self._collect_previous(gone, COLLECT_RETRIES)

    def _collect_previous(self, gone: weakref.ref[Any], retries: int) -> None:
        """In :data:`COLLECT_AFTER_S` seconds (a timer thread): collect again, unless the previous state's matcher
        is already gone; tried again while a request still holds it, at most ``retries`` times."""
        if gone() is None or retries <= 0:
            return

        def collect() -> None:
            if gone() is None:
                return
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            release_free_memory()
            self._collect_previous(gone, retries - 1)

        timer = threading.Timer(COLLECT_AFTER_S, collect)
        timer.daemon = True
        timer.name = "recsys-collect"
        timer.start()

    def start(self) -> None:
        """Load the current bundle; without one the service still starts and says why it is not ready. The
        allocator is tuned first, so the state and every reload after it live in the bounded arenas."""
        if self.settings.serving.tune_allocator:
            tune_allocator()
        self._reload_counter = read_reload_counter(self.store)
        self.guard.start()
        try:
            state = self._open_bundle()
        except Exception as exc:  # no bundle, a broken one, or data the rules cannot read: start, say why
            self.not_ready_reason = f"{unready_reason(exc)}; fix it, then POST /v1/admin/reload"
            log.warning("starting without a model: %s", exc)
            return
        self._swap_in_new_bundle(state)
        self.experiments.start()

    def reload(self, force: bool = False) -> tuple[str | None, MatcherState, bool]:
        """Load, verify and swap to the newest bundle; returns (previous run id, new state, whether a new state was
        built). When the newest bundle is the one served, from an intact snapshot, and its artifacts verify, nothing
        is loaded (``force`` loads it anyway): rebuilding an identical state cost each worker seconds of CPU while it
        served (bench/SOAK.md), and the store's changes reach the served state by the background refresh anyway.

        Raises :class:`BundleError` (old state untouched) when the newest bundle is broken.
        """
        with self._reload:
            current = self._state
            previous = current.run_id if current is not None else None
            try:
                if not force and current is not None and self.guard.serves_current():
                    self.metrics.reloads.labels("unchanged").inc()
                    log.info("reload: bundle %s is already served, verified intact; nothing to load", previous)
                    return previous, current, False
                del current  # not kept alive by this frame through the swap's collection
                state = self._open_bundle()
            except BundleError as exc:
                self.metrics.reloads.labels("refused").inc()
                log.error("reload refused, the previous bundle keeps serving: %s", exc)
                raise
            except Exception as exc:  # e.g. store rows the bundle cannot be aligned with: refuse, keep serving
                self.metrics.reloads.labels("refused").inc()
                log.warning("the bundle could not be opened with the store's data: %s", exc)
                raise BundleError(unready_reason(exc)) from exc
            self._swap_in_new_bundle(state)
            self._reload_counter = bump_reload_counter(self.store)
            self.metrics.reloads.labels("ok").inc()
        if self.on_reloaded is not None:
            self.on_reloaded()
        return previous, state, True

    def refresh_plans(self) -> MatcherState | None:
        """Apply the plans changed and the promotions that arrived since the current state's revision (at once, in
        this worker)."""
        with self._swap:
            base = self._state
            if base is None:
                return None
            state = self.advanced(base)
            if state is not base:
                self._set(state)
            return state

    def advanced(self, base: MatcherState, entities: LiveEntities | None = None) -> MatcherState:
        """``base`` brought up to the store's revision: the entities written since (through ``entities``, default
        the live bundle's), else the plans changed and the promotions and collaborations that arrived since
        (``base`` itself when nothing was written)."""
        revision = self.store.current_revision()
        if revision <= base.revision:
            return base
        with paused_gc():  # a state is built, not garbage: see recsys.core.gc_pause
            live = self._with_entities(base, entities or self.entities)
            if live is not None:
                return live
            changed = self.store.read_table("plans", since_revision=base.revision)
            arrived = self.store.read_table("promotions", since_revision=base.revision)
            state = with_plans(base, changed, revision, self.settings, now_utc())
            state = with_promotions(state, arrived, self.settings, now_utc())
            accepted = collaborations_frame(self.store, since_revision=base.revision)
            return with_promotions(state, accepted, self.settings, now_utc())

    def _with_entities(self, base: MatcherState, entities: LiveEntities) -> MatcherState | None:
        """The state with the creators, products and merchants written since ``base`` (None when there are none,
        or when they could not be added: then ``base`` keeps serving, with plans and promotions applied)."""
        try:
            return entities.refresh(base)
        except Exception:
            log.exception(
                "could not add the entities written since revision %d; the previous state keeps serving", base.revision
            )
            return None

    def stop(self, timeout: float = 30.0) -> None:
        """No more background checks; waits (bounded) for one in progress, so the process never exits halfway
        through re-assembling a matcher."""
        self._next_check = float("inf")
        if self._checking.acquire(timeout=timeout):
            self._checking.release()
        self.experiments.close()
        self.guard.close()
        with self._swap:
            self._state = None
        gc.unfreeze()  # the frozen state can be collected now (its memory maps hold a descriptor each until then)
        gc.collect()

    def _open_bundle(self) -> MatcherState:
        """The live bundle, loaded from a fresh verified snapshot, with the store's state; the snapshot is removed
        when the state cannot be built. The cyclic collector is paused meanwhile (recsys.core.gc_pause: a third of a
        1M-product start went to collections that found nothing); the swap collects and freezes the result."""
        with paused_gc():
            bundle = load_serving_bundle(self.settings, snapshot=self.settings.serving.snapshot_bundle)
            try:
                return self.entities.open(bundle)
            except BaseException:
                self.guard.discard(bundle)
                raise

    def after_fork(self) -> None:
        """In a worker forked from the process that loaded this service (``recsys serve --workers N``,
        :mod:`serving.prefork`), before it serves: its state is the one loaded there, shared copy-on-write, so what
        happened since that load is caught up here, at once: a reload by another worker (the live bundle is loaded,
        as a worker following a reload does), else the plan edits, promotions and entities written since."""
        counter = read_reload_counter(self.store)
        if counter != self._reload_counter:
            self._following = True
            self._follow_reload(counter)
        elif self._state is not None:
            self.refresh_plans()
        state = self._state
        if state is not None:
            self.metrics.observe_state(state)  # the metrics' values are per process: set again in this one
        try:
            self.experiments.sync()
        except Exception as exc:  # the next background check tries again
            log.warning("could not read the running experiments: %s", exc)

    def refresh_soon(self) -> None:
        """Check the store at once (in the background) rather than at the next interval: after an entity write."""
        if self._next_check != float("inf"):  # not stopped
            self._next_check = 0.0
            self.maybe_refresh()

    def _follow_reload(self, counter: int) -> None:
        """Another worker reloaded: load the same (current) bundle here, in the background."""
        try:
            with self._reload:
                state = self._open_bundle()
                self._swap_in_new_bundle(state)
                self._reload_counter = counter
        except Exception as exc:
            self.guard.refused("could not follow a reload by another worker", exc)
            self._reload_counter = counter
        finally:
            self._following = False

    def maybe_refresh(self) -> None:
        """At most once per ``check_interval``, in a background thread (the request never waits on the store or
        on rebuilding the plan rules): follow reloads, apply plan edits, advance the plan clock."""
        now = time.monotonic()
        if now < self._next_check or not self._checking.acquire(blocking=False):
            return
        self._next_check = now + self.check_interval
        threading.Thread(target=self._check_and_release, daemon=True, name="recsys-refresh").start()

    def _check_and_release(self) -> None:
        try:
            self._check()
        except Exception as exc:  # a store hiccup must not fail anything; the next check retries
            log.warning("background refresh failed: %s", exc)
        finally:
            self._checking.release()

    def _check(self) -> None:
        self.guard.check()
        counter = read_reload_counter(self.store)
        if counter != self._reload_counter and not self._following and not self._reload.locked():
            self._following = True
            threading.Thread(target=self._follow_reload, args=(counter,), daemon=True).start()
        state = self._state
        if state is None:
            return
        if self.store.current_revision() > state.revision:
            self.refresh_plans()
        self.experiments.check(self._state)
        state = self._state
        if state is not None and now_utc() - state.now > timedelta(seconds=CLOCK_REFRESH_SECONDS):
            with self._swap:
                if self._state is state:
                    self._set(at_time(state, now_utc(), self.settings))
