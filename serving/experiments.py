"""Running A/B experiments in one worker: the arms' matcher states, the arm each request uses, exposure counters.

- The running experiments are held as one immutable mapping (endpoint → :class:`LiveExperiment`) that is replaced
  wholesale, like the live :class:`~serving.state.MatcherState`: a request reads it once (:meth:`choose`) and is
  served wholly by the arm it got, whatever starts or stops meanwhile.
- A **bundle arm** holds its own state, loaded and verified like a reload (a shared snapshot) and opened with the
  store's tables; the background check advances it with the plans, promotions and entities written since, like the
  live state. A **settings arm** is the live state's matcher with the arm's settings, built once per live state
  (memoised in the live state's cache). A control arm is the live state itself.
- Starting loads every arm first: a bundle that fails to load refuses the experiment (nothing is stored, the
  previous experiments keep serving). Definitions live in the store; other workers follow the ``experiments``
  counter on their background check (:meth:`check`).
- Exposures (lists served, items shown) are counted in memory and added to the store's counters on every
  background check, when an experiment stops and at shutdown (a crash loses at most one check interval).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from fastapi import Response

from models.bundle import BundleError, load_bundle
from models.bundle_snapshot import is_snapshot, remove_snapshot
from models.matching.market import list_exposure
from models.matching.matcher import Matcher
from recsys.core.config import Settings
from recsys.core.experiments import ArmSpec, ExperimentEndpoint, ExperimentSpec, apply_overrides, assign_arm
from recsys.core.store import Store
from serving import experiment_store
from serving.live_entities import LiveEntities
from serving.sample_store import SAMPLE_FULFILMENT_KEY
from serving.state import MatcherState
from serving.telemetry import ServiceMetrics

log = logging.getLogger("recsys.serving")

ARM_HEADER = "X-Recsys-Arm"
EXPERIMENT_HEADER = "X-Recsys-Experiment"


class ArmLoadError(Exception):
    """An arm could not be loaded; ``loc`` names the field (``("arms", 1, "bundle")``)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class LiveArm:
    spec: ArmSpec
    settings: Settings | None  # the arm's settings when it overrides any (None: the live settings)
    state: MatcherState | None  # a bundle arm's own state (None: derived from the live state)
    entities: LiveEntities | None = None  # a bundle arm's entities written after training (its own overlay base)


@dataclass(frozen=True)
class LiveExperiment:
    spec: ExperimentSpec
    arms: dict[str, LiveArm]


@dataclass(frozen=True)
class ArmChoice:
    """The state a request uses and the arm it names (None, None: no experiment splits this endpoint)."""

    state: MatcherState
    experiment: str | None = None
    arm: str | None = None

    def fields(self) -> dict[str, Any]:
        """The response body's ``experiment`` and ``arm``."""
        return {"experiment": self.experiment, "arm": self.arm}


def settings_matcher(live: MatcherState, settings: Settings) -> Matcher:
    """The live matcher with another ``settings`` (reranking and matching controls only: same engine, catalogue,
    plan book and market state). Exposure counts are computed when the live matcher left them out (decay 0)."""
    market = live.matcher.market
    exposure = market.exposure
    m = settings.matching
    if m.exposure_decay > 0 and not np.any(exposure):
        book = live.matcher.planbook
        n_products = len(live.bundle.engine.tables.products)
        products = np.flatnonzero(book.admitted_products) if book is not None else np.arange(n_products)
        exposure = list_exposure(live.bundle.engine.retriever, products, m.exposure_depth, m.exposure_sample)
    view = replace(market, settings=m, exposure=exposure, fake_penalty=settings.integrity.fake_penalty)
    matcher = live.matcher
    return Matcher(matcher.engine, matcher.catalog, matcher.planbook, settings, view)


