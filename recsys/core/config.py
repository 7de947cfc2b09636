"""Settings: defaults < ``recsys.toml`` < ``RECSYS_*`` environment variables.

Every tunable of the service lives here, typed and documented, so that a misspelled option is an error and not a
silent ``None``. Nested sections are set from the environment with a double underscore, e.g.
``RECSYS_RULES__AFTER_SALE_DAYS=7``; the TOML file uses tables, e.g. ``[rules]`` / ``after_sale_days = 7``.
The TOML file is ``./recsys.toml`` unless ``RECSYS_CONFIG`` names another.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RulesSettings(_Section):
    """Plan, admission, commission and settlement rules (platform defaults; see ``docs/rules.md``)."""

    commission_min: float = Field(0.01, ge=0, le=1, description="Lowest commission rate a plan may offer.")
    commission_max: float = Field(0.80, ge=0, le=1, description="Highest commission rate a plan may offer.")
    merchant_new_days: int = Field(
        60, ge=0, description="Merchants younger than this are exempt from the experience score."
    )
    experience_scale: Literal[100, 5] = Field(100, description="Scale of merchants.experience_score: 0–100 or 0–5.")
    experience_min_100: float = Field(70.0, ge=0, le=100, description="Admission bar, 0–100 scale (>=).")
    experience_min_5: float = Field(4.0, ge=0, le=5, description="Admission threshold, 0–5 scale (>=).")
    experience_warning_5: float = Field(3.8, ge=0, le=5, description="Warning below this (0–5 scale).")
    experience_closure_5: float = Field(3.5, ge=0, le=5, description="Access closed below this (0–5).")
    experience_warning_100: float = Field(
        65.0, ge=0, le=100, description="Warning below this (0–100 scale; our equivalent of 3.8/5)."
    )
    experience_closure_100: float = Field(
        60.0, ge=0, le=100, description="Alliance access closed below this (0–100; our equivalent of 3.5/5)."
    )
    good_review_rate_min: float = Field(0.80, ge=0, le=1, description="Good-review rate must be strictly above this.")
    serious_violations_max: int = Field(0, ge=0, description="Serious violations allowed in 90 days.")
    alliance_closures_max: int = Field(3, ge=1, description="This many alliance closures is a permanent ban.")
    require_real_name: bool = Field(True, description="Creators must be real-name verified to join a plan.")
    require_showcase: bool = Field(True, description="Creators must have their product showcase enabled.")
    require_deposit: bool = Field(True, description="Creators must have paid the deposit.")
    after_sale_days: int = Field(
        15, ge=7, le=15, description="After-sale window (days) before a commission is settleable."
    )
    withdrawal_min_balance: float = Field(100.0, ge=0, description="Settled balance needed to withdraw.")
    sample_cost_share: float = Field(
        0.5,
        ge=0,
        le=5,
        description="A sample's cost to the merchant as a share of the product's price (goods at cost), when the "
        "product states no sample_cost.",
    )
    sample_shipping: float = Field(
        8.0, ge=0, description="Shipping per sample (yuan), added when the product states no sample_cost."
    )
    stop_loss_min_views: int = Field(
        10_000, ge=0, description="Views needed before stop-loss may flag a collaboration."
    )
    stop_loss_gpm_ratio: float = Field(0.3, gt=0, le=1, description="Flag when realized GPM < ratio x predicted GPM.")
    earnings_blend: float = Field(
        0.3, ge=0, le=1, description="Weight of expected earnings (vs. fit) when ranking a creator's pool."
    )

    @model_validator(mode="after")
    def _experience_thresholds_ordered(self) -> RulesSettings:
        for scale, closure, warning, minimum in (
            (5, self.experience_closure_5, self.experience_warning_5, self.experience_min_5),
            (100, self.experience_closure_100, self.experience_warning_100, self.experience_min_100),
        ):
            if not closure <= warning <= minimum:
                raise ValueError(
                    f"rules: experience thresholds on the 0–{scale} scale need closure <= warning <= min, "
                    f"got {closure}, {warning}, {minimum}"
                )
        return self


class RetrievalSettings(_Section):
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
        "(measured at build) is below this is replaced by exact search.",
    )
    ivf_nlist: int | None = Field(None, ge=1, description="IVF lists; default sqrt(n).")
    ivf_nprobe: int = Field(16, ge=1, description="IVF lists searched per query (recall vs. speed).")
    hnsw_m: int = Field(32, ge=4, description="HNSW graph degree.")
    hnsw_ef_search: int = Field(128, ge=1, description="HNSW search breadth.")
    candidates: int = Field(1000, ge=1, description="Candidates retrieved per query before ranking.")
    overfetch: float = Field(2.0, ge=1.0, description="Initial over-fetch factor for filtered search.")
    cf_factors: int = Field(32, ge=0, description="Collaborative factors (0 disables the collaborative block).")
    faiss_threads: int = Field(1, ge=1, description="OpenMP threads per process for single queries.")
    distill_queries: int = Field(400, ge=10, description="Queries per direction sampled to distill the ranker.")
    recall_queries: int = Field(100, ge=1, description="Queries per direction for recall@k against exact ranking.")
    recall_k: int = Field(500, ge=1, description="Retrieval depth at which recall of the ranker's top-10 is measured.")


class RankerSettings(_Section):
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
    num_leaves: int = Field(31, ge=2, description="LightGBM leaves per tree (all models).")
    learning_rate: float = Field(0.05, gt=0, description="LightGBM learning rate (all models).")
    n_estimators: int = Field(600, ge=1, description="Most trees per model; early stopping usually ends sooner.")
    early_stopping_rounds: int = Field(50, ge=1, description="Stop when validation has not improved this long.")
    min_data_in_leaf: int = Field(20, ge=1, description="LightGBM minimum rows per leaf.")
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


class ServingSettings(_Section):
    """The HTTP service (``recsys serve``); see ``docs/serving.md``."""

    compiled_models: bool = Field(
        True, description="Serve LightGBM models as native code (lleaves; same scores, ~6x faster on 1,000 rows)."
    )
    warm_up_compliance: bool = Field(
        True,
        description="Load the compliance check's word dictionary (jieba) in the background at start, so the first "
        "task submission a worker checks does not wait ~1.5 s for it.",
    )
    mmap_bundle: bool = Field(
        True,
        description="Memory-map the bundle's feature tables, vectors and FAISS indexes: every worker shares one "
        "copy through the page cache instead of reading its own.",
    )
    snapshot_bundle: bool = Field(
        True,
        description="Serve from a copy of the bundle (artifacts/.serving/<run_id>.<hash>.<n>), verified as it is "
        "copied, so a bundle file changed or truncated later cannot reach a worker (one copy per bundle, shared by "
        "every worker and removed by its last holder).",
    )
    host: str = Field("127.0.0.1", description="Interface `recsys serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `recsys serve` listens on.")
    workers: int = Field(1, ge=1, description="uvicorn worker processes (one per core).")
    default_k: int = Field(20, ge=1, le=200, description="Items per page when a request gives no k.")
    max_k: int = Field(200, ge=1, description="Largest k a request may ask for.")
    max_score_pairs: int = Field(1000, ge=1, le=1000, description="Pairs per POST /v1/score call.")
    max_events: int = Field(1000, ge=1, le=1000, description="Events per POST /v1/events call.")
    max_list_depth: int = Field(
        1000, ge=1, description="How far cursors may page into a recommendation list (offset + k)."
    )
    max_body_bytes: int = Field(
        4_194_304,
        ge=1024,
        description="Largest request body (bytes), refused with 413 before it is read: 4 MiB holds the largest "
        "legal batch (1,000 events of up to ~4 KB each; 1,000 score pairs take ~60 KB).",
    )
    max_in_flight: int = Field(
        48,
        ge=0,
        description="Requests one worker takes at once (computing or waiting); beyond it 503 overloaded with "
        "Retry-After at once instead of a queue (probes and /v1/admin exempt; 0 = no bound). 48 x ~20 ms per "
        "request (the demo's measured ~50 req/s per worker) is ~1 s of queue.",
    )
    overload_retry_after_s: int = Field(
        1, ge=1, le=3600, description="Retry-After (seconds) of a 503 overloaded answer."
    )
    keepalive_requests: int = Field(
        100,
        ge=0,
        description="A keep-alive connection is closed (Connection: close) after this many requests, so clients "
        "reconnect and the kernel spreads them over the workers again (0 = never; like nginx's keepalive_requests).",
    )
    keepalive_seconds: float = Field(
        10.0,
        ge=0,
        description="A keep-alive connection is also closed once it has been open this long (seconds; 0 = never): "
        "a restarted worker gets its share of the traffic back within about this time.",
    )
    refresh_seconds: float = Field(
        1.0, gt=0, description="Each worker checks the store for plan edits and reloads at most this often."
    )
    tune_allocator: bool = Field(
        True,
        description="At worker start: at most 2 glibc malloc arenas, heap blocks of 256 KiB or more mapped on their "
        "own, and Arrow (pandas' strings) on the system allocator instead of its mimalloc pool, so the memory a "
        "reload frees goes back to the OS (python -m bench.reload_memory; MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ "
        "and ARROW_DEFAULT_MEMORY_POOL, when set, win).",
    )
    new_hit_days: int = Field(60, ge=1, description="rankings/new-hits: products listed within this many days.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", description="uvicorn log level."
    )


class MatchingSettings(_Section):
    """Matching the marketplace, not one query: new partners, capacity and exposure (see docs/matching.md)."""

    include_existing: bool = Field(
        False, description="Lists show existing collaborations (labelled) unless a request says otherwise."
    )
    capacity_nano: int = Field(3, ge=0, description="Default weekly new collaborations of a nano creator.")
    capacity_micro: int = Field(4, ge=0, description="Default weekly new collaborations of a micro creator.")
    capacity_mid: int = Field(5, ge=0, description="Default weekly new collaborations of a mid-tier creator.")
    capacity_macro: int = Field(8, ge=0, description="Default weekly new collaborations of a macro creator.")
    capacity_mega: int = Field(12, ge=0, description="Default weekly new collaborations of a mega creator.")
    capacity_days: int = Field(7, ge=1, description="Period a creator's capacity covers (its current load).")
    allocation: bool = Field(
        False,
        description="Solve the global allocation at load and reload; lists subtract its capacity prices (off: in "
        "the market simulation its prices still cost GMV, see docs/matching.md).",
    )
    allocation_activity: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of products expected to recruit in a period: the allocation sees creator capacities "
        "divided by it, so its prices reflect the competition a period really has (1 = every product at once).",
    )
    allocation_products_per_creator: int = Field(
        50, ge=1, description="Edges per creator in the allocation graph (its best retrieved products)."
    )
    allocation_creators_per_product: int = Field(
        20, ge=1, description="Edges per product in the allocation graph (its best retrieved creators)."
    )
    allocation_max_edges: int = Field(
        3_000_000, ge=1000, description="Cap on allocation graph edges (per-entity edges shrink to fit)."
    )
    exposure_decay: float = Field(
        0.5, ge=0, description="Creators in many lists this period: value x (1 + lists / mean)^-decay (0 = off)."
    )
    capacity_room: float = Field(
        1.0, ge=0, description="Creators with less capacity left: value x max(left / capacity, 0.05)^this (0 = off)."
    )
    exposure_depth: int = Field(
        200, ge=1, description="A creator is 'in' a product's list when retrieval ranks it this high for it."
    )
    full_creators: Literal["keep", "hide", "displace"] = Field(
        "keep",
        description="Creators with no capacity left after their pending invitations, in creator lists (for a "
        "product, for a shop): 'keep' (sunk by capacity_room), 'hide' (left out), 'displace' (no room penalty for "
        "an offer whose expected earnings beat the weakest pending one within their room, sunk otherwise; the market "
        "simulation only: the service refuses it).",
    )
    pending_invites: float = Field(
        1.0,
        ge=0,
        description="Each invitation a creator has not answered yet takes this much of its capacity left (0 = off).",
    )
    new_creator_boost: float = Field(
        0.3, ge=0, description="New and small creators (no sales history, nano or micro): value x (1 + boost)."
    )
    category_diversity: float = Field(
        0.15, ge=0, lt=1, description="A creator's pool: each earlier item of the same category x (1 - this)."
    )

    @classmethod
    def per_query(cls) -> MatchingSettings:
        """The matcher as it was before marketplace matching: existing partners shown, no prices, no exposure
        controls (a baseline in experiments)."""
        return cls(
            include_existing=True,
            allocation=False,
            exposure_decay=0.0,
            new_creator_boost=0.0,
            category_diversity=0.0,
            capacity_room=0.0,
            pending_invites=0.0,
        )

    def capacity_by_tier(self) -> dict[str, int]:
        """Default weekly capacity per fan tier (used where a creator has no ``weekly_capacity``)."""
        return {
            "nano": self.capacity_nano,
            "micro": self.capacity_micro,
            "mid": self.capacity_mid,
            "macro": self.capacity_macro,
            "mega": self.capacity_mega,
        }


class IntegritySettings(_Section):
    """Marketplace integrity: creators whose followers or views look bought (see docs/integrity.md)."""

    fake_contamination: float = Field(
        0.05,
        ge=0,
        lt=0.5,
        description="Share of creators the fake-engagement detector flags at training: the expected share who "
        "bought followers or views (0 = flag nobody).",
    )
    fake_penalty: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A flagged creator's list value x this (0 = to the bottom of every list, 1 = no penalty).",
    )


class DemoSettings(_Section):
    """The embedded demo (``recsys demo`` / ``make run``): synthetic marketplace sizes and seed."""

    creators: int = Field(2000, ge=10, description="Creators in the demo marketplace.")
    products: int = Field(8000, ge=10, description="Products in the demo marketplace.")
    promotions: int | None = Field(None, ge=0, description="Default: 50 per creator.")
    orders: bool = Field(
        False,
        description="Also write the orders table (one row per order: millions of rows; models read the "
        "promotions' order counts, so the demo leaves it out).",
    )
    seed: int = Field(7, description="Seed of the demo marketplace and its training.")


class Settings(BaseSettings):
    """All settings of the service. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="RECSYS_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/recsys.db. postgresql:// works too."
    )
    data_dir: Path = Field(Path("data"), description="Embedded store, quarantine and demo dataset live here.")
    artifacts_dir: Path = Field(
        Path("artifacts"), description="Trained bundles: artifacts/<run_id>/, artifacts/current."
    )
    runs_dir: Path = Field(Path("runs"), description="Offline experiment runs: runs/<run_id>/.")
    shared_data_dir: Path = Field(Path("../shared/data"), description="Public datasets (read only, never copied).")
    seed: int = Field(7, description="Seed of training and sampling when a command gets no --seed.")
    rules: RulesSettings = RulesSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    ranker: RankerSettings = RankerSettings()
    serving: ServingSettings = ServingSettings()
    matching: MatchingSettings = MatchingSettings()
    integrity: IntegritySettings = IntegritySettings()
    demo: DemoSettings = DemoSettings()

    @model_validator(mode="after")
    def _commission_bounds_ordered(self) -> Settings:
        if self.rules.commission_min > self.rules.commission_max:
            raise ValueError("rules.commission_min must not exceed rules.commission_max")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'recsys.db'}"

    @property
    def quarantine_dir(self) -> Path:
        """Quarantined rows are written next to the store."""
        url = self.resolved_database_url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            return Path(url.removeprefix("sqlite:///")).parent / "quarantine"
        return self.data_dir / "quarantine"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("RECSYS_CONFIG", "recsys.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings(...)`` instead)."""
    return Settings()


def settings_table(settings: BaseModel | None = None, prefix: str = "") -> list[tuple[str, str, str]]:
    """(name, default, description) of every setting, nested sections flattened (``rules.after_sale_days``).

    The README's configuration table is this list; a test keeps the two equal.
    """
    model = settings if settings is not None else Settings()
    rows: list[tuple[str, str, str]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            rows += settings_table(value, f"{prefix}{name}.")
        else:
            rows.append((f"{prefix}{name}", "none" if value is None else str(value), info.description or ""))
    return rows
