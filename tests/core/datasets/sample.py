"""A small, hand-built, valid marketplace (a handful of rows per table) for dataset tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from recsys.core.datasets.io import FileFormat, write_table

T0 = datetime(2024, 3, 1, 9, 30)


def _aud(female: float, young: float, tier1: float) -> dict[str, float]:
    return {
        "aud_female": female,
        "aud_male": round(1 - female, 4),
        "aud_age_18_23": young,
        "aud_age_24_30": 0.3,
        "aud_age_31_40": 0.2,
        "aud_age_41_50": 0.1,
        "aud_age_50_plus": round(0.4 - young, 4),
        "aud_tier_1": tier1,
        "aud_tier_2": 0.3,
        "aud_tier_3": 0.2,
        "aud_tier_4_plus": round(0.5 - tier1, 4),
    }


def _target(aud: dict[str, float]) -> dict[str, float]:
    return {k.replace("aud_", "target_"): v for k, v in aud.items()}


def marketplace() -> dict[str, pd.DataFrame]:
    """Tables as native frames (what a Parquet file holds); every row valid."""
    merchants = pd.DataFrame(
        [
            {
                "merchant_id": f"m{i}",
                "name": f"Shop {i}",
                "joined_at": datetime(2023, i, 5),
                "experience_score": 80.0 + i,
                "good_review_rate": 0.9,
                "violations_90d": 0,
                "alliance_closures": i - 1,
                "region": "east",
                "gmv_30d": 1e4 * i,
            }
            for i in (1, 2, 3)
        ]
    )
    products = pd.DataFrame(
        [
            {
                "product_id": f"p{i}",
                "merchant_id": f"m{1 + i % 3}",
                "title": f"Lipstick {i}",
                "category": "beauty",
                "price": 9.9 + i,
                "rating": 4.5,
                "service_score": 4.7,
                "listed_at": datetime(2024, 1, i + 1),
                **(_target(_aud(0.7, 0.2, 0.3)) if i % 2 else {}),
                "embedding": [0.1 * i, 0.2, -0.3],
            }
            for i in range(1, 6)
        ]
    )
    creators = pd.DataFrame(
        [
            {
                "creator_id": f"c{i}",
                "name": f"Creator {i}",
                "followers": 1000 * i**3,
                "region": "east",
                "categories": ["beauty", "food"][: 1 + i % 2],
                "joined_at": datetime(2022, i, 1),
                "real_name_verified": True,
                "showcase_enabled": i != 3,
                "deposit_paid": True,
                **_aud(0.6, 0.25, 0.2),
                "avg_views": 5000.0 * i,
                "like_rate": 0.05,
                "comment_rate": 0.01,
                "share_rate": 0.005,
                "completion_rate": 0.4,
                "bio": f"I review things #{i}",
            }
            for i in range(1, 6)
        ]
    )
    plans = pd.DataFrame(
        [
            {
                "plan_id": "pl1",
                "product_id": "p1",
                "plan_type": "open",
                "commission_rate": 0.1,
                "creator_ids": [],
                "tiers": [],
                "tier_basis": "units",
                "min_followers": 0,
                "allowed_categories": [],
                "allowed_regions": [],
                "starts_at": datetime(2024, 1, 1),
                "ends_at": None,
                "budget": None,
                "budget_spent": 0.0,
            },
            {
                "plan_id": "pl2",
                "product_id": "p2",
                "plan_type": "exclusive",
                "commission_rate": 0.2,
                "creator_ids": ["c1"],
                "tiers": [],
                "tier_basis": "units",
                "min_followers": 1000,
                "allowed_categories": ["beauty"],
                "allowed_regions": ["east"],
                "starts_at": datetime(2024, 1, 1),
                "ends_at": datetime(2024, 12, 31),
                "budget": 5000.0,
                "budget_spent": 10.0,
            },
            {
                "plan_id": "pl3",
                "product_id": "p3",
                "plan_type": "targeted",
                "commission_rate": 0.15,
                "creator_ids": ["c2", "c3"],
                "tiers": [],
                "tier_basis": "units",
                "min_followers": 0,
                "allowed_categories": [],
                "allowed_regions": [],
                "starts_at": datetime(2024, 2, 1),
                "ends_at": None,
                "budget": None,
                "budget_spent": 0.0,
            },
            {
                "plan_id": "pl4",
                "product_id": "p4",
                "plan_type": "tiered",
                "commission_rate": 0.1,
                "creator_ids": [],
                "tiers": [[0, 0.1], [100, 0.15], [500, 0.2]],
                "tier_basis": "units",
                "min_followers": 0,
                "allowed_categories": [],
                "allowed_regions": [],
                "starts_at": datetime(2024, 1, 1),
                "ends_at": None,
                "budget": None,
                "budget_spent": 0.0,
            },
            {
                "plan_id": "pl5",
                "product_id": "p5",
                "plan_type": "open",
                "commission_rate": 0.05,
                "creator_ids": [],
                "tiers": [],
                "tier_basis": "units",
                "min_followers": 0,
                "allowed_categories": [],
                "allowed_regions": [],
                "starts_at": datetime(2024, 1, 1),
                "ends_at": None,
                "budget": None,
                "budget_spent": 0.0,
            },
        ]
    )
    promotions = pd.DataFrame(
        [
            {
                "promotion_id": f"pr{i}",
                "creator_id": f"c{1 + i % 5}",
                "product_id": f"p{1 + i % 5}",
                "plan_id": f"pl{1 + i % 5}",
                "started_at": T0,
                "format": ["video", "live", "post"][i % 3],
                "views": 1000 * i,
                "likes": 50 * i,
                "comments": 5 * i,
                "shares": i,
                "completion_rate": 0.35,
                "clicks": 100 * i,
                "orders": 3 * i,
                "gmv": 29.7 * i,
                "refunds": i % 2,
            }
            for i in range(1, 7)
        ]
    )
    orders = pd.DataFrame(
        [
            {
                "order_id": f"o{i}",
                "promotion_id": f"pr{1 + i % 6}",
                "amount": 19.9 + i,
                "created_at": T0,
                "confirmed_at": T0 if i % 4 else None,
                "refunded_at": T0 if i % 4 == 2 else None,
                "status": ["placed", "confirmed", "refunded", "settled"][i % 4],
            }
            for i in range(1, 9)
        ]
    )
    for frame in (plans, orders):
        for col in frame.columns:
            if col.endswith("_at"):
                frame[col] = pd.to_datetime(frame[col])
    return {
        "merchants": merchants,
        "products": products,
        "creators": creators,
        "plans": plans,
        "promotions": promotions,
        "orders": orders,
    }


def write(tables: dict[str, pd.DataFrame], directory: Path, fmt: FileFormat) -> Path:
    """Write ``tables`` as a dataset directory in ``fmt``."""
    for name, frame in tables.items():
        write_table(frame, directory, name, fmt)
    return directory


def as_text(tables: dict[str, pd.DataFrame], directory: Path) -> dict[str, pd.DataFrame]:
    """``tables`` as a CSV file holds them: every cell a string (written to ``directory`` and read back)."""
    from recsys.core.datasets.io import read_table_file

    write(tables, directory, "csv")
    return {name: read_table_file(directory / f"{name}.csv") for name in tables}


def with_rows(
    tables: dict[str, pd.DataFrame], rows: list[tuple[str, dict[str, object]]]
) -> tuple[dict[str, pd.DataFrame], list[int]]:
    """A copy of ``tables`` with one more row per ``(table, changes)``: that table's first row, changed.

    Each new row gets a fresh id (``new_<table>_<i>``) unless ``changes`` sets it, so nothing references it
    and no other row is affected. Cells may be strings (CSV text), so any change is possible, including wrong
    types. Returns the tables and the 1-based source row of each new row in its table.
    """
    from recsys.core.schema import TABLES

    out = {name: frame.astype(object) for name, frame in tables.items()}
    source_rows: list[int] = []
    for i, (table, changes) in enumerate(rows):
        frame = out[table]
        row = {**frame.iloc[0].to_dict(), TABLES[table].key: f"new_{table}_{i}", **changes}
        out[table] = pd.concat([frame, pd.DataFrame([row]).astype(object)], ignore_index=True)
        source_rows.append(len(out[table]))
    return out, source_rows


def with_row(tables: dict[str, pd.DataFrame], table: str, **changes: object) -> dict[str, pd.DataFrame]:
    """:func:`with_rows` for a single new row."""
    return with_rows(tables, [(table, changes)])[0]
