"""Feature rows for entities written after training (onboarding through the API), added to a bundle's tables.

A bundle's :class:`~features.tables.FeatureTables` describe the creators and products it was trained on. A creator
or product created or changed later gets its row from the *same builders* (:func:`features.tables.build_feature_tables`
over a marketplace of just those entities, with the bundle's category and region codes and no promotions), so:

- content features (audience, categories, price, rating, target, merchant quality, extra columns) are what training
  would compute; its history features are those of an entity without history, as for a cold entity in training;
- features that place a row among all others (price band and price against the category median, commission against
  the category median, the target a product without one borrows from its category, "top share" evidence) are taken
  against the bundle's rows plus the new ones;
- its collaborative factors are the cold-start prediction from content (:class:`ColdStart`: the ridge maps
  ``features.collaborative`` fits on the entities with history, refit on the bundle's rows), marked unknown.

A new entity is appended (row numbers of the bundle's entities never move); an entity the tables already hold keeps
its history features (and its factors, when it had history) and takes the new content. The next ``recsys train``
builds everything from the store as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from features.collaborative import fit_content_map
from features.entities import Extras
from features.evidence import top_share
from features.names import SAMPLE_FEATURES, window_names
from features.tables import FeatureTables, build_feature_tables
from recsys.core.atomic import save_npz
from recsys.core.schema import CAPACITY_COLUMNS, SHARE_GROUPS, TABLES, Marketplace
from recsys.core.vocab import Vocabulary

Side = Literal["creator", "product", "shared"]

HISTORY_COLUMNS = frozenset([*window_names("c"), *window_names("p"), "p_n_creators_90d", *SAMPLE_FEATURES])
"""Feature-block columns computed from promotions and sample requests: kept for an entity the tables already hold
(a new creator's are those of a creator without any: no rate, nothing judged)."""

HISTORY_ARRAYS = frozenset(
    {
        "creator_category_gmv_share",
        "creator_category_promotions",
        "creator_category_conversion",
        "creator_usual_log_price",
        "creator_main_format",
        "creator_gmv_30d",
        "creator_orders_30d",
        "creator_price_p25",
        "creator_price_p75",
        "creator_category_promotion_count",
        "creator_category_gpm",
        "cf_creator",
        "cf_creator_known",
        "cf_creator_cold",
        "product_typical_promoter",
        "product_refund_rate_90d",
        "product_gmv_30d",
        "product_orders_30d",
        "product_gmv_30d_top_share",
        "product_tier_creators_90d",
        "product_tier_gmv_90d",
        "cf_product",
        "cf_product_known",
        "cf_product_cold",
    }
)
"""Per-row arrays computed from promotions: kept for an entity the tables already hold."""

SHARED_ARRAYS = frozenset(
    {"pair_keys", "pair_counts", "pair_gmv", "pair_orders", "pair_sales_gmv", "category_median_rate", "region_names"}
)
"""Arrays that are not one row per creator or product."""


class OverlayError(ValueError):
    """New rows that cannot be added to the tables (e.g. their feature names differ from the bundle's)."""


def array_side(name: str) -> Side:
    """Which rows an array of the feature tables has: one per creator, one per product, or neither."""
    if name in SHARED_ARRAYS:
        return "shared"
    if name.startswith(("creator_", "cemb_", "cf_creator")):
        return "creator"
    if name.startswith(("product_", "pemb_", "cf_product")):
        return "product"
    raise OverlayError(f"feature array {name!r} has no known side; name it in features.overlay")


# --- cold-start collaborative factors -------------------------------------------------------------------------


def _embedding_names(tables: FeatureTables, side: str) -> list[str]:
    return list(tables.extras.get(side, {}).get("embeddings", {}))


def creator_content(tables: FeatureTables) -> np.ndarray:
    """The content matrix the collaborative cold start maps from (as :func:`build_feature_tables` builds it):
    audience, listed categories, log followers and views, unit embeddings; (n_c, d) float64."""
    a, names = tables.arrays, tables.creator_names
    reach = tables.creator[:, [names.index("c_log_followers"), names.index("c_log_avg_views")]]
    emb = [a[f"cemb_{k}"] for k in _embedding_names(tables, "creator")]
    return np.hstack([a["creator_audience"], a["creator_category_listed"], reach, *emb]).astype(np.float64)


def product_content(tables: FeatureTables) -> np.ndarray:
    """Target shares (filled), category one-hot, log price, unit embeddings; (n_p, d) float64."""
    a = tables.arrays
    one_hot = np.eye(len(tables.categories))[a["product_category"]]
    emb = [a[f"pemb_{k}"] for k in _embedding_names(tables, "product")]
    return np.hstack([a["product_target"], one_hot, a["product_log_price"][:, None], *emb]).astype(np.float64)


@dataclass(frozen=True)
class LinearMap:
    """A fitted ridge as its weights: ``content @ coef.T + intercept`` is the ridge's prediction."""

    coef: np.ndarray  # (k, d) float64
    intercept: np.ndarray  # (k,) float64

    def predict(self, content: np.ndarray) -> np.ndarray:
        return np.asarray(content @ self.coef.T + self.intercept)


def _fit_map(content: np.ndarray, factors: np.ndarray, known: np.ndarray) -> LinearMap | None:
    """Training's ridge (``features.collaborative.fit_content_map``) as weights; None where it leaves zeros."""
    ridge = fit_content_map(content, factors, known)
    if ridge is None:
        return None
    coef = np.asarray(ridge.coef_, dtype=np.float64).reshape(factors.shape[1], content.shape[1])
    return LinearMap(coef, np.broadcast_to(np.asarray(ridge.intercept_, np.float64), (factors.shape[1],)).copy())


def _predict(model: LinearMap | None, content: np.ndarray, k: int) -> np.ndarray:
    if model is None or len(content) == 0:
        return np.zeros((len(content), k), np.float32)
    return np.asarray(model.predict(np.nan_to_num(content, nan=0.0)), dtype=np.float32).reshape(len(content), k)


@dataclass(frozen=True)
class ColdStart:
    """Content -> collaborative factor maps for entities without history, fit on a bundle's rows that had history
    (the same data and ridge as training, so a creator that was cold in training gets its stored factors back)."""

    creator: LinearMap | None
    product: LinearMap | None
    k: int

    @classmethod
    def fit(cls, tables: FeatureTables) -> ColdStart:
        a = tables.arrays
        return cls(
            _fit_map(creator_content(tables), a["cf_creator"], a["cf_creator_known"].astype(bool)),
            _fit_map(product_content(tables), a["cf_product"], a["cf_product_known"].astype(bool)),
            int(a["cf_creator"].shape[1]),
        )

    def creator_factors(self, tables: FeatureTables) -> np.ndarray:
        return _predict(self.creator, creator_content(tables), self.k)

    def product_factors(self, tables: FeatureTables) -> np.ndarray:
        return _predict(self.product, product_content(tables), self.k)

    def save(self, path: Path) -> None:
        """The weights in one ``.npz`` (no pickle), written aside and renamed into place."""
        arrays: dict[str, np.ndarray] = {"k": np.asarray(self.k)}
        for side in ("creator", "product"):
            fitted = getattr(self, side)
            if fitted is not None:
                arrays[f"{side}_coef"], arrays[f"{side}_intercept"] = fitted.coef, fitted.intercept
        save_npz(path, arrays)

    @classmethod
    def load(cls, path: Path) -> ColdStart:
        """Maps saved by :meth:`save` (raises OSError / ValueError / KeyError when the file is not one)."""
        with np.load(path, allow_pickle=False) as data:
            maps = {
                side: LinearMap(data[f"{side}_coef"], data[f"{side}_intercept"]) if f"{side}_coef" in data else None
                for side in ("creator", "product")
            }
            return cls(maps["creator"], maps["product"], int(data["k"]))


# --- new rows -------------------------------------------------------------------------------------------------


def _conform_extras(frame: pd.DataFrame, table: str, extras: dict[str, object]) -> pd.DataFrame:
    """The schema's columns plus exactly the bundle's extra columns, in its order: a missing numeric extra is NaN,
    a missing or malformed embedding a row of NaN (as in training); extras the bundle does not know are left out."""
    numeric = list(extras.get("numeric", []))  # type: ignore[call-overload]
    embeddings = dict(extras.get("embeddings", {}))  # type: ignore[call-overload]
    keep = [c for c in (*TABLES[table].column_names, *CAPACITY_COLUMNS.get(table, ())) if c in frame]
    out = frame[keep].copy()
    for name in numeric:
        out[name] = pd.to_numeric(frame[name], errors="coerce") if name in frame else np.nan
    for name, dim in embeddings.items():
        values = frame[name].tolist() if name in frame else [None] * len(frame)
        out[name] = [
            list(v) if isinstance(v, list | tuple | np.ndarray) and len(v) == dim else [np.nan] * dim for v in values
        ]
    return out


def _category_rank(population: pd.DataFrame, fresh: pd.DataFrame, column: str) -> np.ndarray:
    """pandas' ``rank(pct=True)`` of each fresh row's ``column`` within its category among population + fresh."""
    both = pd.concat([population, fresh], ignore_index=True)
    ranks = both.groupby("category")[column].rank(pct=True).to_numpy(np.float64)
    return ranks[len(population) :]


def _category_median(population: pd.DataFrame, fresh: pd.DataFrame, column: str) -> np.ndarray:
    both = pd.concat([population, fresh], ignore_index=True)
    medians = both.groupby("category")[column].median()
    return medians.reindex(fresh["category"]).to_numpy(np.float64)


def _relative_product_features(base: FeatureTables, keep: np.ndarray, fresh: FeatureTables) -> None:
    """Price band, price and commission against the category, filled targets and the GMV top share of the fresh
    product rows, among the bundle's products (``keep``: those not being replaced) and the fresh ones (in place)."""
    bp, fp = base.product_names, fresh.product_names

    def frame(tables: FeatureTables, rows: np.ndarray | slice) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "category": tables.arrays["product_category"][rows],
                "log_price": tables.product[rows, bp.index("p_log_price")].astype(np.float64),
                "rate": tables.product[rows, bp.index("p_best_rate")].astype(np.float64),
            }
        )

    population, new = frame(base, keep), frame(fresh, slice(None))
    block = fresh.product
    block[:, fp.index("p_price_band")] = _category_rank(population, new, "log_price")
    block[:, fp.index("p_price_vs_category")] = new["log_price"] - _category_median(population, new, "log_price")
    block[:, fp.index("p_rate_vs_category")] = new["rate"] / _category_median(population, new, "rate")
    a, fa = base.arrays, fresh.arrays
    published = a["product_has_target"][keep]
    targets = pd.DataFrame(a["product_target"][keep][published].astype(np.float64))
    by_category = targets.groupby(a["product_category"][keep][published]).mean()
    if len(targets):
        fallback = targets.mean(axis=0).to_numpy()
    else:
        fallback = np.concatenate([np.full(len(keys), 1.0 / len(keys)) for keys in SHARE_GROUPS.values()])
    missing = ~fa["product_has_target"]
    for row in np.flatnonzero(missing):
        code = int(fa["product_category"][row])
        fill = by_category.loc[code].to_numpy() if code in by_category.index else fallback
        fa["product_target"][row] = fill.astype(np.float32)
    gmv = np.concatenate([a["product_gmv_30d"][keep], fa["product_gmv_30d"]])
    fa["product_gmv_30d_top_share"] = top_share(gmv)[int(keep.sum()) :]


