"""Time-split training data: label windows, their point-in-time features, and query groups per direction.

A *label window* ``[start, end)`` pairs the feature tables built at ``start`` (only earlier promotions) with the
outcomes of the promotions that started inside the window. Training windows precede the validation window, which
ends at the data's "now"; nothing of a window's outcomes is visible to its features.

Directions: ``creator`` (a creator's query ranks products) and ``product`` (a product's query ranks creators).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.tables import FeatureTables, build_feature_tables
from recsys.core.schema import PROMOTION_FORMATS, Marketplace
from recsys.core.vocab import Direction, sorted_unique

_ROW_COLUMNS = ("c_row", "p_row")  # the creator and product row columns of a pairs frame


@dataclass
class LabelWindow:
    """Outcomes of one window, one row per (creator, product) pair, with the window's feature tables."""

    start: pd.Timestamp
    end: pd.Timestamp
    tables: FeatureTables
    pairs: pd.DataFrame  # c_row, p_row, gmv, orders, views, clicks, rate, format_code, promotions


def data_now(market: Marketplace) -> pd.Timestamp:
    """The data's 'now': the day after the last promotion started."""
    if market.promotions.empty:
        raise ValueError("the marketplace has no promotions to learn from")
    return pd.Timestamp(market.promotions["started_at"].max()).normalize() + pd.Timedelta(days=1)


