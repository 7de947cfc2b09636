"""The service's matcher state, built without starting the HTTP service (``recsys batch-recommend``).

A worker of ``recsys serve`` builds its state in :meth:`serving.runtime.Service.start`: the current bundle, the
store's tables at now, the entities written after training (:class:`serving.live_entities.LiveEntities`), then
the creators' sample fulfilment rates and the invitations they have not answered yet (room they hold in their
capacity, which changes the order of the lists). :func:`open_service_state` does the same steps in the same order,
so offline lists equal the API's default lists; ``tests/app/test_batch_recommend.py`` keeps the two equal.
A/B experiment arms are not applied: offline lists are the live (control) lists.
"""

from __future__ import annotations

from models.matching.batch import ScoringInputs
from recsys.core.config import Settings
from recsys.core.store import Store, now_utc
from serving.invite_store import pending_invites_by_row
from serving.live_entities import LiveEntities
from serving.sample_store import SAMPLE_FULFILMENT_KEY, fulfilment_rates
from serving.state import MatcherState, load_serving_bundle

SAMPLE_FULFILMENT = SAMPLE_FULFILMENT_KEY
"""The key of the creators' sample fulfilment rates in :attr:`MatcherState.cache`."""


def with_pending_invites(state: MatcherState, settings: Settings, store: Store) -> MatcherState:
    """``state`` whose creators hold room for the invitations they have not answered yet (as the service's
    ``Service._attach_pending_invites``)."""
    if settings.matching.pending_invites <= 0:
        return state
    pending = pending_invites_by_row(store, state.matcher.engine.tables.creators, now_utc())
    state.matcher = state.matcher.with_pending(pending)
    return state


def open_service_state(settings: Settings) -> MatcherState:
    """The state a freshly started ``recsys serve`` worker would serve: current bundle (memory-mapped as the
    settings say, no private snapshot), the store at now, entities written after training, sample fulfilment
    rates and pending invitations. Raises :class:`models.bundle.BundleError` without a usable bundle."""
    store = Store.from_settings(settings)
    try:
        bundle = load_serving_bundle(settings)
        state = LiveEntities(settings, store).open(bundle)
        state.cache[SAMPLE_FULFILMENT] = fulfilment_rates(store, now_utc())
        return with_pending_invites(state, settings, store)
    finally:
        store.dispose()


def open_scoring_inputs(settings: Settings) -> ScoringInputs:
    """:func:`open_service_state` as batch scoring takes it (picklable by name: Dask workers call it)."""
    state = open_service_state(settings)
    fulfilment = state.cache.get(SAMPLE_FULFILMENT, {})
    return ScoringInputs(state.matcher, state.run_id, state.revision, state.now, fulfilment)
