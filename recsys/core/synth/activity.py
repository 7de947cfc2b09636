"""Promotions (who promoted what, when, under which plan, with what outcome) and their orders.

Selection is biased the way a real marketplace is: active creators promote more, products are picked mostly inside
the creator's categories and, within a category, by platform exposure (appeal, commission, a Zipf-like head), so
popularity and outcome are correlated without being the same thing. Outcomes come from the hidden funnel
(:mod:`recsys.core.synth.truth`) plus noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.core.schema import PROMOTION_FORMATS
from recsys.core.synth.entities import Creators, Products, _sigmoid
from recsys.core.synth.plans import PLAN_CODES, Plans
from recsys.core.synth.truth import GroundTruth
from recsys.core.synth.world import N_CATEGORIES, category_weights


@dataclass
class Activity:
    promotions: pd.DataFrame
    orders: pd.DataFrame
    plan_spent: np.ndarray  # commission earned per plan (non-refunded GMV x rate)


def _sample_products(rng: np.random.Generator, products: Products, category: np.ndarray) -> np.ndarray:
    out = np.empty(len(category), dtype=np.int64)
    for k in range(N_CATEGORIES):
        want = np.flatnonzero(category == k)
        if want.size == 0:
            continue
        pool = np.flatnonzero(products.category == k)
        if pool.size == 0:
            pool = np.arange(len(products.category))
        cdf = np.cumsum(products.popularity[pool])
        out[want] = pool[np.searchsorted(cdf, rng.random(want.size) * cdf[-1], side="right").clip(max=pool.size - 1)]
    return out


def _draw_pairs(
    rng: np.random.Generator, n: int, products: Products, creators: Creators, plans: Plans
) -> tuple[np.ndarray, np.ndarray]:
    """Creator and product rows for ``n`` candidate promotions (a few land on listed plans' creators)."""
    followers = creators.frame["followers"].to_numpy()
    activity = followers**0.25 * np.exp(rng.normal(0, 0.5, len(followers))) * np.where(creators.admitted, 1.0, 0.05)
    c = rng.choice(len(followers), size=n, p=activity / activity.sum())
    own = rng.random(n) < 0.7
    n_cats = np.array([len(cs) for cs in creators.categories])
    padded = np.zeros((len(n_cats), int(n_cats.max())), dtype=np.int64)
    for i, cs in enumerate(creators.categories):
        padded[i, : len(cs)] = cs
    secondary = (rng.random(n) < 0.35) & (n_cats[c] > 1)
    slot = np.where(secondary, 1 + (rng.random(n) * np.maximum(n_cats[c] - 1, 1)).astype(np.int64), 0)
    cats = padded[c, slot]
    category = np.where(own, cats, rng.choice(N_CATEGORIES, size=n, p=category_weights()))
    p = _sample_products(rng, products, category)
    # A share of activity happens on targeted / exclusive plans between the listed creators and their products.
    listed = [j for j in range(len(plans)) if plans.creator_rows[j].size]
    n_listed = min(len(listed), int(0.03 * n)) if listed else 0
    if n_listed:
        chosen = rng.choice(np.array(listed), size=n_listed)
        c[:n_listed] = [int(rng.choice(plans.creator_rows[j])) for j in chosen]
        p[:n_listed] = plans.product_row[chosen]
    return c, p


def _choose_plans(c: np.ndarray, p: np.ndarray, started: np.ndarray, creators: Creators, plans: Plans) -> np.ndarray:
    """The plan each promotion ran under (-1 = none it could join at that time): listed plans first, else the
    best-rate public plan whose window and requirements the creator met. Vectorised over (promotion, plan) pairs."""
    n, n_c = len(c), len(creators.frame)
    first = np.searchsorted(plans.product_row, p, side="left")
    count = np.searchsorted(plans.product_row, p, side="right") - first
    promo = np.repeat(np.arange(n), count)
    plan = np.repeat(first - np.cumsum(np.r_[0, count[:-1]]), count) + np.arange(count.sum())
    cc = c[promo]
    at = started[promo]
    ok = (at >= plans.starts_at[plan]) & (np.isnat(plans.ends_at[plan]) | (at < plans.ends_at[plan]))
    code = plans.plan_type[plan]
    is_listed = (code == PLAN_CODES["exclusive"]) | (code == PLAN_CODES["targeted"])
    listed_keys = np.concatenate(
        [np.int64(j) * n_c + rows for j, rows in enumerate(plans.creator_rows) if rows.size] or [np.empty(0, np.int64)]
    )
    member = np.isin(plan.astype(np.int64) * n_c + cc, listed_keys)
    followers = creators.frame["followers"].to_numpy()
    cat_keys = np.concatenate([np.int64(i) * 64 + cs for i, cs in enumerate(creators.categories)])
    allowed_cat = plans.allowed_category[plan]
    cat_ok = (allowed_cat < 0) | np.isin(cc.astype(np.int64) * 64 + allowed_cat, cat_keys)
    regions = plans.allowed_regions[plan]
    region_ok = (regions == 0) | ((regions >> creators.region_row[cc]) & 1 == 1)
    public_ok = (followers[cc] >= plans.min_followers[plan]) & cat_ok & region_ok
    ok &= np.where(is_listed, member, public_ok)
    level = np.where(code == PLAN_CODES["exclusive"], 2, np.where(code == PLAN_CODES["targeted"], 1, 0))
    cand = np.flatnonzero(ok)
    # best per promotion: highest level, then highest rate, then lowest plan row
    order = np.lexsort((plan[cand], -plans.rate[plan[cand]], -level[cand], promo[cand]))
    cand = cand[order]
    first_of_promo = np.r_[True, promo[cand][1:] != promo[cand][:-1]] if cand.size else np.empty(0, bool)
    chosen = np.full(n, -1, dtype=np.int64)
    chosen[promo[cand[first_of_promo]]] = plan[cand[first_of_promo]]
    return chosen


def make_activity(
    rng: np.random.Generator,
    n_promotions: int,
    products: Products,
    creators: Creators,
    plans: Plans,
    truth: GroundTruth,
    merchant_quality: np.ndarray,
    as_of: pd.Timestamp,
    history_days: int,
    with_orders: bool,
) -> Activity:
    draw = int(n_promotions * 1.35) + 10  # some candidates find no plan they may join
    c, p = _draw_pairs(rng, draw, products, creators, plans)
    window_start = as_of - pd.Timedelta(days=history_days)
    listed = products.frame["listed_at"].to_numpy()[p]
    joined = creators.frame["joined_at"].to_numpy()[c]
    earliest = np.maximum(np.maximum(listed, joined), window_start.to_datetime64())
    span = (as_of.to_datetime64() - np.timedelta64(1, "h") - earliest).astype("timedelta64[s]").astype(np.int64)
    started = earliest + (rng.random(draw) * np.maximum(span, 0)).astype("timedelta64[s]")
    plan = _choose_plans(c, p, started, creators, plans)
    keep = np.flatnonzero(plan >= 0)[:n_promotions]
    c, p, started, plan = c[keep], p[keep], started[keep], plan[keep]
    order = np.lexsort((c, started))
    c, p, started, plan = c[order], p[order], started[order], plan[order]
    n = len(c)

    fmt = (rng.random(n)[:, None] > np.cumsum(truth.format_weights[c], axis=1)[:, :-1]).sum(axis=1)
    rate = plans.rate[plan]
    funnel = truth.funnel(c, p, rate=rate, fmt=fmt)
    sigma = truth.coef.view_noise_sigma
    views = np.floor(funnel["views"] * np.exp(rng.normal(-(sigma**2) / 2, sigma, n))).astype(np.int64)
    clicks = rng.binomial(views, funnel["ctr"])
    n_orders = rng.binomial(clicks, funnel["cvr"])
    discount = rng.uniform(0.85, 1.0, n)
    price = products.price[p]
    gmv = np.round(n_orders * price * discount, 2)
    cf = creators.frame
    fit = 1 + 0.3 * (funnel["cvr"] / max(float(np.mean(funnel["cvr"])), 1e-9) - 1).clip(-0.5, 1)
    likes = rng.binomial(views, np.clip(cf["like_rate"].to_numpy()[c] * fit, 0, 1))
    comments = rng.binomial(views, np.clip(cf["comment_rate"].to_numpy()[c] * fit, 0, 1))
    shares = rng.binomial(views, np.clip(cf["share_rate"].to_numpy()[c] * fit, 0, 1))
    completion = np.round(np.clip(cf["completion_rate"].to_numpy()[c] + rng.normal(0, 0.05, n), 0, 1), 4)

    orders_drawn = _draw_orders(rng, started, n_orders, products.refund_rate[p], as_of, with_orders)
    refunds = orders_drawn.refunds

    width = max(6, len(str(n)))
    promotion_ids = np.array([f"pr{i:0{width}d}" for i in range(n)], dtype=object)
    promotions = pd.DataFrame(
        {
            "promotion_id": promotion_ids,
            "creator_id": cf["creator_id"].to_numpy()[c],
            "product_id": products.frame["product_id"].to_numpy()[p],
            "plan_id": plan,  # replaced by plan ids by the caller
            "started_at": pd.DatetimeIndex(started).floor("s"),
            "format": np.array(PROMOTION_FORMATS, dtype=object)[fmt],
            "views": views,
            "likes": likes,
            "comments": comments,
            "shares": shares,
            "completion_rate": completion,
            "clicks": clicks,
            "orders": n_orders,
            "gmv": gmv,
            "refunds": refunds,
        }
    )
    kept_gmv = gmv * (1 - np.divide(refunds, n_orders, out=np.zeros(n), where=n_orders > 0))
    plan_spent = np.bincount(plan, weights=kept_gmv * rate, minlength=len(plans))
    if orders_drawn.columns is None:
        return Activity(promotions, _empty_orders(), plan_spent)
    o = orders_drawn.columns
    promo_of_order = o["promotion"]
    m = len(promo_of_order)
    status = np.where(
        o["refunded"], "refunded", np.where(o["settled"], "settled", np.where(o["confirmed"], "confirmed", "placed"))
    )
    confirmed_at = np.where(o["confirmed"], o["confirmed_at"], np.datetime64("NaT"))
    refunded_at = np.where(o["refunded"], o["refunded_at"], np.datetime64("NaT"))
    owidth = max(7, len(str(m)))
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i:0{owidth}d}" for i in range(m)],
            "promotion_id": promotion_ids[promo_of_order],
            "amount": np.round(price[promo_of_order] * discount[promo_of_order], 2),
            "created_at": pd.DatetimeIndex(o["created"]).floor("s"),
            "confirmed_at": pd.DatetimeIndex(confirmed_at).floor("s"),
            "refunded_at": pd.DatetimeIndex(refunded_at).floor("s"),
            "status": status.astype(object),
        }
    )
    return Activity(promotions, orders, plan_spent)


