"""First paint of the console's creators-for-a-product page on a running service (issue 17: ≤ 1 s on the demo).

    python -m bench.console_paint --base-url http://127.0.0.1:8799 --keys DATA/demo_keys.json
    python -m bench.console_paint --base-url URL --keys FILE --products 5 --loads 2 --json out.json

Signs in to the console as the demo merchant in headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright), takes the first ``--products`` products of the merchant's "My products" page and loads each one's
"creators for a product" page ``--loads`` times (a full load each, from ``about:blank``; the key stays in the tab's
session storage).
Per load it reads from the Performance API (ms from navigation start): first contentful paint and
``console:cards``, the mark the page sets once the cards are in the DOM; and it checks that the page made one API
call for its cards and that the cards are the API's own answer (``GET /v1/products/{id}/creators``, same key), so
the figures are about real recommendations. The first load of a product is "cold" (the service computes the
product's creator list), later ones "warm". Figures, not a test: nothing here fails on a timing. The page may
only reach the service's host; any other request is aborted and reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000
PAINT = """() => ({fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
                   cards: performance.getEntriesByName('console:cards')[0]?.startTime ?? -1})"""


@dataclass
class Load:
    """One load of a product's creators page."""

    product_id: str
    load: int  # 1 = cold (first time the service is asked for this product)
    fcp_ms: float
    cards_ms: float
    cards: int
    api_calls: list[str]
    first_cards: list[str]  # "creator_id name ¥GMV" of the first three cards, as shown
    creator_ids: list[str]  # every card's creator, in page order
    matches_api: bool = False  # the cards' creator ids are the API's items, in order (checked after the load)


@dataclass
class Tab:
    """A browser tab that may only reach the service's host, recording its API calls."""

    page: Any
    base_url: str
    calls: list[str]
    blocked: list[str]


def open_tab(browser: Any, base_url: str) -> Tab:
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    tab = Tab(page, base_url, [], [])
    host = urlsplit(base_url).hostname

    def gate(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == host:
            route.continue_()
        else:
            tab.blocked.append(url)
            route.abort()

    page.route("**/*", gate)
    page.on("request", lambda r: tab.calls.append(f"{r.method} {urlsplit(r.url).path}") if "/v1/" in r.url else None)
    return tab


def sign_in(tab: Tab, key: str) -> list[str]:
    """Sign in on the console; the merchant's product ids as its "My products" page lists them."""
    page = tab.page
    page.goto(f"{tab.base_url}/console/")
    page.fill("#f-api_key", key)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#products-table tr[data-product]")
    return [
        str(p)
        for p in page.eval_on_selector_all("#products-table tr[data-product]", "rs => rs.map(r => r.dataset.product)")
    ]


def api_creators(base_url: str, key: str, product_id: str) -> list[str]:
    """The creator ids the API answers for the product's first page (what the cards must show)."""
    res = httpx.get(f"{base_url}/v1/products/{product_id}/creators", headers={"X-API-Key": key}, timeout=60)
    res.raise_for_status()
    return [str(item["creator_id"]) for item in res.json()["items"]]


def load_once(tab: Tab, product_id: str, load: int) -> Load:
    page = tab.page
    page.goto("about:blank")  # then a full load of the page (the key stays in the tab's session storage)
    before = len(tab.calls)
    page.goto(f"{tab.base_url}/console/#/merchant/products/{product_id}/creators")
    page.wait_for_function("() => performance.getEntriesByName('console:cards').length > 0")
    page.wait_for_load_state("networkidle")
    figures = page.evaluate(PAINT)
    ids = [str(c) for c in page.eval_on_selector_all(".creator-card", "cs => cs.map(c => c.dataset.creator)")]
    shown = page.eval_on_selector_all(
        ".creator-card",
        """cs => cs.slice(0, 3).map(c => `${c.dataset.creator} ${c.querySelector('h2').innerText} `
             + c.querySelector('.figures dd').innerText.split(' ')[0])""",
    )
    return Load(
        product_id=product_id,
        load=load,
        fcp_ms=round(float(figures["fcp"]), 1),
        cards_ms=round(float(figures["cards"]), 1),
        cards=len(ids),
        api_calls=tab.calls[before:],
        first_cards=[str(s) for s in shown],
        creator_ids=ids,
    )


def median(loads: list[Load], field: str) -> float:
    return round(statistics.median(getattr(x, field) for x in loads), 1) if loads else float("nan")


def run(base_url: str, key: str, n_products: int, loads: int, chromium: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: list[Load] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            tab = open_tab(browser, base_url)
            products = sign_in(tab, key)[:n_products]
            for product_id in products:
                for i in range(1, loads + 1):
                    done = load_once(tab, product_id, i)
                    done.matches_api = done.cards > 0 and done.creator_ids == api_creators(base_url, key, product_id)
                    results.append(done)
            blocked = tab.blocked
        finally:
            browser.close()
    cold = [r for r in results if r.load == 1]
    warm = [r for r in results if r.load > 1]
    return {
        "base_url": base_url,
        "products": [r.product_id for r in cold],
        "median_cold": {"fcp_ms": median(cold, "fcp_ms"), "cards_ms": median(cold, "cards_ms")},
        "median_warm": {"fcp_ms": median(warm, "fcp_ms"), "cards_ms": median(warm, "cards_ms")},
        "one_call_per_load": all(
            r.api_calls == ["GET /v1/me", f"GET /v1/products/{r.product_id}/creators"] for r in results
        ),
        "cards_match_api": all(r.matches_api for r in results),
        "blocked_requests": blocked,
        "loads": [asdict(r) for r in results],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="the running service, e.g. http://127.0.0.1:8799")
    parser.add_argument("--keys", type=Path, required=True, help="demo_keys.json (its 'merchant' key is used)")
    parser.add_argument("--products", type=int, default=5, help="products of the merchant to load (default 5)")
    parser.add_argument("--loads", type=int, default=2, help="loads per product; the first is cold (default 2)")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    key = json.loads(args.keys.read_text())["merchant"]
    report = run(args.base_url.rstrip("/"), key, args.products, args.loads, args.chromium)
    for r in report["loads"]:
        print(
            f"{r['product_id']} load {r['load']}: first contentful paint {r['fcp_ms']:.0f} ms, cards "
            f"{r['cards_ms']:.0f} ms ({r['cards']} cards; first: {'; '.join(r['first_cards'])})"
        )
    print(f"median cold: {report['median_cold']}  median warm: {report['median_warm']}")
    print(
        f"one API call per load: {report['one_call_per_load']}; cards = API answer: {report['cards_match_api']}; "
        f"requests blocked (not to the service): {len(report['blocked_requests'])}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
