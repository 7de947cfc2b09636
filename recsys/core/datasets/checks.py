"""Value rules: per column (required, ranges, enums) and per table (share groups, funnels, plans, orders).

Every check adds reasons to a :class:`~recsys.core.datasets.problems.Problems` and only looks at values that parsed
(a cell with the wrong type already has its reason). A reason names the field(s) and the rule.
"""

from __future__ import annotations

import itertools

import numpy as np

from recsys.core.config import RulesSettings
from recsys.core.datasets.parse import Parsed
from recsys.core.datasets.problems import Problems, number
from recsys.core.schema import LISTED_PLAN_TYPES, PLAN_TYPES, SHARE_TOLERANCE, ColumnSpec, TableSpec

_FUZZ = 1e-9  # float noise allowed on top of the share tolerance

Columns = dict[str, Parsed]


def check_column(col: ColumnSpec, parsed: Parsed, problems: Problems) -> np.ndarray:
    """Required, range and enum rules of one column; returns the mask of rows whose value is usable."""
    name = col.name
    if col.required:
        problems.add(parsed.missing, f"{name}: required value is missing or empty")
    ok = parsed.valid.copy()
    values = parsed.values
    if col.kind == "str_list" and col.required:
        empty = ok & np.fromiter((isinstance(v, list) and not v for v in values), dtype=bool, count=len(values))
        problems.add(empty, f"{name}: empty list, at least one value is required")
        ok &= ~empty
    if col.kind in ("int", "float"):
        nums = values.to_numpy(dtype=float, na_value=np.nan)
        if col.min is not None:
            low = ok & ((nums <= col.min) if col.min_exclusive else (nums < col.min))
            rule = "must be above" if col.min_exclusive else "is below minimum"
            problems.add_values(low, f"{name}: {{}} {rule} {number(col.min)}", nums)
            ok &= ~low
        if col.max is not None:
            high = ok & (nums > col.max)
            problems.add_values(high, f"{name}: {{}} is above maximum {number(col.max)}", nums)
            ok &= ~high
    if col.enum is not None:
        outside = ok & ~values.isin(col.enum).to_numpy(dtype=bool)
        problems.add_values(outside, f"{name}: {{}} is not one of {', '.join(col.enum)}", values)
        ok &= ~outside
    return ok


def _sum_text(total: float) -> str:
    text = f"{total:.2f}"
    return text if abs(float(text) - 1.0) > SHARE_TOLERANCE else f"{total:.4f}"


def _check_share_group(
    members: tuple[str, ...], optional: bool, cols: Columns, ok: dict[str, np.ndarray], problems: Problems
) -> None:
    label = "+".join(members)
    complete = np.logical_and.reduce([ok[m] for m in members])
    if optional:
        given = np.array([~cols[m].missing for m in members])
        partial = given.any(axis=0) & ~given.all(axis=0)
        for pos in np.flatnonzero(partial):
            absent = ", ".join(m for m, g in zip(members, given[:, pos], strict=True) if not g)
            problems.add_at(
                int(pos),
                f"{label}: incomplete share group (missing {absent}); give every share of it or none",
            )
        complete &= ~partial
    shares = [np.where(ok[m], cols[m].values.to_numpy(dtype=float, na_value=0.0), 0.0) for m in members]
    total = np.sum(shares, axis=0)
    off = complete & (np.abs(total - 1.0) > SHARE_TOLERANCE + _FUZZ)
    texts = np.array([_sum_text(t) for t in total[off]], dtype=object)
    sums = np.empty(len(total), dtype=object)
    sums[off] = texts
    for pos in np.flatnonzero(off):
        problems.add_at(int(pos), f"{label}: shares sum to {sums[pos]}, must be 1 ± {number(SHARE_TOLERANCE)}")


def check_share_groups(spec: TableSpec, cols: Columns, ok: dict[str, np.ndarray], problems: Problems) -> None:
    """Each share group sums to 1 ± tolerance; optional groups are either entirely empty or complete."""
    for members in spec.share_groups.values():
        _check_share_group(members, spec.optional_share_groups, cols, ok, problems)


def _nums(cols: Columns, name: str) -> np.ndarray:
    return cols[name].values.to_numpy(dtype=float, na_value=np.nan)


def check_promotion_funnel(cols: Columns, ok: dict[str, np.ndarray], problems: Problems) -> None:
    """orders <= clicks <= views, refunds <= orders."""
    funnel = " (must be orders <= clicks <= views)"
    for lower, upper, rule in (
        ("clicks", "views", funnel),
        ("orders", "clicks", funnel),
        ("refunds", "orders", ""),
    ):
        low, up = _nums(cols, lower), _nums(cols, upper)
        bad = ok[lower] & ok[upper] & (low > up)
        problems.add_values(bad, f"{lower}: {{}} exceeds {upper} {{}}{rule}", low, up)


