"""Plan rules aligned with a bundle: a PlanBook whose rows are the bundle's product and creator rows.

The bundle fixes *who* can be matched (its id maps); the marketplace tables say what holds *now*: plans and admission
data. An entity the tables no longer have is kept as a placeholder that no rule admits, so it is never recommended.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from features.tables import FeatureTables
from models.matching.catalog import aligned_rows
from recsys.core.atomic import keep_newest
from recsys.core.config import RulesSettings
from recsys.core.content_keys import content_key
from recsys.core.rules import PlanArrays, PlanBook
from recsys.core.schema import Marketplace

log = logging.getLogger(__name__)

PARSED_FORMAT = 2  # 2: the plan ids in their own mapped .npy
"""Bumped when :class:`PlanArrays` or the parse changes, so older cached parses are never read."""
KEEP = 3


def _aligned(frame: pd.DataFrame, key: str, ids: pd.Index, placeholder: dict[str, object]) -> pd.DataFrame:
    same = aligned_rows(frame, key, ids)
    if same is not None:
        return same
    out = frame.set_index(key).reindex(ids)
    missing = out.index[out.isna().all(axis=1)]
    for col, value in placeholder.items():
        if col in out.columns and len(missing):
            out.loc[missing, col] = pd.Series([value] * len(missing), index=missing, dtype=object)
    return out.rename_axis(key).reset_index()


def aligned_planbook(
    market: Marketplace, tables: FeatureTables, rules: RulesSettings, now: datetime, cache: Path | None = None
) -> PlanBook:
    """The plan rules of ``market`` at ``now``, rows aligned with ``tables``' id maps.

    ``cache``: a folder where the parsed plans are kept (``plans-<key>.npz``) when the market's plans frame has a
    content key (``recsys.core.content_keys``: the serving market read from a snapshot). The key also covers the
    product and creator ids in row order and the creators' categories and regions (what parsing resolves the plans
    against), so a hit is the parse of the same plans against the same rows: 6 s of a 1M-product start (1.2M plans)
    read back in a fraction of a second. Without a content key, or on any read error, the plans are parsed."""
    products = _aligned(
        market.products, "product_id", tables.products.index, {"merchant_id": "__removed__", "price": 1.0}
    )
    creators = _aligned(
        market.creators,
        "creator_id",
        tables.creators.index,
        {
            "followers": 0,
            "region": "",
            "categories": [],
            "real_name_verified": False,
            "showcase_enabled": False,
            "deposit_paid": False,
        },
    )
    ids = (tables.creators.index, tables.products.index)  # the aligned frames' ids: shared with the bundle's
    path = _cached_path(cache, market.plans, products, creators)
    if path is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return PlanBook.build(None, products, market.merchants, creators, now, rules, PlanArrays.load(path), ids)
    plans = market.plans[tables.products.rows(market.plans["product_id"]) >= 0]  # Series.isin: 6 s at 1.2M plans
    book = PlanBook.build(plans, products, market.merchants, creators, now, rules, ids=ids)
    if path is not None:
        try:
            book.plan_arrays.save(path)
            keep_newest(path.parent, "plans-*.npz", KEEP)  # a new snapshot or new ids make new ones
            keep_newest(path.parent, "plans-*.ids.npy", KEEP)
        except OSError as exc:  # a cache: never fails the assembly
            log.warning("could not keep the parsed plans in %s: %s", path.parent, exc)
    return book


def _cached_path(
    cache: Path | None, plans: pd.DataFrame, products: pd.DataFrame, creators: pd.DataFrame
) -> Path | None:
    key = content_key(plans)
    if cache is None or key is None:
        return None
    digest = hashlib.blake2b(f"{PARSED_FORMAT}|{key}".encode(), digest_size=16)
    for ids in (products["product_id"], creators["creator_id"], creators["region"]):
        _update_with_strings(digest, ids)
    categories = [c.tolist() if isinstance(c, np.ndarray) else c for c in creators["categories"]]
    digest.update(orjson.dumps(categories, default=str))
    return cache / f"plans-{digest.hexdigest()}.npz"


def _update_with_strings(digest: Any, column: pd.Series) -> None:
    """Feed a column of strings to ``digest`` from Arrow buffers (the values' offsets from 0, their bytes, the
    nulls): no Python object per value (iterating 1M Arrow-backed strings in Python took 0.7 s a column)."""
    strings = pa.array(column.astype(str) if column.dtype == object else column, type=pa.large_string())
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
    digest.update(len(strings).to_bytes(8, "little"))
    digest.update((offsets - offsets[0]).tobytes())
    digest.update(memoryview(strings.buffers()[2])[offsets[0] : offsets[-1]] if len(strings) else b"")
    digest.update(np.packbits(np.asarray(strings.is_null())).tobytes())
