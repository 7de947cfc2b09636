"""The embedded demo (``recsys demo`` / ``make run``): build once, then serve.

Steps, each skipped when already done, so a later run starts fast and an interrupted build is finished by the
next run:

1. generate a synthetic marketplace (``settings.demo`` sizes) into ``<data_dir>/demo_dataset`` (a marker file
   is written last; a folder without it is generated again);
2. import it into the store (one transaction: an interrupted import left nothing behind and simply runs again);
3. train the engine and save the bundle (written atomically; ``artifacts/current`` names it);
4. create an admin key, a merchant key and a creator key for a creator and a merchant that have
   recommendations, kept in ``<data_dir>/demo_keys.json`` — demo only: real keys are shown once and never
   stored in clear. The caller passes how to open the matcher the service will answer with
   (:data:`OpenMatcher`; the CLI passes ``serving.state``'s), so this module does not import ``serving``.
5. seed a few invitations and sample requests for the demo merchant and creator (:data:`SeedWorkflows`; the CLI
   passes ``serving.demo_workflows``'), once.

``<data_dir>/demo_state.json`` records what is done. ``--rebuild`` removes the demo folder, state, keys and the
embedded SQLite store, then builds again.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console

from recsys.core.config import Settings
from recsys.core.keys import create_key, find_key
from recsys.core.progress import stage
from recsys.core.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from models.matching.matcher import Matcher

    OpenMatcher = Callable[[Settings, Store], Matcher]
    """Opens the matcher the service will answer with, over the current bundle and ``store``."""
    SeedWorkflows = Callable[[Settings, Store, str, str], dict[str, object]]
    """Seeds invitations and sample requests for the demo merchant and creator (ids); returns what it seeded."""

MARKER = ".complete.json"
_console = Console(stderr=True)


@dataclass
class DemoKeys:
    admin: str
    merchant: str
    creator: str
    merchant_id: str
    creator_id: str


class DemoError(Exception):
    """The demo cannot be built as configured (message says why and what to do)."""


def dataset_dir(settings: Settings) -> Path:
    return settings.data_dir / "demo_dataset"


def keys_file(settings: Settings) -> Path:
    return settings.data_dir / "demo_keys.json"


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "demo_state.json"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _sqlite_file(settings: Settings) -> Path | None:
    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///"))
    return None


def wipe(settings: Settings) -> None:
    """Remove everything the demo built except trained bundles (a new one becomes current)."""
    db = _sqlite_file(settings)
    if db is None:
        raise DemoError("--rebuild only drops the embedded SQLite store; RECSYS_DATABASE_URL points elsewhere")
    shutil.rmtree(dataset_dir(settings), ignore_errors=True)
    for path in (state_file(settings), keys_file(settings), db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    shutil.rmtree(settings.quarantine_dir, ignore_errors=True)


def _generate(settings: Settings) -> bool:
    """Generate the demo dataset unless a complete one is there; True when it was (re)generated."""
    from recsys.core.synth import SynthConfig, generate, write_synthetic

    folder = dataset_dir(settings)
    if _read_json(folder / MARKER):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    as_of = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    demo = settings.demo
    config = SynthConfig.model_validate(
        {
            "creators": demo.creators,
            "products": demo.products,
            "promotions": demo.promotions,
            "seed": demo.seed,
            "as_of": as_of,
            "with_orders": demo.orders,
        }
    )
    with stage(f"demo 1/4: generating {config.creators:,} creators x {config.products:,} products"):
        sizes = write_synthetic(generate(config), folder)
    _write_json(folder / MARKER, {"as_of": as_of.isoformat(), "seed": config.seed, "sizes": sizes})
    return True


def _import(settings: Settings, store: Store, state: dict[str, Any]) -> None:
    from recsys.core.datasets.importer import import_dataset

    if state.get("imported"):
        return
    if store.count("creators"):  # an import is one transaction: rows here without our record are someone else's
        raise DemoError(
            f"the store ({settings.resolved_database_url}) already holds data that is not the demo's; "
            "serve it with `recsys serve`, or replace it with `recsys demo --rebuild`"
        )
    _console.print(f"demo 2/4: importing {dataset_dir(settings)} into the store")
    report = import_dataset(store, dataset_dir(settings), settings, progress=True)
    if report.quarantined:
        raise DemoError(f"the demo data had {report.quarantined} invalid rows (see {settings.quarantine_dir})")
    state["imported"] = True
    _write_json(state_file(settings), state)


def _bundle_ready(settings: Settings, run_id: str | None) -> bool:
    from models.bundle import BundleError, current_bundle_dir, incompatibility

    try:
        path = current_bundle_dir(settings.artifacts_dir)
    except BundleError:
        return False
    if run_id is None or path.name != run_id:
        return False
    problem = incompatibility(path)
    if problem is not None:  # trained by an older version of the code: train again on the same data
        _console.print(
            f"demo: the demo model cannot be served by this version ({problem}); training it again",
            soft_wrap=True,
            markup=False,
        )
        return False
    return True


def _train(settings: Settings, store: Store, state: dict[str, Any]) -> None:
    from models.bundle import save_bundle
    from models.training.train import train_engine

    if _bundle_ready(settings, state.get("run_id")):
        return
    with stage("demo 3/4: reading the store"):
        market = store.load_marketplace()
    _console.print("demo 3/4: training the models (a few minutes at the default demo size)")
    engine = train_engine(market, settings, settings.demo.seed)
    with stage("demo 3/4: saving the bundle"):
        path = save_bundle(engine, settings.artifacts_dir, market, settings.demo.seed, settings.model_dump(mode="json"))
    state["run_id"] = path.name
    _write_json(state_file(settings), state)


def _pick_ids(matcher: Matcher) -> tuple[str, str]:
    """An admitted creator with a product pool and a merchant with shop-level creators (deterministic)."""
    tables = matcher.engine.tables
    book = matcher.planbook
    creators = np.flatnonzero(book.admitted_creators) if book is not None else np.arange(len(tables.creators))
    creators = creators[np.argsort(-matcher.catalog.creator_followers[creators], kind="stable")]
    ids = [tables.creators.id(int(c)) for c in creators[:200]]
    creator = next((c for c in ids if matcher.recommend_products(c, 5)), None)
    admitted = book.admitted_products if book is not None else np.ones(len(tables.products), bool)
    merchants = [m for m in np.unique(matcher.catalog.product_merchant[admitted].astype(str))]
    counts = {m: int((matcher.catalog.product_merchant[admitted] == m).sum()) for m in merchants}
    ordered = sorted(merchants, key=lambda m: (-counts[m], m))
    merchant = next((m for m in ordered[:50] if matcher.recommend_creators_for_merchant(m, 5)), None)
    if creator is None or merchant is None:
        raise DemoError("no creator or merchant with recommendations in the demo data; try `recsys demo --rebuild`")
    return creator, merchant


def _keys(settings: Settings, store: Store, open_matcher: OpenMatcher) -> DemoKeys:
    saved = _read_json(keys_file(settings))
    fields = set(DemoKeys.__dataclass_fields__)
    if fields <= set(saved) and all(find_key(store, saved[r]) for r in ("admin", "merchant", "creator")):
        return DemoKeys(**{f: str(saved[f]) for f in fields})
    with stage("demo 4/4: creating demo keys"):
        creator_id, merchant_id = _pick_ids(open_matcher(settings, store))
        keys = DemoKeys(
            admin=create_key(store, "admin")[1],
            merchant=create_key(store, "merchant", merchant_id)[1],
            creator=create_key(store, "creator", creator_id)[1],
            merchant_id=merchant_id,
            creator_id=creator_id,
        )
    _write_json(keys_file(settings), {"note": "demo keys only; real keys are never stored in clear", **asdict(keys)})
    return keys


def _seed(settings: Settings, store: Store, state: dict[str, Any], keys: DemoKeys, seed: SeedWorkflows) -> None:
    if "workflows" in state:
        return
    with stage("demo: seeding invitations and sample requests"):
        state["workflows"] = seed(settings, store, keys.merchant_id, keys.creator_id)
    _write_json(state_file(settings), state)


def build_demo(
    settings: Settings,
    *,
    open_matcher: OpenMatcher,
    rebuild: bool = False,
    seed_workflows: SeedWorkflows | None = None,
) -> DemoKeys:
    """Build whatever of the demo is missing; returns the demo keys. ``open_matcher`` opens the matcher the
    service will answer with (used to pick the demo keys' creator and merchant); ``seed_workflows`` (the CLI
    passes ``serving.demo_workflows``') seeds invitations and sample requests once."""
    if rebuild:
        wipe(settings)
    if _generate(settings):
        state_file(settings).unlink(missing_ok=True)  # new data: import and train again
    store = Store.from_settings(settings)
    try:
        state = _read_json(state_file(settings))
        _import(settings, store, state)
        _train(settings, store, state)
        keys = _keys(settings, store, open_matcher)
        if seed_workflows is not None:
            _seed(settings, store, state, keys, seed_workflows)
        return keys
    finally:
        store.dispose()