ORDER_BLOCK = 4_000_000  # orders drawn per block: 20M promotions are ~380M orders, too many to draw at once


@dataclass
class OrderDraws:
    """What :func:`_draw_orders` drew: refunds per promotion, and each order's columns when the orders table is
    written (``promotion`` row, ``created`` / ``refunded_at`` / ``confirmed_at`` times, ``refunded`` /
    ``confirmed`` / ``settled`` flags)."""

    refunds: np.ndarray
    columns: dict[str, np.ndarray] | None


def _draw_orders(
    rng: np.random.Generator,
    started: np.ndarray,
    n_orders: np.ndarray,
    refund_rate: np.ndarray,
    as_of: pd.Timestamp,
    keep: bool,
) -> OrderDraws:
    """Every order's timestamps and fate (only refunds that happened by ``as_of`` count; confirmation; settlement
    17 days after confirmation), drawn in blocks of :data:`ORDER_BLOCK` orders. Each distribution's blocks are
    drawn one after another before the next distribution's, so the stream, and every value, is that of one draw of
    ``m`` per distribution. ``keep``: also the per-order columns; without them memory is ~10 bytes per order."""
    n = len(n_orders)
    ends = np.cumsum(n_orders)
    m = int(ends[-1]) if n else 0
    blocks = [(s, min(s + ORDER_BLOCK, m)) for s in range(0, m, ORDER_BLOCK)]
    now = as_of.to_datetime64()

    def promotion(s: int, e: int) -> np.ndarray:
        return np.searchsorted(ends, np.arange(s, e), side="right")

    def days(values: np.ndarray) -> np.ndarray:
        return (values * 86400).astype("timedelta64[s]")

    created = np.empty(m, dtype=started.dtype)  # started is in seconds or finer: so are the sums below
    for s, e in blocks:
        created[s:e] = np.minimum(
            started[promotion(s, e)] + days(rng.exponential(1.5, e - s)), now - np.timedelta64(1, "m")
        )
    refund_draw = np.empty(m, dtype=bool)
    for s, e in blocks:
        refund_draw[s:e] = rng.random(e - s) < refund_rate[promotion(s, e)]
    refunded = np.empty(m, dtype=bool)
    refunded_at = np.empty(m if keep else 0, dtype=created.dtype)
    for s, e in blocks:
        at = created[s:e] + days(rng.uniform(1, 12, e - s))
        refunded[s:e] = refund_draw[s:e] & (at <= now)
        if keep:
            refunded_at[s:e] = at
    del refund_draw
    refunds = np.bincount(np.searchsorted(ends, np.flatnonzero(refunded), side="right"), minlength=n)
    if not keep:  # the confirmation and settlement draws still happen: every later draw stays the same
        del created
        for s, e in blocks:
            rng.uniform(0.5, 4, e - s)
        for s, e in blocks:
            rng.random(e - s)
        return OrderDraws(refunds, None)
    confirmed_at = np.empty_like(created)
    for s, e in blocks:
        confirmed_at[s:e] = created[s:e] + days(rng.uniform(0.5, 4, e - s))
    confirmed = np.asarray(confirmed_at <= now)
    settled = confirmed & ~refunded & (confirmed_at + np.timedelta64(17, "D") <= now)
    for s, e in blocks:
        settled[s:e] &= rng.random(e - s) < 0.9
    columns: dict[str, np.ndarray] = {
        "promotion": np.repeat(np.arange(n), n_orders),
        "created": created,
        "refunded_at": refunded_at,
        "confirmed_at": confirmed_at,
        "refunded": refunded,
        "confirmed": confirmed,
        "settled": settled,
    }
    return OrderDraws(refunds, columns)


def _empty_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": pd.Series([], dtype=object),
            "promotion_id": pd.Series([], dtype=object),
            "amount": pd.Series([], dtype=np.float64),
            "created_at": pd.Series([], dtype="datetime64[ns]"),
            "confirmed_at": pd.Series([], dtype="datetime64[ns]"),
            "refunded_at": pd.Series([], dtype="datetime64[ns]"),
            "status": pd.Series([], dtype=object),
        }
    )


__all__ = ["Activity", "_sigmoid", "make_activity"]
