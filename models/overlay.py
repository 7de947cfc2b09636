"""Entities written after training, added to a trained engine without retraining (onboarding through the API).

:func:`overlay_engine` returns a new :class:`~models.engine.Engine` whose feature tables, retrieval vectors and FAISS
indexes also hold the given creators and products (``features.overlay`` computes their rows with the training
builders; :meth:`models.retrieval.retriever.Retriever.with_rows` their vectors with the bundle's retrieval weights
and standardisation). The rankers, outcome models and weights are the bundle's: a new product is judged like a
cold product in training. Admission and plans come from the store when the matcher is assembled
(``models.matching.assemble``). The engine given is never changed (requests in flight keep using it).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from features.overlay import ColdStart, fresh_rows, known_category, with_rows
from features.tables import FeatureTables
from models.engine import Engine
from models.integrity.fake_engagement import EngagementFlags
from models.retrieval.retriever import RetrievalNorms
from recsys.core.atomic import keep_newest
from recsys.core.schema import Marketplace
from recsys.core.vocab import Direction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OverlayBase:
    """What new rows are computed against, taken once from the engine as trained: the cold-start factor maps, the
    retrieval standardisation and the bundle's own row counts (rows past them were added by an overlay)."""

    tables: FeatureTables = field(repr=False, compare=False)  # the engine's tables as trained
    n_creators: int
    n_products: int
    fitting: Future[ColdStart] = field(repr=False, compare=False)

    @cached_property
    def norms(self) -> RetrievalNorms:
        """The retrieval standardisation of the tables as trained, computed when a first row is added (means and
        deviations over every row: ~1 s of a 1M-product worker's start that serves no new entity)."""
        return RetrievalNorms.of(self.tables)

    @property
    def cold(self) -> ColdStart:
        """The cold-start factor maps (waits for the fit when it runs in the background)."""
        return self.fitting.result()

    @classmethod
    def of(cls, engine: Engine, background: bool = False, cache: Path | None = None) -> OverlayBase:
        """``background``: the cold-start maps (two ridge fits over the bundle's rows, 3–4 s at 1M products) are fit
        on a thread of their own, so a worker's start does not wait for them; the first overlay does. ``cache``: a
        file naming this engine's maps (the caller keys it by the bundle's contents); read when it is there, else
        written after the fit, so later starts of the same bundle fit nothing (on 2 cores the background fit still
        delayed a 1M-product worker's start by 2–3.5 s)."""
        tables = engine.tables
        fitting: Future[ColdStart] = Future()
        if cache is not None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                fitting.set_result(ColdStart.load(cache))
                return cls(tables, len(tables.creators), len(tables.products), fitting)

        def fit() -> None:
            try:
                cold = ColdStart.fit(tables)
            except BaseException as exc:  # handed to whoever asks for .cold
                fitting.set_exception(exc)
                return
            fitting.set_result(cold)
            if cache is not None:
                try:
                    cold.save(cache)
                    keep_newest(cache.parent, "cold-*.npz", 3)  # one per bundle served lately
                except OSError as exc:  # a cache: the maps are served all the same
                    log.warning("could not keep the cold-start maps in %s: %s", cache, exc)

        if background:
            threading.Thread(target=fit, name="recsys-cold-start-fit", daemon=True).start()
        else:
            fit()
        return cls(tables, len(tables.creators), len(tables.products), fitting)


@dataclass(frozen=True)
class OverlayResult:
    engine: Engine
    creators: list[str]  # ids written (added or replaced)
    products: list[str]
    skipped: dict[str, str]  # product id -> why it waits for the next training


def _engagement(flags: EngagementFlags | None, n_creators: int) -> EngagementFlags | None:
    """New creators are not flagged (the detector is fit at training); their scores are 0."""
    if flags is None or len(flags.flagged) >= n_creators:
        return flags
    extra = n_creators - len(flags.flagged)
    return EngagementFlags(
        np.concatenate([flags.score, np.zeros(extra, flags.score.dtype)]),
        np.concatenate([flags.flagged, np.zeros(extra, bool)]),
    )


def overlay_engine(
    engine: Engine, part: Marketplace, now: pd.Timestamp, experience_scale: int, base: OverlayBase
) -> OverlayResult:
    """``engine`` with ``part``'s creators and products added (new ids) or their content replaced (known ids).

    ``part.merchants`` and ``part.plans`` must hold the merchants and plans of ``part.products``. Products of a
    category the bundle does not know cannot be encoded and are skipped (reported in the result)."""
    tables = engine.tables
    encodable = known_category(tables, part.products)
    skipped = {
        str(pid): f"category {cat!r} is not in the model yet; recommended after the next training"
        for pid, cat in zip(part.products["product_id"][~encodable], part.products["category"][~encodable], strict=True)
    }
    part = replace(part, products=part.products[encodable].reset_index(drop=True))
    if part.creators.empty and part.products.empty:
        return OverlayResult(engine, [], [], skipped)
    fresh = fresh_rows(tables, part, pd.Timestamp(now), experience_scale, base.cold)
    grown, c_rows, p_rows = with_rows(tables, fresh)
    retriever = engine.retriever.with_rows(grown, base.norms, c_rows, p_rows, engine.rankers[Direction.CREATOR])
    new_engine = replace(
        engine,
        tables=grown,
        retriever=retriever,
        engagement=_engagement(engine.engagement, len(grown.creators)),
    )
    return OverlayResult(
        new_engine, list(fresh.creators.ids.astype(str)), list(fresh.products.ids.astype(str)), skipped
    )
