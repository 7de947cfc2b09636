"""Offline learning: FAISS candidate retrieval and the LightGBM models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from recsys.core.config_sections._base import Section


class RetrievalSettings(Section):
    """FAISS candidate retrieval."""

    index_type: Literal["auto", "flat", "ivf", "hnsw"] = Field(
        "auto", description="FAISS index: exact (flat), IVF or HNSW; auto = flat below exact_threshold rows, else IVF."
    )
    exact_threshold: int = Field(
        200_000,
        ge=1,
        description="With index_type=auto, exact search below this many items (100k x 111 dims: ~2 ms on one core).",
    )
    min_index_recall: float = Field(
        0.95,
        ge=0,
        le=1,
        description="With index_type=auto, an approximate index whose recall@candidates against exact search "
        "(measured at build) is below this is searched wider (IVF: up to ivf_max_nprobe lists), then replaced by "
        "exact search if still below.",
    )
    ivf_nlist: int | None = Field(None, ge=1, description="IVF lists; default sqrt(n).")
    ivf_nprobe: int = Field(16, ge=1, description="IVF lists searched per query (recall vs. speed).")
    ivf_max_nprobe: int = Field(
        128,
        ge=1,
        description="With index_type=auto, the most IVF lists a query may search when ivf_nprobe misses "
        "min_index_recall at build (x1.5 a step); the chosen count is saved with the index.",
    )
    ivf_codec: Literal["flat", "fp16"] = Field(
        "fp16",
        description="How IVF lists store the vectors: fp16 (half floats: half the index's memory; recall@500 at 1M "
        ".972 against .974) or flat (float32); bench/PROFILE.md.",
    )
    hnsw_m: int = Field(32, ge=4, description="HNSW graph degree.")
    hnsw_ef_search: int = Field(128, ge=1, description="HNSW search breadth.")
    candidates: int = Field(1000, ge=1, description="Candidates retrieved per query before ranking.")
    first_fetch: float = Field(
        1.5,
        ge=1.0,
        description="Rows the unfiltered search fetches first, × candidates; a fetch in which too few rows are "
        "eligible is repeated at `overfetch` (at 1M, 73–81% of fetched rows are eligible).",
    )
    overfetch: float = Field(
        2.0, ge=1.0, description="Over-fetch factor: the unfiltered search's largest fetch and the filtered search's."
    )
    cf_factors: int = Field(32, ge=0, description="Collaborative factors (0 disables the collaborative block).")
    faiss_threads: int = Field(1, ge=1, description="OpenMP threads per process for single queries.")
    distill_queries: int = Field(400, ge=10, description="Queries per direction sampled to distill the ranker.")
    prior_anchors: int = Field(
        8,
        ge=0,
        description="Anchor creators per category whose mean ranker score is each product's prior, a retrieval "
        "dimension (0: none). Build cost: this many ranker passes over the catalogue.",
    )
    recall_queries: int = Field(100, ge=1, description="Queries per direction for recall@k against exact ranking.")
    recall_k: int = Field(500, ge=1, description="Retrieval depth at which recall of the ranker's top-10 is measured.")

    @model_validator(mode="after")
    def _first_fetch_within_overfetch(self) -> RetrievalSettings:
        if self.first_fetch > self.overfetch:
            raise ValueError(
                f"retrieval: first_fetch ({self.first_fetch}) must not exceed overfetch ({self.overfetch}), the "
                "largest fetch"
            )
        return self


class RankerSettings(Section):
    """LightGBM models: fit ranker, GMV regressor and content distribution model."""

    relevance: Literal["gmv", "orders"] = Field("gmv", description="Realized outcome the rankers learn to order by.")
    relevance_resolution: float = Field(
        2.0,
        gt=0,
        description="Relevance grades per natural-log unit of the realized outcome: grade g stands for an outcome of "
        "expm1(g / resolution) and LightGBM's gain for it is that outcome (linear gains, like the evaluation).",
    )
    mode: Literal["shared", "per_direction"] = Field(
        "per_direction", description="One LambdaRank model per direction, or one shared by both."
    )
    num_leaves: int = Field(
        31, ge=2, description="LightGBM leaves per tree (rankers and content distribution model; see gmv_num_leaves)."
    )
    learning_rate: float = Field(0.05, gt=0, description="LightGBM learning rate (all models).")
    n_estimators: int = Field(600, ge=1, description="Most trees per model; early stopping usually ends sooner.")
    early_stopping_rounds: int = Field(50, ge=1, description="Stop when validation has not improved this long.")
    min_data_in_leaf: int = Field(
        20, ge=1, description="LightGBM minimum rows per leaf (rankers and content distribution model)."
    )
    gmv_pairs: Literal["new", "all"] = Field(
        "new",
        description="Pairs the GMV model learns from: new collaborations only (the pairs lists recommend by "
        "default), or every promoted pair.",
    )
    gmv_num_leaves: int = Field(15, ge=2, description="LightGBM leaves per tree of the GMV model.")
    gmv_min_data_in_leaf: int = Field(200, ge=1, description="LightGBM minimum rows per leaf of the GMV model.")
    valid_days: int = Field(30, ge=1, description="Last days of history held out for validation / early stopping.")
    label_days: int = Field(30, ge=1, description="Length of each training label window.")
    train_windows: int = Field(2, ge=1, description="Training label windows before the validation window.")
    max_train_rows: int = Field(
        1_000_000,
        ge=1000,
        description="Training rows per model (whole queries sampled, seeded, above it); half of "
        "it for early-stopping sets. Bounds training time on large marketplaces.",
    )
    max_query_size: int = Field(
        1000, ge=2, le=10_000, description="Candidates kept per training query (seeded sample above it)."
    )
    negatives_per_creator_query: int = Field(
        20, ge=0, description="Random unpromoted products added to each training creator query with relevance 0."
    )
    negatives_per_product_query: int = Field(
        0, ge=0, description="Random unpromoted creators added to each training product query with relevance 0."
    )
    history_dropout: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Share of training rows whose creator (and, independently, product) history is "
        "blanked so the models learn to judge newcomers.",
    )
    num_threads: int = Field(0, ge=0, description="LightGBM threads for training (0 = all cores).")
    cascade_trees: int = Field(
        64,
        ge=0,
        description="Creators for a product: the ranker's first trees score every candidate, and only the best "
        "cascade_keep get every tree; the rest follow them in the list (0 = every candidate gets every tree).",
    )
    cascade_keep: int = Field(
        400, ge=1, description="Candidates the cascade's first trees pass on to the whole ranker."
    )