class ExperimentRuntime:
    """Per worker: the running experiments and their arms' states (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        metrics: ServiceMetrics,
        advance: Callable[[MatcherState, LiveEntities], MatcherState],
    ) -> None:
        self.settings, self.store, self.metrics = settings, store, metrics
        self._advance = advance  # a state brought up to the store's revision (the service's refresh)
        self._live: dict[ExperimentEndpoint, LiveExperiment] = {}
        self._counter = 0
        self._transition = threading.Lock()
        self._pending: dict[tuple[str, str], tuple[int, int]] = {}
        self._pending_lock = threading.Lock()

    # --- serving ----------------------------------------------------------------------------------------------

    def running(self) -> list[LiveExperiment]:
        return list({e.spec.name: e for e in self._live.values()}.values())

    def choose(self, endpoint: ExperimentEndpoint, caller_id: str, live: MatcherState, response: Response) -> ArmChoice:
        """The arm ``caller_id`` is assigned to in the experiment splitting ``endpoint`` (none: the live state),
        named in the response headers."""
        experiment = self._live.get(endpoint)
        if experiment is None:
            return ArmChoice(live)
        arm = experiment.arms[assign_arm(experiment.spec, caller_id).name]
        response.headers[ARM_HEADER] = arm.spec.name
        response.headers[EXPERIMENT_HEADER] = experiment.spec.name
        return ArmChoice(self._arm_state(experiment.spec.name, arm, live), experiment.spec.name, arm.spec.name)

    def _arm_state(self, experiment: str, arm: LiveArm, live: MatcherState) -> MatcherState:
        if arm.state is not None:
            arm.state.cache.setdefault(SAMPLE_FULFILMENT_KEY, live.cache.get(SAMPLE_FULFILMENT_KEY, {}))
            return arm.state
        if arm.settings is None:
            return live
        key = f"experiment-arm:{experiment}:{arm.spec.name}"
        state = live.cache.get(key)
        if state is None:  # once per live state (two racing requests may both build it: same result)
            matcher = settings_matcher(live, arm.settings)
            cache = {SAMPLE_FULFILMENT_KEY: live.cache.get(SAMPLE_FULFILMENT_KEY, {})}
            state = MatcherState(matcher, live.bundle, live.revision, live.merchant_ids, cache)
            live.cache[key] = state
        assert isinstance(state, MatcherState)
        return state

    def served(self, choice: ArmChoice, items: int) -> None:
        """Count one list of ``items`` served by the choice's arm (nothing without an experiment)."""
        if choice.experiment is None or choice.arm is None:
            return
        key = (choice.experiment, choice.arm)
        with self._pending_lock:
            requests, shown = self._pending.get(key, (0, 0))
            self._pending[key] = (requests + 1, shown + items)
        self.metrics.experiment_requests.labels(*key).inc()
        self.metrics.experiment_exposures.labels(*key).inc(items)

    def flush(self) -> None:
        """Add the counts gathered since the last flush to the store (they are kept for the next one on failure)."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        try:
            experiment_store.add_exposures(self.store, pending)
        except Exception:
            with self._pending_lock:
                for key, (requests, items) in pending.items():
                    old = self._pending.get(key, (0, 0))
                    self._pending[key] = (old[0] + requests, old[1] + items)
            raise

    # --- transitions ------------------------------------------------------------------------------------------

    def load(self, spec: ExperimentSpec) -> LiveExperiment:
        """Every arm of ``spec`` loaded (bundles verified, states opened); :class:`ArmLoadError` naming the arm
        otherwise (snapshots already taken are removed)."""
        arms: dict[str, LiveArm] = {}
        try:
            for i, arm in enumerate(spec.arms):
                arms[arm.name] = self._load_arm(i, arm)
        except BaseException:
            self.release(LiveExperiment(spec, arms))
            raise
        return LiveExperiment(spec, arms)

    def _load_arm(self, i: int, arm: ArmSpec) -> LiveArm:
        settings = apply_overrides(self.settings, arm.settings) if arm.settings else None
        if arm.bundle is None:
            return LiveArm(arm, settings, None)
        base = settings or self.settings
        path = base.artifacts_dir / arm.bundle
        if not (path / "manifest.json").is_file():
            raise ArmLoadError(("arms", i, "bundle"), f"no bundle {arm.bundle!r} under the artifacts folder")
        serving = base.serving
        try:
            bundle = load_bundle(
                path,
                mmap=serving.mmap_bundle,
                compiled=serving.compiled_models,
                snapshot_into=base.artifacts_dir if serving.snapshot_bundle else None,
            )
        except BundleError as exc:
            raise ArmLoadError(("arms", i, "bundle"), f"bundle {arm.bundle!r} was refused: {exc}") from None
        entities = LiveEntities(base, self.store)
        try:
            state = entities.open(bundle)
        except Exception as exc:
            _remove_snapshot(bundle.path)
            message = f"bundle {arm.bundle!r} does not match the store's data ({type(exc).__name__})"
            raise ArmLoadError(("arms", i, "bundle"), message) from None
        return LiveArm(arm, settings, _with_settings(state, settings), entities)

    def install(self, experiment: LiveExperiment) -> None:
        """Serve ``experiment`` from now on (its endpoints switch at once). When it already serves (the background
        check loaded it meanwhile), the copy that serves stays and this one is released."""
        with self._transition:
            if any(e.spec.name == experiment.spec.name for e in self._live.values()):
                self.release(experiment)
                return
            live = dict(self._live)
            for endpoint in experiment.spec.endpoints:
                live[endpoint] = experiment
            self._live = live

    def remove(self, name: str) -> None:
        """Stop serving the experiment ``name`` (its endpoints return to the live state at once)."""
        with self._transition:
            gone = [e for e in self._live.values() if e.spec.name == name]
            self._live = {k: e for k, e in self._live.items() if e.spec.name != name}
        try:
            self.flush()
        except Exception as exc:  # kept for the next flush; stopping must not fail on a counter write
            log.warning("could not store exposure counts now: %s", exc)
        for experiment in {e.spec.name: e for e in gone}.values():
            self.release(experiment)

    def start(self) -> None:
        """At worker start (after the live state): serve the experiments the store says are running."""
        try:
            self.sync()
        except Exception as exc:  # the next background check tries again (the counter is still unseen)
            log.warning("could not read the running experiments: %s", exc)

    def sync(self) -> None:
        """Serve what the store says is running: load the experiments started elsewhere, drop those stopped."""
        counter = experiment_store.read_counter(self.store)
        running = {s.name: s for s in experiment_store.running_experiments(self.store)}
        live = {e.spec.name for e in self.running()}
        for name in live - set(running):
            self.remove(name)
        for name in sorted(set(running) - live):
            try:
                self.install(self.load(running[name]))
            except ArmLoadError as exc:
                log.error("experiment %r could not be loaded here: %s; its endpoints serve the live model", name, exc)
        self._counter = counter

    def check(self, live: MatcherState | None) -> None:
        """The background tick: follow definition changes, flush exposures, advance bundle arms."""
        if experiment_store.read_counter(self.store) != self._counter:
            self.sync()
        self.flush()
        if live is not None:
            self._advance_bundle_arms(live.revision)

    def _advance_bundle_arms(self, revision: int) -> None:
        changed = False
        experiments: dict[str, LiveExperiment] = {}
        for experiment in self.running():
            arms = dict(experiment.arms)
            for name, arm in experiment.arms.items():
                if arm.state is not None and arm.entities is not None and arm.state.revision < revision:
                    advanced = self._advance(arm.state, arm.entities)
                    arms[name] = replace(arm, state=_with_settings(advanced, arm.settings))
                    changed = True
            experiments[experiment.spec.name] = LiveExperiment(experiment.spec, arms)
        if changed:
            with self._transition:
                self._live = {k: experiments.get(e.spec.name, e) for k, e in self._live.items()}

    def close(self) -> None:
        """At shutdown: flush the counts, remove the arms' bundle snapshots."""
        try:
            self.flush()
        except Exception as exc:
            log.warning("could not store the last exposure counts: %s", exc)
        for experiment in self.running():
            self.release(experiment)

    @staticmethod
    def release(experiment: LiveExperiment) -> None:
        """Remove the bundle snapshots of an experiment's arms (once nothing serves them)."""
        for arm in experiment.arms.values():
            if arm.state is not None:
                _remove_snapshot(arm.state.bundle.path)


def _with_settings(state: MatcherState, settings: Settings | None) -> MatcherState:
    """``state`` whose matcher uses ``settings`` (as it is when they are None or already its settings)."""
    if settings is None or state.matcher.settings is settings:
        return state
    return MatcherState(settings_matcher(state, settings), state.bundle, state.revision, state.merchant_ids)


def _remove_snapshot(path: Any) -> None:
    if is_snapshot(path):
        try:
            remove_snapshot(path)
        except OSError as exc:
            log.warning("could not remove the arm's bundle snapshot %s: %s", path, exc)
