"""The hidden ground truth of the synthetic marketplace: how a promotion outcome arises from creator, product, pair.

A promotion of product p by creator c in format f at commission rate r has

    E[views]  = avg_views_c · format_reach_f · exp(effort_skill · s_c + effort_commission · (r − 0.15))
    CTR       = σ(ctr_bias + ctr_skill · s_c + ctr_overlap · overlap_cp + ctr_affinity · affinity_cp + ctr_appeal · q_p)
    CVR       = σ(cvr_bias + cvr_overlap · overlap_cp + cvr_affinity · affinity_cp + cvr_price_fit · price_fit_cp
                  + cvr_taste · taste_cp + cvr_appeal · q_p + cvr_rating · (rating_p − 4.4) + cvr_skill · s_c
                  + cvr_price · log(price_p / 100) + format_conversion_f)
    E[GMV]    = E[views] · CTR · CVR · price_p · mean_discount

where overlap is the audience–target overlap (mean over gender, age and city-tier groups of Σ min(shares)),
affinity the creator's true affinity for the product's category (listed categories plus hidden noise), price_fit
how close the price is to what the creator's audience pays in that category (spending power from city tiers and
age), taste a hidden factor product learnable only from sales history, q_p a hidden product appeal and s_c a hidden
creator skill that the engagement rates reveal noisily. Realized outcomes add log-normal view noise and
binomial/Poisson count noise. Nothing here is visible to the models; experiments use it for oracle ratios.
Creators who bought followers or views (``fake_engagement``, :mod:`recsys.core.synth.fake_engagement`) keep their
real reach here: only the tables the platform observes are inflated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.core.schema import PROMOTION_FORMATS
from recsys.core.synth.fake_engagement import FakeEngagement
from recsys.core.synth.world import CATEGORIES, N_CATEGORIES, TASTE_DIM

PROPENSITY_FILE = "sample_propensity.parquet"  # ground_truth/: each creator's sample fulfilment propensity
MEAN_DISCOUNT = 0.925  # orders are paid at 85–100% of list price


@dataclass(frozen=True)
class TruthCoefficients:
    effort_skill: float = 0.25
    effort_commission: float = 2.0
    ctr_bias: float = -4.6
    ctr_skill: float = 0.30
    ctr_overlap: float = 0.8
    ctr_affinity: float = 0.5
    ctr_appeal: float = 0.3
    cvr_bias: float = -6.1
    cvr_overlap: float = 2.2
    cvr_affinity: float = 1.1
    cvr_price_fit: float = 0.9
    cvr_taste: float = 0.9
    cvr_appeal: float = 0.45
    cvr_rating: float = 0.5
    cvr_skill: float = 0.15
    cvr_price: float = -0.35
    view_noise_sigma: float = 0.7


FORMAT_REACH = {"video": 1.0, "live": 1.8, "post": 0.45}
FORMAT_CONVERSION = {"video": 0.0, "live": 0.3, "post": -0.2}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def audience_overlap(aud: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean over the three share groups of sum(min(aud, target)); both (n, 11) -> (n,) in [0, 1]."""
    m = np.minimum(aud, target)
    return (m[:, :2].sum(axis=1) + m[:, 2:7].sum(axis=1) + m[:, 7:11].sum(axis=1)) / 3.0


def spending_power(aud: np.ndarray) -> np.ndarray:
    """Audience spending power index (≈ standardised) from city tiers and age; (n, 11) -> (n,)."""
    tiers = aud[:, 7:11] @ np.array([1.0, 0.45, 0.0, -0.45])
    age = aud[:, 2:7] @ np.array([-0.6, 0.1, 0.45, 0.35, -0.1])
    return 2.4 * (tiers + age)


