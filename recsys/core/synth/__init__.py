"""The embedded default: a synthetic CPS marketplace with a known, hidden ground truth.

``generate(SynthConfig(...))`` returns the marketplace tables and the :class:`GroundTruth` that produced their
outcomes; ``write_synthetic`` writes both into a dataset directory (the truth under ``ground_truth/``, which import
ignores). Same config and seed give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from recsys.core.datasets.io import FileFormat, write_dataset
from recsys.core.schema import Marketplace
from recsys.core.synth.activity import make_activity
from recsys.core.synth.capacity import add_capacities
from recsys.core.synth.entities import EmbeddingSpace, make_creators, make_merchants, make_products
from recsys.core.synth.fake_engagement import FakeEngagement, add_fake_engagement
from recsys.core.synth.plans import finalize_budgets, make_plans, plans_frame
from recsys.core.synth.samples import make_sample_requests
from recsys.core.synth.truth import GroundTruth, TruthCoefficients

__all__ = ["FakeEngagement", "GroundTruth", "SynthConfig", "Synthetic", "generate", "write_synthetic"]


class SynthConfig(BaseModel):
    """Size and shape of a synthetic marketplace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    creators: int = Field(2000, ge=10, description="Number of creators.")
    products: int = Field(10_000, ge=10, description="Number of products.")
    merchants: int | None = Field(None, ge=2, description="Number of merchants (default: products / 25).")
    promotions: int | None = Field(None, ge=0, description="Number of promotions (default: 50 per creator).")
    seed: int = 0
    as_of: datetime = Field(datetime(2026, 6, 30), description="The marketplace's 'now'; history ends here.")
    history_days: int = Field(180, ge=30, description="Days of promotion history before as_of.")
    with_orders: bool = Field(True, description="Write one orders row per order (large at scale).")
    target_published_share: float = Field(
        0.7, ge=0, le=1, description="Share of products publishing a target audience."
    )
    sample_requests: bool = Field(
        True,
        description="Generate sample requests (recsys.core.synth.samples; their own generator, so every other table "
        "is the same either way).",
    )
    fake_engagement_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of creators who bought followers and/or views: their observed followers, views and "
        "engagement rates are inflated or diluted, their real reach and sales are not "
        "(recsys.core.synth.fake_engagement).",
    )

    @model_validator(mode="after")
    def _sizes(self) -> SynthConfig:
        if self.merchants is not None and self.merchants > self.products:
            raise ValueError("merchants must not exceed products")
        return self

    @property
    def n_merchants(self) -> int:
        return self.merchants or max(2, self.products // 25)

    @property
    def n_promotions(self) -> int:
        return self.promotions if self.promotions is not None else 50 * self.creators


@dataclass
class Synthetic:
    market: Marketplace
    truth: GroundTruth
    config: SynthConfig


def generate(config: SynthConfig) -> Synthetic:
    """Draw a whole marketplace. Every random draw comes from one generator seeded by ``config.seed``, except the
    capacity columns (``weekly_capacity``, ``sample_stock``: :mod:`recsys.core.synth.capacity`) and the fake
    engagement (:mod:`recsys.core.synth.fake_engagement`), drawn last from their own generators so that adding them
    changed no other value (fake engagement changes only its fake creators' rows and promotions), and the sample
    requests (:mod:`recsys.core.synth.samples`), drawn after everything else from theirs."""
    rng = np.random.default_rng(config.seed)
    as_of = pd.Timestamp(config.as_of)
    space = EmbeddingSpace.draw(rng)
    merchants = make_merchants(rng, config.n_merchants, as_of)
    products = make_products(
        rng, config.products, merchants, as_of, config.history_days, config.target_published_share, space
    )
    creators = make_creators(rng, config.creators, as_of, space)
    plans = make_plans(rng, products, creators, as_of)
    truth = GroundTruth(
        creator_ids=creators.frame["creator_id"].to_numpy(),
        avg_views=creators.avg_views,
        skill=creators.skill,
        audience=creators.audience,
        affinity=creators.affinity,
        creator_taste=creators.taste,
        format_weights=creators.format_weights,
        product_ids=products.frame["product_id"].to_numpy(),
        category=products.category,
        price=products.price,
        appeal=products.appeal,
        rating=products.rating,
        target=products.target,
        product_taste=products.taste,
        base_rate=products.base_rate,
        coef=TruthCoefficients(),
    )
    activity = make_activity(
        rng,
        config.n_promotions,
        products,
        creators,
        plans,
        truth,
        merchants.quality,
        as_of,
        config.history_days,
        config.with_orders,
    )
    budget, spent = finalize_budgets(rng, plans, activity.plan_spent)
    plans_table = plans_frame(plans, products, creators, budget, spent)
    promotions = activity.promotions
    promotions["plan_id"] = plans_table["plan_id"].to_numpy()[promotions["plan_id"].to_numpy()]
    # capacities last, from their own generator: every value above is the same as without them
    creators_frame, products_frame = add_capacities(
        config.seed, creators.frame, creators.format_weights, products.frame
    )
    # fake engagement after the capacities (they follow the real fan tier), from its own generator
    creators_frame, promotions, fake = add_fake_engagement(
        config.seed, config.fake_engagement_share, creators_frame, promotions
    )
    truth.fake_engagement = fake
    samples = None
    if config.sample_requests:  # last, from their own generator: every other value is the same as without them
        samples, truth.sample_propensity = make_sample_requests(
            config.seed,
            promotions,
            creators.frame["creator_id"].to_numpy(object),
            creators.skill,
            products.frame["product_id"].to_numpy(object),
            as_of,
            config.history_days,
        )
    market = Marketplace(
        merchants=merchants.frame,
        products=products_frame,
        creators=creators_frame,
        plans=plans_table,
        promotions=promotions,
        orders=activity.orders,
    )
    if samples is not None:
        market.sample_requests = samples
    return Synthetic(market, truth, config)


def write_synthetic(synthetic: Synthetic, directory: Path, fmt: FileFormat = "parquet") -> dict[str, int]:
    """Write the dataset tables, ``ground_truth/`` and ``marketplace.json`` (config and sizes) into ``directory``."""
    write_dataset(synthetic.market, directory, fmt)
    synthetic.truth.save(directory)
    sizes = {**synthetic.market.sizes(), "sample_requests": len(synthetic.market.sample_requests)}
    meta = {"generator": "recsys.core.synth", "config": synthetic.config.model_dump(mode="json"), "sizes": sizes}
    (directory / "marketplace.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    return sizes
