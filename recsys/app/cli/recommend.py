"""``recsys recommend creator|product``: recommendations from the current bundle, printed as a table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from recsys.app.cli._app import app, console, fail

if TYPE_CHECKING:
    from models.matching.matcher import Matcher
    from recsys.core.vocab import FanTier

recommend_app = typer.Typer(help="Print recommendations from the current bundle as a table.", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")


def _open_matcher() -> Matcher:
    from recsys.core.config import get_settings
    from serving.state import open_matcher

    settings = get_settings()
    try:
        return open_matcher(settings)
    except Exception as exc:
        raise fail(str(exc)) from exc


@recommend_app.command("creator")
def recommend_creator(
    creator_id: Annotated[str, typer.Argument(help="The creator whose product pool to show.")],
    k: Annotated[int, typer.Option(help="How many products.", min=1, max=200)] = 10,
    category: Annotated[str | None, typer.Option(help="Only this product category.")] = None,
    min_commission: Annotated[float | None, typer.Option(help="Only plans paying at least this rate.")] = None,
) -> None:
    """Products for a creator: plan, effective commission, expected earnings, fit and reasons."""
    from models.matching.matcher import ProductFilters, UnknownEntity

    matcher = _open_matcher()
    try:
        recs = matcher.recommend_products(creator_id, k, ProductFilters(category, min_commission))
    except UnknownEntity as exc:
        raise fail(str(exc)) from exc
    if not recs:
        _explain_empty(matcher.creator_refusal(creator_id), f"creator {creator_id}")
        return
    table = Table(title=f"product pool for creator {creator_id}")
    for col in ("product", "category", "plan", "rate", "exp. earnings", "pred. GMV", "fit", "dist. weight"):
        table.add_column(col, no_wrap=True)
    table.add_column("top reason", overflow="ellipsis", no_wrap=True, max_width=48)
    for r in recs:
        row = matcher.engine.tables.products.row(r.product_id)
        table.add_row(
            r.product_id,
            str(matcher.catalog.product_category[row]),
            r.plan_type or "-",
            f"{r.commission_rate:.1%}",
            f"{r.expected_commission:,.0f}",
            f"{r.predicted_gmv:,.0f}",
            f"{r.fit_score:.2f}",
            f"{r.distribution_weight:.2f}",
            r.reasons[0].text if r.reasons else "",
        )
    console.print(table)


def _explain_empty(refusal: str | None, who: str) -> None:
    from recsys.core.rules import REASONS

    if refusal is not None:
        console.print(f"no recommendations: {who} is not admitted — {REASONS[refusal]} ({refusal})")
    else:
        console.print(f"no recommendations for {who} with these filters")


@recommend_app.command("product")
def recommend_product(
    product_id: Annotated[str, typer.Argument(help="The product to find creators for.")],
    k: Annotated[int, typer.Option(help="How many creators.", min=1, max=200)] = 10,
    fan_tier: Annotated[str | None, typer.Option(help="nano, micro, mid, macro or mega.")] = None,
    region: Annotated[str | None, typer.Option(help="Only creators in this region.")] = None,
) -> None:
    """Creators for a product: predicted GMV, merchant ROI, fit and reasons."""
    from models.matching.matcher import CreatorFilters, UnknownEntity

    tier = cast("FanTier | None", fan_tier)  # passed as given: the matcher checks it and names the tiers if not one
    matcher = _open_matcher()
    try:
        recs = matcher.recommend_creators(product_id, k, CreatorFilters(fan_tier=tier, region=region))
    except (UnknownEntity, ValueError) as exc:
        raise fail(str(exc)) from exc
    if not recs:
        _explain_empty(matcher.product_refusal(product_id), f"product {product_id}'s merchant")
        return
    table = Table(title=f"creators for product {product_id}")
    for col in ("creator", "followers", "region", "pred. GMV", "ROI", "rate", "fit", "dist. weight"):
        table.add_column(col, no_wrap=True)
    table.add_column("top reason", overflow="ellipsis", no_wrap=True, max_width=48)
    for r in recs:
        row = matcher.engine.tables.creators.row(r.creator_id)
        table.add_row(
            r.creator_id,
            f"{matcher.catalog.creator_followers[row]:,}",
            str(matcher.catalog.creator_region[row]),
            f"{r.predicted_gmv:,.0f}",
            "-" if r.merchant_roi is None else f"{r.merchant_roi:.1f}",
            f"{r.commission_rate:.1%}",
            f"{r.fit_score:.2f}",
            f"{r.distribution_weight:.2f}",
            r.reasons[0].text if r.reasons else "",
        )
    console.print(table)