def check_order_timeline(cols: Columns, ok: dict[str, np.ndarray], problems: Problems) -> None:
    """confirmed/settled orders need confirmed_at, refunded ones refunded_at; none precede created_at."""
    status = cols["status"].values.to_numpy(dtype=object)
    created = cols["created_at"].values
    for field, statuses in (("confirmed_at", ("confirmed", "settled")), ("refunded_at", ("refunded",))):
        for state in statuses:
            needs = ok["status"] & (status == state) & cols[field].missing
            problems.add(needs, f"{field}: required when status is {state}")
        stamp = cols[field].values
        early = ok["created_at"] & ok[field] & (stamp < created).to_numpy(dtype=bool)
        problems.add_values(early, f"{field}: {{}} is before created_at {{}}", stamp, created)


_CONTENT = ("content_promotion_id", "content_started_at", "content_recorded_at")


def check_sample_timeline(cols: Columns, ok: dict[str, np.ndarray], problems: Problems) -> None:
    """Sample requests: content (promotion, start, report: all three or none) needs a shipped sample; no step
    precedes the one before it (requested <= shipped <= content started <= content recorded)."""
    given = {name: ~cols[name].missing for name in _CONTENT}
    any_content = given[_CONTENT[0]] | given[_CONTENT[1]] | given[_CONTENT[2]]
    for name in _CONTENT:
        problems.add(any_content & ~given[name], f"{name}: required when any content field is given")
    problems.add(any_content & cols["shipped_at"].missing, "shipped_at: required when content is given")
    for later, earlier in (
        ("shipped_at", "requested_at"),
        ("content_started_at", "shipped_at"),
        ("content_recorded_at", "content_started_at"),
    ):
        a, b = cols[later].values, cols[earlier].values
        early = ok[later] & ok[earlier] & ~cols[later].missing & ~cols[earlier].missing
        early &= (a < b).to_numpy(dtype=bool, na_value=False)
        problems.add_values(early, f"{later}: {{}} is before {earlier} {{}}", a, b)


def _tier_problems(tiers: list[list[float]], rules: RulesSettings) -> list[str]:
    found: list[str] = []
    if tiers[0][0] < 0:
        found.append(f"tiers: first min_units {number(tiers[0][0])} is below 0")
    for (units_a, _), (units_b, _) in itertools.pairwise(tiers):
        if units_b <= units_a:
            found.append(f"tiers: min_units must strictly increase ({number(units_a)} then {number(units_b)})")
            break
    for (_, rate_a), (_, rate_b) in itertools.pairwise(tiers):
        if rate_b < rate_a:
            found.append(f"tiers: rates must not decrease ({number(rate_a)} then {number(rate_b)})")
            break
    bounds = f"[{number(rules.commission_min)}, {number(rules.commission_max)}]"
    for i, (_, rate) in enumerate(tiers, start=1):
        if not rules.commission_min <= rate <= rules.commission_max:
            found.append(f"tiers: rate {number(rate)} of tier {i} is outside the policy bounds {bounds}")
    return found


def _lengths(cells: np.ndarray) -> np.ndarray:
    return np.fromiter((len(v) if isinstance(v, list) else 0 for v in cells), dtype=int, count=len(cells))


def check_plans(cols: Columns, ok: dict[str, np.ndarray], problems: Problems, rules: RulesSettings) -> None:
    """Commission within policy; creator lists and tiers as the plan type demands; ends_at after starts_at."""
    rate = _nums(cols, "commission_rate")
    bounds = f"[{number(rules.commission_min)}, {number(rules.commission_max)}]"
    outside = ok["commission_rate"] & ((rate < rules.commission_min) | (rate > rules.commission_max))
    problems.add_values(outside, f"commission_rate: {{}} is outside the policy bounds {bounds}", rate)
    plan_type = cols["plan_type"].values.to_numpy(dtype=object)
    n_creators = _lengths(cols["creator_ids"].values.to_numpy(dtype=object))
    tiers = cols["tiers"].values.to_numpy(dtype=object)
    n_tiers = _lengths(tiers)
    for kind in PLAN_TYPES:
        this = ok["plan_type"] & (plan_type == kind)
        if kind in LISTED_PLAN_TYPES:
            problems.add(
                this & ok["creator_ids"] & (n_creators == 0),
                f"creator_ids: {kind} plans must list at least one creator",
            )
        else:
            problems.add_values(
                this & (n_creators > 0),
                f"creator_ids: {kind} plans must not list creators (got {{}})",
                n_creators,
            )
        if kind == "tiered":
            problems.add(this & ok["tiers"] & (n_tiers == 0), "tiers: tiered plans need [[min_units, rate], ...]")
            for pos in np.flatnonzero(this & ok["tiers"] & (n_tiers > 0)):
                for message in _tier_problems(tiers[pos], rules):
                    problems.add_at(int(pos), message)
        else:
            problems.add_values(
                this & (n_tiers > 0), f"tiers: only tiered plans have tiers ({kind} plan has {{}})", n_tiers
            )
    starts, ends = cols["starts_at"].values, cols["ends_at"].values
    backwards = ok["starts_at"] & ok["ends_at"] & (ends <= starts).to_numpy(dtype=bool)
    problems.add_values(backwards, "ends_at: {} is not after starts_at {}", ends, starts)