@dataclass
class GroundTruth:
    """Hidden latent state of one synthetic marketplace (row-aligned with its creators and products tables)."""

    creator_ids: np.ndarray
    avg_views: np.ndarray  # (n_c,)
    skill: np.ndarray  # (n_c,)
    audience: np.ndarray  # (n_c, 11)
    affinity: np.ndarray  # (n_c, n_categories)
    creator_taste: np.ndarray  # (n_c, TASTE_DIM)
    format_weights: np.ndarray  # (n_c, 3) in PROMOTION_FORMATS order
    product_ids: np.ndarray
    category: np.ndarray  # (n_p,) int
    price: np.ndarray
    appeal: np.ndarray
    rating: np.ndarray
    target: np.ndarray  # (n_p, 11) true target audience (published only for some products)
    product_taste: np.ndarray  # (n_p, TASTE_DIM)
    base_rate: np.ndarray  # (n_p,) the product's typical open commission
    coef: TruthCoefficients
    fake_engagement: FakeEngagement | None = None  # who bought followers / views (observed counts only)
    sample_propensity: np.ndarray | None = None  # (n_c,) chance a sample is followed by content (synth.samples)

    # --- the funnel ---------------------------------------------------------------------------------------------

    def _terms(self, c: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
        k = self.category[p]
        median = np.log(np.array([cat.median_price for cat in CATEGORIES]))[k]
        preferred = median + 0.5 * spending_power(self.audience[c])
        return {
            "overlap": audience_overlap(self.audience[c], self.target[p]),
            "affinity": self.affinity[c, k],
            "price_fit": -((np.log(self.price[p]) - preferred) ** 2) / (2 * 0.8**2),
            "taste": np.einsum("ij,ij->i", self.creator_taste[c], self.product_taste[p]),
        }

    def funnel(
        self, c: np.ndarray, p: np.ndarray, rate: np.ndarray | None = None, fmt: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Expected views, CTR, CVR, orders and GMV per (creator row, product row) pair.

        ``rate``: commission rate of each pair (default: the product's base rate). ``fmt``: format code per pair
        (index into PROMOTION_FORMATS); default: the expectation over the creator's usual format mix.
        """
        c = np.asarray(c, dtype=np.int64)
        p = np.asarray(p, dtype=np.int64)
        co = self.coef
        r = self.base_rate[p] if rate is None else np.asarray(rate, dtype=np.float64)
        t = self._terms(c, p)
        ctr = _sigmoid(
            co.ctr_bias
            + co.ctr_skill * self.skill[c]
            + co.ctr_overlap * t["overlap"]
            + co.ctr_affinity * t["affinity"]
            + co.ctr_appeal * self.appeal[p]
        )
        cvr_base = (
            co.cvr_bias
            + co.cvr_overlap * t["overlap"]
            + co.cvr_affinity * t["affinity"]
            + co.cvr_price_fit * t["price_fit"]
            + co.cvr_taste * t["taste"]
            + co.cvr_appeal * self.appeal[p]
            + co.cvr_rating * (self.rating[p] - 4.4)
            + co.cvr_skill * self.skill[c]
            + co.cvr_price * np.log(self.price[p] / 100.0)
        )
        views_base = self.avg_views[c] * np.exp(co.effort_skill * self.skill[c] + co.effort_commission * (r - 0.15))
        if fmt is None:
            weights = self.format_weights[c]
        else:
            weights = np.eye(len(PROMOTION_FORMATS))[np.asarray(fmt, dtype=np.int64)]
        views = np.zeros(len(c))
        orders = np.zeros(len(c))
        for j, name in enumerate(PROMOTION_FORMATS):
            v = views_base * FORMAT_REACH[name]
            views += weights[:, j] * v
            orders += weights[:, j] * v * ctr * _sigmoid(cvr_base + FORMAT_CONVERSION[name])
        cvr = np.divide(orders, views * ctr, out=np.zeros_like(orders), where=views * ctr > 0)
        return {"views": views, "ctr": ctr, "cvr": cvr, "orders": orders, "gmv": orders * self.price[p] * MEAN_DISCOUNT}

    def expected_gmv(
        self, c: np.ndarray, p: np.ndarray, rate: np.ndarray | None = None, fmt: np.ndarray | None = None
    ) -> np.ndarray:
        """True expected GMV of each (creator row, product row) pair."""
        return self.funnel(c, p, rate, fmt)["gmv"]

    def expected_gmv_by_id(
        self, creator_ids: list[str] | np.ndarray, product_ids: list[str] | np.ndarray
    ) -> np.ndarray:
        """True expected GMV by external ids (default format mix and base rate)."""
        c_index = pd.Index(self.creator_ids).get_indexer(np.asarray(creator_ids))
        p_index = pd.Index(self.product_ids).get_indexer(np.asarray(product_ids))
        if (c_index < 0).any() or (p_index < 0).any():
            raise KeyError("unknown creator or product id in ground-truth lookup")
        return self.expected_gmv(c_index, p_index)

    # --- persistence ------------------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write ``ground_truth/`` (Parquet + JSON) into a dataset directory; import ignores it."""
        out = directory / "ground_truth"
        out.mkdir(parents=True, exist_ok=True)
        creators = pd.DataFrame({"creator_id": self.creator_ids, "avg_views": self.avg_views, "skill": self.skill})
        for j in range(self.audience.shape[1]):
            creators[f"aud_{j}"] = self.audience[:, j]
        for j in range(N_CATEGORIES):
            creators[f"affinity_{j}"] = self.affinity[:, j]
        for j in range(TASTE_DIM):
            creators[f"taste_{j}"] = self.creator_taste[:, j]
        for j in range(len(PROMOTION_FORMATS)):
            creators[f"format_{j}"] = self.format_weights[:, j]
        products = pd.DataFrame(
            {
                "product_id": self.product_ids,
                "category": self.category,
                "price": self.price,
                "appeal": self.appeal,
                "rating": self.rating,
                "base_rate": self.base_rate,
            }
        )
        for j in range(self.target.shape[1]):
            products[f"target_{j}"] = self.target[:, j]
        for j in range(TASTE_DIM):
            products[f"taste_{j}"] = self.product_taste[:, j]
        creators.to_parquet(out / "creators.parquet", index=False)
        products.to_parquet(out / "products.parquet", index=False)
        (out / "coefficients.json").write_text(json.dumps(asdict(self.coef), indent=2, sort_keys=True))
        if self.fake_engagement is not None:
            self.fake_engagement.save(out)
        if self.sample_propensity is not None:
            frame = pd.DataFrame({"creator_id": self.creator_ids, "propensity": self.sample_propensity})
            frame.to_parquet(out / PROPENSITY_FILE, index=False)

    @classmethod
    def load(cls, directory: Path) -> GroundTruth:
        src = directory / "ground_truth"
        if not src.is_dir():
            raise FileNotFoundError(f"{directory} has no ground_truth/ folder (only generated datasets have one)")
        creators = pd.read_parquet(src / "creators.parquet")
        products = pd.read_parquet(src / "products.parquet")
        coef = TruthCoefficients(**json.loads((src / "coefficients.json").read_text()))

        def block(frame: pd.DataFrame, prefix: str) -> np.ndarray:
            cols = sorted((c for c in frame.columns if c.startswith(prefix)), key=lambda c: int(c.rsplit("_", 1)[1]))
            return frame[cols].to_numpy(np.float64)

        return cls(
            creator_ids=creators["creator_id"].to_numpy(),
            avg_views=creators["avg_views"].to_numpy(np.float64),
            skill=creators["skill"].to_numpy(np.float64),
            audience=block(creators, "aud_"),
            affinity=block(creators, "affinity_"),
            creator_taste=block(creators, "taste_"),
            format_weights=block(creators, "format_"),
            product_ids=products["product_id"].to_numpy(),
            category=products["category"].to_numpy(np.int64),
            price=products["price"].to_numpy(np.float64),
            appeal=products["appeal"].to_numpy(np.float64),
            rating=products["rating"].to_numpy(np.float64),
            target=block(products, "target_"),
            product_taste=block(products, "taste_"),
            base_rate=products["base_rate"].to_numpy(np.float64),
            coef=coef,
            fake_engagement=FakeEngagement.load(src),
            sample_propensity=(
                pd.read_parquet(src / PROPENSITY_FILE)["propensity"].to_numpy(np.float64)
                if (src / PROPENSITY_FILE).is_file()
                else None
            ),
        )
