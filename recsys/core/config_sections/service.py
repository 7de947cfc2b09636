"""Running the product: the HTTP service and the embedded demo."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from recsys.core.config_sections._base import Section


class ServingSettings(Section):
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
        "every worker and removed by its last holder, but the current bundle's: serving.keep_snapshot).",
    )
    keep_snapshot: bool = Field(
        True,
        description="Keep the current bundle's verified copy (artifacts/.serving/) when the last worker stops, so the "
        "next start maps it instead of copying and hashing the bundle again (7.7 s at 1M products); it takes the "
        "bundle's disk space (1.9 GiB at 1M) and is removed at a start once another bundle is current.",
    )
    market_snapshot: bool = Field(
        True,
        description="Read the store's merchants, products, creators, plans and recent promotions from a columnar "
        "snapshot (artifacts/.market/) plus the rows written since, instead of every row at each worker start and "
        "re-assembly; the first full read writes it (docs/serving.md).",
    )
    market_snapshot_rewrite: float = Field(
        0.05,
        ge=0,
        description="A new market snapshot is written when more rows than this share of the snapshot's were written "
        "since it (read on top of it at every start until then).",
    )
    host: str = Field("127.0.0.1", description="Interface `recsys serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `recsys serve` listens on.")
    workers: int = Field(1, ge=1, description="uvicorn worker processes (one per core).")
    prefork: bool = Field(
        True,
        description="With more than one worker: load the bundle and the store's market once, then fork the workers "
        "from that process (gunicorn's pre-fork arbiter), so they share its memory copy-on-write and start together; "
        "false: each worker loads its own (uvicorn's supervisor).",
    )
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
    release_library_code: bool = Field(
        True,
        description="After loading a bundle (and in the master before forking workers), drop the resident pages of "
        "shared-library code the load ran (LLVM, Arrow...); a process faults back in, from the page cache, only "
        "the code its requests run (1M bench: 2 workers' PSS -60 MiB). Only code pages nothing has written to.",
    )
    new_hit_days: int = Field(60, ge=1, description="rankings/new-hits: products listed within this many days.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", description="uvicorn log level."
    )


class DemoSettings(Section):
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
