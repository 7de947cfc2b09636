"""Store reads for what happens after a match: a merchant's promotions, plan terms, samples sent and partners.

Read-only (stop-loss alerts, lookalikes); each function is one consistent read of the store's current tables, so the
figures an alert shows are the totals the events wrote last.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from recsys.core.schema import COLLABORATIONS, SA_TABLES, SAMPLE_REQUESTS
from recsys.core.store import Store

PROMOTION_COLUMNS = ["promotion_id", "creator_id", "product_id", "plan_id", "started_at", "format", "views", "gmv"]


def merchant_promotions(
    store: Store, merchant_id: str, started_since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The promotions of the merchant's products (started in ``[started_since, until]`` when given), with their
    recorded totals; ``PROMOTION_COLUMNS``."""
    promotions, products = SA_TABLES["promotions"], SA_TABLES["products"]
    query = (
        sa.select(*[promotions.c[c] for c in PROMOTION_COLUMNS])
        .join(products, products.c.product_id == promotions.c.product_id)
        .where(products.c.merchant_id == merchant_id)
    )
    if started_since is not None:
        query = query.where(promotions.c.started_at >= started_since)
    if until is not None:
        query = query.where(promotions.c.started_at <= until)
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(query).all()]
    frame = pd.DataFrame(rows, columns=PROMOTION_COLUMNS)
    frame["started_at"] = pd.to_datetime(frame["started_at"])
    frame["views"] = pd.to_numeric(frame["views"]).fillna(0).astype("int64")
    frame["gmv"] = pd.to_numeric(frame["gmv"]).fillna(0.0).astype("float64")
    return frame


def plan_terms(store: Store, plan_ids: list[str]) -> pd.DataFrame:
    """``plan_type`` and ``commission_rate`` (the base rate) by plan id, for ``plan_ids``."""
    plans = SA_TABLES["plans"]
    wanted = sorted(set(plan_ids))
    rows: list[dict[str, object]] = []
    with store.engine.connect() as conn:
        for start in range(0, len(wanted), 900):
            query = sa.select(plans.c.plan_id, plans.c.plan_type, plans.c.commission_rate).where(
                plans.c.plan_id.in_(wanted[start : start + 900])
            )
            rows.extend(dict(r) for r in conn.execute(query).mappings())
    return pd.DataFrame(rows, columns=["plan_id", "plan_type", "commission_rate"]).set_index("plan_id")


def sampled_pairs(store: Store, merchant_id: str) -> set[tuple[str, str]]:
    """(creator, product) pairs the merchant shipped a sample to."""
    query = sa.select(SAMPLE_REQUESTS.c.creator_id, SAMPLE_REQUESTS.c.product_id).where(
        SAMPLE_REQUESTS.c.merchant_id == merchant_id, SAMPLE_REQUESTS.c.shipped_at.is_not(None)
    )
    with store.engine.connect() as conn:
        return {(str(c), str(p)) for c, p in conn.execute(query)}


def merchant_partners(store: Store, merchant_id: str) -> set[str]:
    """Creators the merchant already works with: any promotion of its products, or an accepted invitation."""
    promotions, products = SA_TABLES["promotions"], SA_TABLES["products"]
    promoted = (
        sa.select(promotions.c.creator_id)
        .join(products, products.c.product_id == promotions.c.product_id)
        .where(products.c.merchant_id == merchant_id)
        .distinct()
    )
    accepted = (
        sa.select(COLLABORATIONS.c.creator_id)
        .join(products, products.c.product_id == COLLABORATIONS.c.product_id)
        .where(products.c.merchant_id == merchant_id)
        .distinct()
    )
    with store.engine.connect() as conn:
        return {str(c) for c in conn.execute(promoted).scalars()} | {str(c) for c in conn.execute(accepted).scalars()}