def window_pairs(market: Marketplace, tables: FeatureTables, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Promotions started in ``[start, end)`` aggregated per (creator, product) pair."""
    promos = market.promotions
    promos = promos[(promos["started_at"] >= start) & (promos["started_at"] < end)]
    rate = market.plans.set_index("plan_id")["commission_rate"].reindex(promos["plan_id"]).to_numpy(np.float64)
    frame = pd.DataFrame(
        {
            "c_row": tables.creators.rows(promos["creator_id"]),
            "p_row": tables.products.rows(promos["product_id"]),
            "gmv": promos["gmv"].to_numpy(np.float64),
            "orders": promos["orders"].to_numpy(np.float64),
            "views": promos["views"].to_numpy(np.float64),
            "clicks": promos["clicks"].to_numpy(np.float64),
            "rate": rate,
            "format_code": pd.Categorical(promos["format"], categories=PROMOTION_FORMATS).codes,
            "promotions": 1,
        }
    )
    frame = frame[(frame["c_row"] >= 0) & (frame["p_row"] >= 0)]
    grouped = frame.groupby(["c_row", "p_row"], sort=True).agg(
        gmv=("gmv", "sum"),
        orders=("orders", "sum"),
        views=("views", "sum"),
        clicks=("clicks", "sum"),
        rate=("rate", "max"),
        format_code=("format_code", "first"),
        promotions=("promotions", "sum"),
    )
    return grouped.reset_index()


def make_windows(
    market: Marketplace,
    label_days: int,
    train_windows: int,
    valid_days: int,
    end: pd.Timestamp | None = None,
    experience_scale: int = 100,
    cf_factors: int = 32,
    seed: int = 0,
) -> tuple[list[LabelWindow], LabelWindow]:
    """Training windows (oldest first) and the validation window ending at ``end`` (default: the data's now)."""
    end = end or data_now(market)
    valid_start = end - pd.Timedelta(days=valid_days)
    windows: list[LabelWindow] = []
    for i in range(train_windows, 0, -1):
        w_end = valid_start - pd.Timedelta(days=label_days * (i - 1))
        w_start = w_end - pd.Timedelta(days=label_days)
        tables = build_feature_tables(market, w_start, experience_scale, cf_factors, seed)
        windows.append(LabelWindow(w_start, w_end, tables, window_pairs(market, tables, w_start, w_end)))
    tables = build_feature_tables(market, valid_start, experience_scale, cf_factors, seed)
    valid = LabelWindow(valid_start, end, tables, window_pairs(market, tables, valid_start, end))
    return windows, valid


def new_pairs(window: LabelWindow) -> pd.DataFrame:
    """The window's pairs that had never collaborated before it: what a list of new partners recommends."""
    keys = np.asarray(window.tables.arrays["pair_keys"], dtype=np.int64)
    pairs = window.pairs
    wanted = pairs["c_row"].to_numpy(np.int64) * len(window.tables.products) + pairs["p_row"].to_numpy(np.int64)
    return pairs[~np.isin(wanted, keys)]


MAX_GRADE = 30  # LightGBM's label_gain table holds 31 grades by default


def relevance(values: np.ndarray, resolution: float) -> np.ndarray:
    """Graded relevance: ``round(resolution * log1p(outcome))`` capped at 30; 0 only for no outcome."""
    grade = np.rint(resolution * np.log1p(np.maximum(np.asarray(values, dtype=np.float64), 0.0)))
    grade = np.where(np.asarray(values) > 0, np.maximum(grade, 1), 0)
    return np.minimum(grade, MAX_GRADE).astype(np.int32)


def label_gains(resolution: float) -> list[float]:
    """The gain of each grade: the outcome it stands for, so LambdaRank optimises NDCG with linear gains."""
    return [float(np.expm1(g / resolution)) for g in range(MAX_GRADE + 1)]


@dataclass
class Groups:
    """Query groups of one direction: rows sorted by query, aligned arrays."""

    direction: Direction
    c_rows: np.ndarray
    p_rows: np.ndarray
    rate: np.ndarray
    fmt: np.ndarray  # promotion format code
    labels: np.ndarray  # graded relevance
    gain: np.ndarray  # realized outcome used as NDCG gain in evaluation
    group_sizes: np.ndarray
    query_rows: np.ndarray  # the query entity's row per group

    @property
    def n_queries(self) -> int:
        return len(self.group_sizes)

    def sample_queries(self, max_rows: int, rng: np.random.Generator) -> Groups:
        """Whole queries drawn at random until ``max_rows`` rows (at least one query); self if already small."""
        if len(self.c_rows) <= max_rows or self.n_queries == 0:
            return self
        order = rng.permutation(self.n_queries)
        fits = np.cumsum(self.group_sizes[order]) <= max_rows
        keep = np.sort(order[fits] if fits.any() else order[:1])
        starts = np.r_[0, np.cumsum(self.group_sizes)[:-1]]
        rows = np.concatenate([np.arange(starts[q], starts[q] + self.group_sizes[q]) for q in keep])
        return Groups(
            direction=self.direction,
            c_rows=self.c_rows[rows],
            p_rows=self.p_rows[rows],
            rate=self.rate[rows],
            fmt=self.fmt[rows],
            labels=self.labels[rows],
            gain=self.gain[rows],
            group_sizes=self.group_sizes[keep],
            query_rows=self.query_rows[keep],
        )


def add_negatives(
    pairs: pd.DataFrame, tables: FeatureTables, direction: Direction, per_query: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``pairs`` plus ``per_query`` random unpromoted candidates (no outcome) for every query that has pairs.

    Without them a ranker only ever compares candidates someone chose to promote, and misjudges the unfit majority
    of a full catalogue; with them it also learns what does not sell (at the cost of treating a few unexposed good
    candidates as negatives).
    """
    if per_query == 0 or pairs.empty:
        return pairs
    query_col, other_col = direction.query_rows(*_ROW_COLUMNS), direction.candidate_rows(*_ROW_COLUMNS)
    n_other = direction.select(len(tables.products), len(tables.creators))
    queries = sorted_unique(pairs[query_col].to_numpy())
    q = np.repeat(queries, per_query)
    other = rng.integers(0, n_other, len(q))
    frame = pd.DataFrame({query_col: q, other_col: other})
    promoted = pd.MultiIndex.from_frame(pairs[["c_row", "p_row"]])
    frame = frame[~pd.MultiIndex.from_frame(frame[["c_row", "p_row"]]).isin(promoted)].drop_duplicates()
    frame = frame.assign(
        gmv=0.0,
        orders=0.0,
        views=0.0,
        clicks=0.0,
        promotions=0,
        rate=tables.arrays["product_best_rate"][frame["p_row"].to_numpy()].astype(np.float64),
        format_code=tables.arrays["creator_main_format"][frame["c_row"].to_numpy()].astype(np.int64),
    )
    return pd.concat([pairs, frame[pairs.columns]], ignore_index=True)


def query_groups(
    pairs: pd.DataFrame,
    direction: Direction,
    target: Literal["gmv", "orders"],
    resolution: float,
    min_size: int = 2,
    max_size: int | None = None,
    seed: int = 0,
) -> Groups:
    """Groups of ``direction`` from a window's pairs: queries with >= ``min_size`` promoted candidates and some
    outcome. A query with more than ``max_size`` candidates (a hot product promoted by thousands of creators) keeps
    a seeded random ``max_size`` of them: LambdaRank refuses queries above 10,000 rows and its cost grows with
    query size."""
    query_col, other = direction.query_rows(*_ROW_COLUMNS), direction.candidate_rows(*_ROW_COLUMNS)
    frame = pairs.sort_values([query_col, other], kind="stable")
    if max_size is not None:
        draw = pd.Series(np.random.default_rng(seed).random(len(frame)), index=frame.index)
        frame = frame[draw.groupby(frame[query_col]).rank(method="first") <= max_size]
    promoted = (frame["promotions"] > 0).groupby(frame[query_col]).transform("sum")
    best = frame.groupby(query_col)[target].transform("max")
    frame = frame[(promoted >= min_size) & (best > 0)]
    labels = relevance(frame[target].to_numpy(), resolution)
    sizes = frame.groupby(query_col, sort=True).size()
    return Groups(
        direction=direction,
        c_rows=frame["c_row"].to_numpy(np.int64),
        p_rows=frame["p_row"].to_numpy(np.int64),
        rate=frame["rate"].to_numpy(np.float64),
        fmt=frame["format_code"].to_numpy(np.int64),
        labels=labels,
        gain=frame[target].to_numpy(np.float64),
        group_sizes=sizes.to_numpy(np.int64),
        query_rows=sizes.index.to_numpy(np.int64),
    )
