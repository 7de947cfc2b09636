"""The entities the serving tests act on, found in the fixture marketplace (deterministically) with their keys."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class World:
    creator: str  # admitted, with a product pool
    other_creator: str  # another admitted creator
    product: str  # the top product of `creator`'s pool (a public plan)
    merchant: str  # owns `product`
    other_merchant: str
    listed_plan: str  # an exclusive/targeted plan on a product that has only listed plans
    listed_product: str
    listed_merchant: str
    listed_creator: str  # named by `listed_plan`
    unlisted_creator: str  # admitted, not named by any plan of `listed_product`
    listed_rate: float
    listed_category: str
    keys: dict[str, str] = field(default_factory=dict)


def find_world(settings, store) -> World:  # type: ignore[no-untyped-def]
    from recsys.core.keys import create_key
    from serving.state import open_matcher_state

    state = open_matcher_state(settings, store)
    matcher, tables = state.matcher, state.bundle.engine.tables
    book = matcher.planbook
    admitted = [tables.creators.id(int(r)) for r in np.flatnonzero(book.admitted_creators)]
    creator = next(c for c in admitted if len(matcher.recommend_products(c, 10)) == 10)
    other_creator = next(c for c in admitted if c != creator and matcher.recommend_products(c, 3))
    top = matcher.recommend_products(creator, 1)[0]
    product = top.product_id
    merchant = str(matcher.catalog.product_merchant[tables.products.row(product)])
    merchants = sorted(set(state.merchant_ids) - {merchant})
    other_merchant = merchants[0]

    plans = store.read_table("plans").set_index("plan_id", drop=False).rename_axis(None)
    by_product = plans.groupby("product_id")["plan_type"].agg(lambda t: set(t) <= {"exclusive", "targeted"})
    listed_only = set(by_product[by_product].index)
    admitted_set = set(admitted)
    chosen = None
    for plan_id, row in plans.sort_values("plan_id").iterrows():
        if row["product_id"] not in listed_only or row["product_id"] not in tables.products:
            continue
        if not book.admitted_products[tables.products.row(row["product_id"])]:
            continue
        named = [c for c in row["creator_ids"] if c in admitted_set]
        if named:
            chosen = (str(plan_id), row, named[0])
            break
    assert chosen is not None, "the fixture marketplace has no listed-only product with an admitted creator"
    plan_id, row, listed_creator = chosen
    named_anywhere = {c for ids in plans.loc[plans["product_id"] == row["product_id"], "creator_ids"] for c in ids}
    unlisted = next(c for c in admitted if c not in named_anywhere and c not in (creator, other_creator))
    listed_product = str(row["product_id"])
    world = World(
        creator=creator,
        other_creator=other_creator,
        product=product,
        merchant=merchant,
        other_merchant=other_merchant,
        listed_plan=plan_id,
        listed_product=listed_product,
        listed_merchant=str(matcher.catalog.product_merchant[tables.products.row(listed_product)]),
        listed_creator=listed_creator,
        unlisted_creator=unlisted,
        listed_rate=float(row["commission_rate"]),
        listed_category=str(matcher.catalog.product_category[tables.products.row(listed_product)]),
    )
    keys = {"admin": create_key(store, "admin")[1]}
    for name in ("creator", "other_creator", "listed_creator", "unlisted_creator"):
        keys[name] = create_key(store, "creator", getattr(world, name))[1]
    for name in ("merchant", "other_merchant", "listed_merchant"):
        keys[name] = create_key(store, "merchant", getattr(world, name))[1]
    world.keys.update(keys)
    return world