def _relative_creator_features(base: FeatureTables, keep: np.ndarray, fresh: FeatureTables) -> None:
    a, fa = base.arrays, fresh.arrays
    completion = np.concatenate([a["creator_completion_rate"][keep], fa["creator_completion_rate"]])
    fa["creator_completion_top_share"] = top_share(completion)[int(keep.sum()) :]


def _extras(tables: FeatureTables, side: str) -> Extras:
    meta = tables.extras.get(side, {})
    return Extras(list(meta.get("numeric", [])), {str(k): int(v) for k, v in meta.get("embeddings", {}).items()})


def _regions(tables: FeatureTables, part: Marketplace) -> list[str]:
    known = [str(r) for r in tables.arrays["region_names"]]
    seen = set(known)
    new = sorted({str(r) for r in (*part.creators["region"], *part.merchants["region"])} - seen)
    return known + new


def fresh_rows(
    tables: FeatureTables, part: Marketplace, now: pd.Timestamp, experience_scale: int, cold: ColdStart
) -> FeatureTables:
    """Feature tables of just ``part``'s creators and products (no promotions) at ``now``, with ``tables``' codes,
    the row-placing features taken among ``tables``' rows, and cold-start collaborative factors.

    ``part.merchants`` must hold the merchants of ``part.products`` and ``part.plans`` their plans. Products of a
    category ``tables`` does not know cannot be encoded: the caller leaves them out (:func:`known_category`)."""
    creators = _conform_extras(part.creators, "creators", tables.extras.get("creator", {}))
    products = _conform_extras(part.products, "products", tables.extras.get("product", {}))
    part = replace(part, creators=creators.reset_index(drop=True), products=products.reset_index(drop=True))
    fresh = build_feature_tables(
        part,
        now,
        experience_scale,
        cf_factors=0,
        categories=tables.categories,
        regions=_regions(tables, part),
        extras=(_extras(tables, "creator"), _extras(tables, "product")),
    )
    if fresh.creator_names != tables.creator_names or fresh.product_names != tables.product_names:
        raise OverlayError("the new rows' feature names differ from the bundle's (extra columns changed?)")
    replaced_c = np.isin(tables.creators.ids, fresh.creators.ids)
    replaced_p = np.isin(tables.products.ids, fresh.products.ids)
    _relative_creator_features(tables, ~replaced_c, fresh)
    _relative_product_features(tables, ~replaced_p, fresh)
    a = fresh.arrays
    a["cf_creator"] = a["cf_creator_cold"] = cold.creator_factors(fresh)
    a["cf_product"] = a["cf_product_cold"] = cold.product_factors(fresh)
    a["cf_creator_known"] = np.zeros(len(fresh.creators), bool)
    a["cf_product_known"] = np.zeros(len(fresh.products), bool)
    return fresh


