"""Creators, products and merchants written after training, served without retraining (every worker).

The store's ``revision`` column says which entity rows changed since a state was built. On its refresh tick a
worker that sees changed creators, products or merchants (or plans of products added this way, whose best public
rate is a feature) computes their feature rows and vectors (``models.overlay.overlay_engine``) on top of the state's
engine and re-assembles the matcher from the store's current tables (catalogue, plan rules and admission, market
state), exactly as a reload does. A product of a changed merchant is recomputed too (its merchant features), and a
merchant's admission (experience score, violations, ...) follows from the plan rules over the store's tables.

When a worker opens a bundle (start, reload, following another worker's reload), entities the store has and the
bundle does not (onboarded after the training) are added the same way. Changes to entities the bundle already knew,
made after its training, are applied by the workers that were running when they were written; a worker started
later serves the bundle's rows for them until the next ``recsys train``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime

import orjson
import pandas as pd
import sqlalchemy as sa

from features.tables import FeatureTables
from models.bundle import Bundle
from models.overlay import OverlayBase, overlay_engine
from recsys.core.config import Settings
from recsys.core.schema import SA_TABLES, TABLES, Marketplace
from recsys.core.store import Store, now_utc, records_to_frame
from serving.market_snapshot import MARKET_DIR
from serving.state import (
    MatcherState,
    load_serving_bundle,
    load_serving_market,
    open_matcher_state,
    promotions_since,
)

log = logging.getLogger("recsys.serving")

ENTITY_TABLES = ("merchants", "products", "creators")


def _empty(table: str) -> pd.DataFrame:
    return records_to_frame(TABLES[table], [])


def _part(store: Store, creators: pd.DataFrame, products: pd.DataFrame) -> Marketplace | None:
    """The marketplace of just these creators and products, with their merchants and plans (None when empty)."""
    creators = creators.drop_duplicates("creator_id", keep="last").reset_index(drop=True)
    products = products.drop_duplicates("product_id", keep="last").reset_index(drop=True)
    if creators.empty and products.empty:
        return None
    merchant_ids = products["merchant_id"].astype(str).tolist()
    return Marketplace(
        merchants=store.read_rows("merchants", "merchant_id", merchant_ids),
        products=products,
        creators=creators,
        plans=store.read_rows("plans", "product_id", products["product_id"].astype(str).tolist()),
        promotions=_empty("promotions"),
        orders=_empty("orders"),
    )


def changed_part(store: Store, tables: FeatureTables, base: OverlayBase, since_revision: int) -> Marketplace | None:
    """The entities to (re)compute after ``since_revision``: changed creators and products, the products of changed
    merchants, and products added after training whose plans changed. None when there are none."""
    creators = store.read_table("creators", since_revision=since_revision)
    products = store.read_table("products", since_revision=since_revision)
    merchants = store.read_table("merchants", since_revision=since_revision, extras=False)
    plans = store.read_table("plans", since_revision=since_revision, extras=False)
    more: list[str] = []
    if len(merchants):
        more += store.read_rows("products", "merchant_id", merchants["merchant_id"].astype(str))["product_id"].tolist()
    planned = pd.Index(plans["product_id"].astype(str).unique())
    rows = tables.products.index.get_indexer(planned)
    more += [str(p) for p, row in zip(planned, rows, strict=True) if row < 0 or row >= base.n_products]
    more = sorted(set(more) - set(products["product_id"].astype(str)))
    if more:
        products = pd.concat([products, store.read_rows("products", "product_id", more)], ignore_index=True)
    return _part(store, creators, products)


def _ids(store: Store, table: str) -> pd.Index:
    key = SA_TABLES[table].c[TABLES[table].key]
    with store.engine.connect() as conn:
        return pd.Index(list(conn.execute(sa.select(key)).scalars()), dtype=object)


def missing_part(store: Store, tables: FeatureTables, market: Marketplace | None = None) -> Marketplace | None:
    """The creators and products the store has and ``tables`` do not (None when there are none); their ids are
    taken from ``market`` (the store's serving tables, read already) when given, else read from the store."""
    if market is not None:
        creators = pd.Index(market.creators["creator_id"].to_numpy(dtype=object)).difference(tables.creators.index)
        products = pd.Index(market.products["product_id"].to_numpy(dtype=object)).difference(tables.products.index)
    else:
        creators = _ids(store, "creators").difference(tables.creators.index)
        products = _ids(store, "products").difference(tables.products.index)
    return _part(
        store, store.read_rows("creators", "creator_id", creators), store.read_rows("products", "product_id", products)
    )


class LiveEntities:
    """Per worker: adds entities written after training to the states it builds (see the module docstring)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._bases: dict[str, OverlayBase] = {}

    def base(self, bundle: Bundle) -> OverlayBase:
        """The overlay base of ``bundle`` (computed from its trained engine the first time it is opened; its
        cold-start maps in the background, waited for by the first overlay)."""
        key = str(bundle.path)
        if key not in self._bases:
            digest = hashlib.blake2b(orjson.dumps([bundle.run_id, bundle.manifest.get("files")]), digest_size=16)
            cache = self.settings.artifacts_dir / MARKET_DIR / "cold" / f"cold-{digest.hexdigest()}.npz"
            self._bases = {key: OverlayBase.of(bundle.engine, background=True, cache=cache)}  # one bundle at a time
        return self._bases[key]

    def _overlaid(self, bundle: Bundle, part: Marketplace, revision: int, now: datetime) -> Bundle:
        """``bundle`` whose engine also holds ``part``'s creators and products (feature rows and vectors)."""
        result = overlay_engine(
            bundle.engine, part, pd.Timestamp(now), self.settings.rules.experience_scale, self.base(bundle)
        )
        for product_id, why in result.skipped.items():
            log.warning("product %s is stored but not recommended yet: %s", product_id, why)
        log.info(
            "added %d creator(s) and %d product(s) written after training (store revision %d) without retraining",
            len(result.creators),
            len(result.products),
            revision,
        )
        return replace(bundle, engine=result.engine)

    def _with(self, state: MatcherState, part: Marketplace, revision: int, now: datetime) -> MatcherState:
        fresh = open_matcher_state(self.settings, self.store, self._overlaid(state.bundle, part, revision, now))
        return replace(fresh, revision=revision)

    def open(self, bundle: Bundle | None = None) -> MatcherState:
        """``open_matcher_state`` plus the entities the store has and the bundle does not, assembled once: the
        store's serving tables are read once, the entities missing from the bundle found among them and added to the
        engine, then the matcher built from the same tables (reading and assembling twice took half of a worker's
        start; reading every id again, 3 s at 1M). If adding them fails, the bundle's state is served as it is
        (logged). The state's revision is the one read before the missing entities, so anything
        written meanwhile is read again at the next refresh."""
        bundle = bundle if bundle is not None else load_serving_bundle(self.settings)
        self.base(bundle)
        revision = self.store.current_revision()
        market = load_serving_market(self.store, promotions_since(bundle, self.settings, now_utc()), self.settings)
        served = bundle
        try:
            part = missing_part(self.store, bundle.engine.tables, market)
            if part is not None:
                served = self._overlaid(bundle, part, revision, now_utc())
        except Exception:
            log.exception("could not add the entities written after training; serving the bundle's entities only")
        try:
            state = open_matcher_state(self.settings, self.store, served, market)
        except Exception:
            if served is bundle:
                raise
            log.exception("could not add the entities written after training; serving the bundle's entities only")
            state = open_matcher_state(self.settings, self.store, bundle)
        return replace(state, revision=revision)

    def refresh(self, state: MatcherState) -> MatcherState | None:
        """A new state with the entities written since ``state.revision``, or None when none were (the caller then
        applies plans and promotions incrementally). Raises when they cannot be added: the caller keeps ``state``."""
        revision = self.store.current_revision()
        part = changed_part(self.store, state.bundle.engine.tables, self.base(state.bundle), state.revision)
        if part is None:
            return None
        # ``revision`` was read before the entities: anything written meanwhile is read again at the next refresh
        return self._with(state, part, revision, now_utc())
