"""Batch scoring: every admitted query's default list as Arrow rows (``recsys batch-recommend``).

One row per (query, rank). Lists come from the same :class:`Matcher` calls the API's default lists make
(``recommend_products`` / ``recommend_creators`` with default filters, offset 0, default ``include_existing`` and
sort), so a batch run and the API agree item for item; the numbers are the API items' (a non-finite model value
becomes 0, as in ``serving.views``). The engine that runs the chunks (in process or on Dask) lives in
``recsys.app.batch``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from models.matching.matcher import Matcher, Recommendation
from recsys.core.vocab import Direction

SIDE_NAMES: dict[str, Direction] = {"creators": Direction.CREATOR, "products": Direction.PRODUCT}
"""``--side`` values: ``creators`` writes every creator's product pool, ``products`` every product's creators."""

_COMMON: list[tuple[str, pa.DataType]] = [
    ("creator_id", pa.string()),
    ("product_id", pa.string()),
    ("rank", pa.int32()),
    ("score", pa.float64()),
    ("fit_score", pa.float64()),
    ("plan_id", pa.string()),
    ("plan_type", pa.string()),
    ("commission_rate", pa.float64()),
    ("predicted_gmv", pa.float64()),
    ("predicted_gmv_low", pa.float64()),
    ("predicted_gmv_high", pa.float64()),
    ("predicted_units", pa.float64()),
    ("distribution_weight", pa.float64()),
    ("capacity_price", pa.float64()),
    ("existing", pa.bool_()),
    ("creator_capacity_left", pa.int64()),
]


@dataclass
class ScoringInputs:
    """What batch scoring needs from a serving state: the matcher and where it came from.

    ``run_id`` is the bundle's, ``revision`` the store revision the state was read at, ``now`` the time plan windows
    were evaluated at, ``fulfilment`` the creators' sample fulfilment rates (shown in a product's creator list)."""

    matcher: Matcher
    run_id: str
    revision: int
    now: datetime
    fulfilment: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchSide:
    """One direction of batch scoring: which id is the query and what its list's rows carry.

    ``earnings`` names the expected commission column as the API's items do (a creator's pool shows its expected
    earnings, a product's creator list the merchant's expected commission: the same amount)."""

    name: str
    direction: Direction
    earnings: str
    extra: tuple[tuple[str, pa.DataType], ...] = ()

    @property
    def query_column(self) -> str:
        return self.direction.select("creator_id", "product_id")

    @property
    def schema(self) -> pa.Schema:
        money = [(self.earnings, pa.float64()), (f"{self.earnings}_low", pa.float64())]
        money.append((f"{self.earnings}_high", pa.float64()))
        return pa.schema(_COMMON + money + list(self.extra))


SIDES: dict[Direction, BatchSide] = {
    Direction.CREATOR: BatchSide("creators", Direction.CREATOR, "expected_earnings"),
    Direction.PRODUCT: BatchSide(
        "products",
        Direction.PRODUCT,
        "expected_commission",
        (
            ("merchant_roi", pa.float64()),
            ("sample_cost", pa.float64()),
            ("suspected_fake_engagement", pa.bool_()),
            ("sample_fulfilment_rate", pa.float64()),
        ),
    ),
}


def side_named(name: str) -> BatchSide:
    """The side for a ``--side`` value; a clear error naming the choices otherwise."""
    if name not in SIDE_NAMES:
        raise ValueError(f"side: {name!r} is not one of {', '.join(SIDE_NAMES)}")
    return SIDES[SIDE_NAMES[name]]


def _f(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def admitted_ids(matcher: Matcher, side: BatchSide) -> list[str]:
    """The query ids the rules admit (in the bundle's row order): creators with a product pool, products whose
    merchant may be recommended. Placeholders for entities the store no longer has are never admitted."""
    tables = matcher.engine.tables
    if side.direction is Direction.CREATOR:
        return [str(c) for c in tables.creators.index if matcher.creator_refusal(str(c)) is None]
    return [str(p) for p in tables.products.index if matcher.product_refusal(str(p)) is None]


def default_list(matcher: Matcher, side: BatchSide, query_id: str, k: int) -> list[Recommendation]:
    """The first page of ``k`` of the API's default list for ``query_id``."""
    if side.direction is Direction.CREATOR:
        return matcher.recommend_products(query_id, k)
    return matcher.recommend_creators(query_id, k)


def _row(side: BatchSide, rank: int, rec: Recommendation, fulfilment: Mapping[str, float]) -> dict[str, object]:
    row: dict[str, object] = {
        "creator_id": rec.creator_id,
        "product_id": rec.product_id,
        "rank": rank,
        "score": _f(rec.score),
        "fit_score": _f(rec.fit_score),
        "plan_id": rec.plan_id,
        "plan_type": None if rec.plan_type is None else str(rec.plan_type),
        "commission_rate": _f(rec.commission_rate),
        "predicted_gmv": _f(rec.predicted_gmv),
        "predicted_gmv_low": _f(rec.predicted_gmv_low),
        "predicted_gmv_high": _f(rec.predicted_gmv_high),
        "predicted_units": _f(rec.predicted_units),
        "distribution_weight": _f(rec.distribution_weight),
        "capacity_price": _f(rec.capacity_price),
        "existing": rec.existing,
        "creator_capacity_left": rec.creator_capacity_left,
        side.earnings: _f(rec.expected_commission),
        f"{side.earnings}_low": _f(rec.expected_commission_low),
        f"{side.earnings}_high": _f(rec.expected_commission_high),
    }
    if side.direction is Direction.PRODUCT:
        row["merchant_roi"] = rec.merchant_roi
        row["sample_cost"] = _f(rec.sample_cost)
        row["suspected_fake_engagement"] = rec.suspected_fake_engagement
        row["sample_fulfilment_rate"] = fulfilment.get(rec.creator_id)
    return row


def score_chunk(
    matcher: Matcher, side: BatchSide, query_ids: Sequence[str], k: int, fulfilment: Mapping[str, float] | None = None
) -> pa.Table:
    """The rows of ``query_ids``' default lists (rank 1 is the top), in ``side``'s schema; an empty table with
    that schema when none of them has a list."""
    rows = [
        _row(side, rank, rec, fulfilment or {})
        for query_id in query_ids
        for rank, rec in enumerate(default_list(matcher, side, query_id, k), start=1)
    ]
    return pa.Table.from_pylist(rows, schema=side.schema)