def known_category(tables: FeatureTables, products: pd.DataFrame) -> np.ndarray:
    """Which products have a category the tables can encode (others wait for the next training)."""
    return products["category"].isin(tables.categories).to_numpy(bool)


def _merge_side(
    base_block: np.ndarray,
    fresh_block: np.ndarray,
    names: list[str],
    existing: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """Base rows, content columns of ``rows`` replaced by the fresh rows at ``existing``; new fresh rows appended."""
    out = np.concatenate([base_block, fresh_block[~existing].astype(base_block.dtype)])
    content = np.asarray([j for j, name in enumerate(names) if name not in HISTORY_COLUMNS], dtype=np.int64)
    out[np.ix_(rows, content)] = fresh_block[np.ix_(np.flatnonzero(existing), content)]
    return out


def _merge_array(name: str, base: np.ndarray, fresh: np.ndarray, existing: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One per-row array: new rows appended; known rows take the fresh content (history arrays keep theirs)."""
    out = np.concatenate([base, fresh[~existing].astype(base.dtype)])
    if name not in HISTORY_ARRAYS:
        out[rows] = fresh[existing]
    return out


def with_rows(tables: FeatureTables, fresh: FeatureTables) -> tuple[FeatureTables, np.ndarray, np.ndarray]:
    """``tables`` with ``fresh``'s creators and products: known ids replaced (content only), new ids appended.

    Returns (the new tables, the creator rows written, the product rows written), rows in the new tables."""
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for side, vocab, fresh_vocab in (
        ("creator", tables.creators, fresh.creators),
        ("product", tables.products, fresh.products),
    ):
        ids = fresh_vocab.ids
        existing = np.fromiter((i in vocab for i in ids), dtype=bool, count=len(ids))
        rows = np.fromiter((vocab.row(i) for i in ids[existing]), dtype=np.int64, count=int(existing.sum()))
        new_rows = len(vocab) + np.arange(int((~existing).sum()))
        written = np.empty(len(ids), np.int64)
        written[existing], written[~existing] = rows, new_rows
        out[side] = (existing, rows, written)
    arrays: dict[str, np.ndarray] = {}
    for name, base in tables.arrays.items():
        side = array_side(name)
        if side == "shared":
            continue
        existing, rows, _ = out[side]
        arrays[name] = _merge_array(name, base, fresh.arrays[name], existing, rows)
    for side in ("creator", "product"):  # factors of rows that had no history follow their new content
        existing, rows, _ = out[side]
        known = arrays[f"cf_{side}_known"][rows].astype(bool)
        for name in (f"cf_{side}", f"cf_{side}_cold"):
            arrays[name][rows[~known]] = fresh.arrays[name][np.flatnonzero(existing)[~known]]
    n_p_old, n_p_new = len(tables.products), len(tables.products) + int((~out["product"][0]).sum())
    keys = tables.arrays["pair_keys"].astype(np.int64)
    arrays["pair_keys"] = (keys // n_p_old) * n_p_new + keys % n_p_old if n_p_old else keys
    for name in ("pair_counts", "pair_gmv", "pair_orders", "pair_sales_gmv", "category_median_rate"):
        arrays[name] = tables.arrays[name]
    arrays["region_names"] = fresh.arrays["region_names"]
    c_existing, c_rows, c_written = out["creator"]
    p_existing, p_rows, p_written = out["product"]
    grown = replace(
        tables,
        creators=Vocabulary(np.concatenate([tables.creators.ids, fresh.creators.ids[~c_existing]])),
        products=Vocabulary(np.concatenate([tables.products.ids, fresh.products.ids[~p_existing]])),
        creator=_merge_side(tables.creator, fresh.creator, tables.creator_names, c_existing, c_rows),
        product=_merge_side(tables.product, fresh.product, tables.product_names, p_existing, p_rows),
        arrays=arrays,
    )
    return grown, c_written, p_written
