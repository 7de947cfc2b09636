"""The commission what-if against the real thing, on the demo marketplace: for 20 products on open plans, the
product's place in creators' pools predicted at +3 pt by ``POST /v1/products/{id}/what-if`` vs the place it really
gets once the rate is raised through ``PATCH /v1/plans/{id}``; and the what-if's latency.

    python -m bench.whatif_check                          # the demo of `recsys demo` in /work/scratch/demo
    python -m bench.whatif_check --demo DIR --products 20 --top-n 200 --check 25

Works on a private copy of the demo's store and artifacts (the store through SQLite's backup API), never on the
originals. The service runs in this process (FastAPI's TestClient); the real places are read through
``GET /v1/creators/{id}/products``, every page, after the edit. Of each product's ``--top-n`` examined creators the
first ``--check`` are checked (reading a 1,000-product pool page by page takes ~0.5 s). Figures, not a test: nothing
here fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from recsys.core.progress import make_progress

RAISE = 0.03
DEMO = Path("/work/scratch/demo")


def private_copy(demo: Path, root: Path) -> Any:
    """Settings for a copy of the demo's store and artifacts under ``root``."""
    from recsys.core.config import Settings

    shutil.copytree(demo / "artifacts", root / "artifacts")
    (root / "data").mkdir()
    source = sqlite3.connect(f"file:{demo / 'data' / 'recsys.db'}?mode=ro", uri=True)
    target = sqlite3.connect(root / "data" / "recsys.db")
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return Settings(data_dir=root / "data", artifacts_dir=root / "artifacts", runs_dir=root / "runs")


def open_plans(db: Path, commission_max: float, seed: int) -> list[tuple[str, str, float]]:
    """(plan_id, product_id, rate) of open plans that may rise 3 points, one per product, in a seeded order."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT plan_id, product_id, commission_rate FROM plans WHERE plan_type = 'open' "
            "AND commission_rate + ? <= ? ORDER BY plan_id",
            (RAISE, commission_max),
        ).fetchall()
    per_product = {p: (plan, p, float(rate)) for plan, p, rate in rows}
    chosen = list(per_product.values())
    np.random.default_rng(seed).shuffle(chosen)
    return chosen


def pool_place(client: Any, headers: dict[str, str], creator: str, product: str) -> int | None:
    """The product's 1-based place in the creator's whole pool, None when it is not listed."""
    place, cursor = 0, None
    while True:
        params: dict[str, Any] = {"k": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/creators/{creator}/products", params=params, headers=headers).json()
        for item in page["items"]:
            place += 1
            if item["product_id"] == product:
                return place
        cursor = page.get("next_cursor")
        if not cursor:
            return None


def run(demo: Path, n_products: int, top_n: int, check: int, seed: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from serving.app import create_app

    headers = {"X-API-Key": json.loads((demo / "data" / "demo_keys.json").read_text())["admin"]}
    with tempfile.TemporaryDirectory(prefix="whatif-check-") as tmp:
        settings = private_copy(demo, Path(tmp))
        plans = open_plans(settings.data_dir / "recsys.db", settings.rules.commission_max, seed)
        latencies: list[float] = []
        agree = examined = listed = moved = 0
        texts: list[str] = []
        with TestClient(create_app(settings)) as client, make_progress() as progress:
            task = progress.add_task("what-if vs real raise", total=n_products)
            for plan_id, product, rate in plans:
                if len(latencies) >= n_products:
                    break
                body = {"rate": round(rate + RAISE, 4), "plan_id": plan_id, "top_n": top_n}
                start = time.perf_counter()
                res = client.post(f"/v1/products/{product}/what-if", json=body, headers=headers)
                elapsed = time.perf_counter() - start
                if res.status_code != 200 or not res.json()["creators"]:
                    continue  # a product nobody is recommended for (merchant not admitted ...): not a case
                latencies.append(elapsed)
                answer = res.json()
                texts.append(f"{product}: {answer['summary']['text']}")
                edit = client.patch(f"/v1/plans/{plan_id}", json={"commission_rate": body["rate"]}, headers=headers)
                assert edit.status_code == 200, edit.text
                for c in answer["creators"][:check]:
                    real = pool_place(client, headers, c["creator_id"], product)
                    examined += 1
                    agree += real == c["rank_proposed"]
                    listed += real is not None
                    moved += c["rank_proposed"] != c["rank_today"]
                progress.advance(task)
    return {
        "products": len(latencies),
        "creators_checked": examined,
        "agreement": agree / max(examined, 1),
        "listed_after": listed,
        "places_moved": moved,
        "median_latency_s": statistics.median(latencies) if latencies else float("nan"),
        "max_latency_s": max(latencies, default=float("nan")),
        "examples": texts[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=DEMO, help="a folder built by `recsys demo` (data/, artifacts/)")
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--top-n", type=int, default=200, help="creators each what-if examines")
    parser.add_argument("--check", type=int, default=25, help="of those, creators whose real place is read")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    figures = run(args.demo, args.products, args.top_n, args.check, args.seed)
    print(f"products: {figures['products']}, creators checked: {figures['creators_checked']}")
    print(f"predicted place == real place after the raise: {figures['agreement']:.1%}")
    print(f"  (the product listed after the raise in {figures['listed_after']} of those pools; ", end="")
    print(f"the predicted place moved in {figures['places_moved']})")
    print(f"what-if latency (top_n={args.top_n}): median {figures['median_latency_s']:.2f} s, ", end="")
    print(f"max {figures['max_latency_s']:.2f} s")
    for line in figures["examples"]:
        print(" ", line)


if __name__ == "__main__":
    main()
