"""What the matcher shows about entities beyond their features: merchant, category, price, reach, region.

Aligned with a bundle's id maps (row i = the bundle's i-th product / creator); built from the store's current tables
(or any Marketplace), so a bundle trained yesterday shows today's prices and names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.core.schema import Marketplace
from recsys.core.vocab import Vocabulary


@dataclass
class Catalog:
    product_merchant: np.ndarray  # object
    product_category: np.ndarray  # object
    product_title: np.ndarray  # object
    product_price: np.ndarray  # float64
    creator_name: np.ndarray  # object
    creator_followers: np.ndarray  # int64
    creator_region: np.ndarray  # object
    _merchant_rows: dict[str, np.ndarray]

    @classmethod
    def build(cls, market: Marketplace, creators: Vocabulary, products: Vocabulary) -> Catalog:
        """Rows the marketplace lacks (entities removed since training) get empty values."""
        p = market.products.set_index("product_id").reindex(products.ids)
        c = market.creators.set_index("creator_id").reindex(creators.ids)
        merchant = p["merchant_id"].to_numpy(object)
        codes, merchants = pd.factorize(pd.Series(merchant, dtype=object).fillna(""))  # a groupby-apply: 2 s at 1M
        order = np.argsort(codes, kind="stable")  # each merchant's rows in row order
        groups = np.split(order, np.cumsum(np.bincount(codes, minlength=len(merchants)))[:-1]) if len(merchants) else []
        return cls(
            product_merchant=merchant,
            product_category=p["category"].to_numpy(object),
            product_title=p["title"].to_numpy(object),
            product_price=p["price"].to_numpy(np.float64),
            creator_name=c["name"].to_numpy(object),
            creator_followers=c["followers"].fillna(0).to_numpy(np.int64),
            creator_region=c["region"].to_numpy(object),
            _merchant_rows={str(k): v.astype(np.int64) for k, v in zip(merchants, groups, strict=True) if k},
        )

    def merchant_products(self, merchant_id: str) -> np.ndarray | None:
        """Product rows of a merchant (None for a merchant with no products in the bundle)."""
        return self._merchant_rows.get(merchant_id)
