"""The web console in headless Chromium against a real uvicorn server on the tiny test marketplace.

The merchant flow (sign in, filter, open a creator card, invite, exclude, plans with rule errors), the creator flow
(sign in, filter the pool, accept the invitation, request a sample), wrong-role keys, the admin page; on every
page an axe-core check and a 1280×800 screenshot; no request may leave 127.0.0.1; one API call per user action.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.console.browser import Session, new_session

pytestmark = pytest.mark.slow


@pytest.fixture
def session(browser, live_server, screenshot_dir) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    tab = new_session(browser, live_server.base_url, screenshot_dir)
    yield tab
    tab.page.context.close()
    assert tab.blocked == [], f"requests left 127.0.0.1: {tab.blocked}"
    assert tab.page_errors == [], f"errors in the page: {tab.page_errors}"


def _first_paint(session: Session, product: str) -> dict[str, float]:
    """Reload the creators-for-a-product page and read the Performance API (ms from navigation start)."""
    session.open(f"#/merchant/products/{product}/creators")
    calls = session.calls_during(session.page.reload, ".creator-card")  # a fresh load; the key stays in the tab
    assert calls == ["GET /v1/me", f"GET /v1/products/{product}/creators"], calls
    figures = session.page.evaluate(
        """() => ({fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
                   cards: performance.getEntriesByName('console:cards')[0]?.startTime ?? -1})"""
    )
    print(
        f"\ncreators-for-a-product page: first contentful paint {figures['fcp']:.0f} ms, "
        f"cards shown {figures['cards']:.0f} ms ({session.page.locator('.creator-card').count()} cards)"
    )
    return figures


def test_merchant_finds_filters_opens_and_invites_creators(session: Session, env, screenshot_dir) -> None:  # type: ignore[no-untyped-def]
    world, page = env.world, session.page
    session.open()
    session.check_page("01-sign-in")
    session.sign_in(env.world.keys["merchant"])
    page.wait_for_selector(f"#products-table tr[data-product='{world.product}']")
    session.check_page("02-merchant-products")

    calls = session.calls_during(
        lambda: page.click(f"tr[data-product='{world.product}'] a.button"), "#creator-cards .creator-card"
    )
    assert calls == [f"GET /v1/products/{world.product}/creators"]
    _first_paint(session, world.product)

    page.select_option("#f-sort", "roi")
    page.fill("#f-followers_min", "1")
    calls = session.calls_during(lambda: page.click("#creator-filters button[type=submit]"), ".creator-card")
    assert len(calls) == 1 and "sort=roi" in session.api_urls[-1] and "followers_min=1" in session.api_urls[-1]
    cards = page.locator(".creator-card")
    assert cards.count() >= 2
    first = cards.nth(0)
    creator = first.get_attribute("data-creator")
    assert first.locator(".figures").inner_text().count("¥") >= 3  # GMV with its interval, cost, sample

    calls = session.calls_during(
        lambda: first.get_by_role("button", name="Audience vs target").click(), "figure.chart canvas"
    )
    assert calls == [f"GET /v1/products/{world.product}/audience"]
    session.check_page("03-merchant-creators-for-a-product")
    first.locator("figure.chart").scroll_into_view_if_needed()
    session.screenshot("03b-merchant-creator-card-audience")

    calls = session.calls_during(
        lambda: first.get_by_role("button", name="GMV trend").click(), f"#trend-{creator} figure.chart canvas"
    )
    assert calls == [f"GET /v1/creators/{creator}/gmv-trend"] and "days=90" in session.api_urls[-1]
    assert "GMV per day, last 90 days" in first.locator(f"#trend-{creator} figcaption").inner_text()
    first.get_by_role("button", name="GMV trend").click()  # closing it makes no call

    first.get_by_role("button", name="Invite").click()
    first.locator("input[name=commission_rate]").fill("0.95")  # above the platform's bound: refused by the rules
    calls = session.calls_during(
        lambda: first.get_by_role("button", name="Send invitation").click(), ".inline-form .status-error"
    )
    assert len(calls) == 1 and first.locator(".field-error").inner_text().strip() != ""
    first.locator("input[name=commission_rate]").fill("0.3")
    calls = session.calls_during(
        lambda: first.get_by_role("button", name="Send invitation").click(), ".creator-card.invited"
    )
    assert calls == [f"POST /v1/products/{world.product}/invites"]

    second = cards.nth(1).get_attribute("data-creator")
    calls = session.calls_during(
        lambda: cards.nth(1).get_by_role("button", name="Exclude").click(), "#creator-cards .creator-card"
    )
    assert len(calls) == 1 and f"exclude={second}" in session.api_urls[-1]
    page.wait_for_function(f"() => !document.querySelector(\"[data-creator='{second}']\")")

    session.calls_during(
        lambda: page.click("a[href='#/merchant/invites']"), f"#f-product option[value='{world.product}']", "attached"
    )
    page.select_option("#f-product", world.product)
    calls = session.calls_during(lambda: page.click("form[aria-label='Choose a product'] button"), "#invites-table")
    assert calls == [f"GET /v1/products/{world.product}/invites"]
    assert page.locator(f"#invites-table tr:has-text('{creator}')").count() == 1
    session.check_page("04-merchant-invitations")

    session.calls_during(lambda: page.click("a[href='#/merchant/shop']"), ".creator-card")
    session.check_page("05-merchant-shop-creators")


def test_merchant_plans_show_rule_errors_next_to_the_field(session: Session, env) -> None:  # type: ignore[no-untyped-def]
    world, page = env.world, session.page
    session.sign_in(world.keys["merchant"])
    session.calls_during(lambda: page.click("a[href='#/merchant/plans']"), "#plans-table tbody tr")
    page.click("#new-plan")
    page.fill("#f-product_id", world.product)
    page.select_option("#f-plan_type", "targeted")
    page.fill("#f-commission_rate", "0.2")
    calls = session.calls_during(lambda: page.click("#plan-form button[type=submit]"), "#plan-form .status-error")
    assert calls == ["POST /v1/plans"]
    assert "list the creators" in page.inner_text("#f-creator_ids-error")
    session.check_page("06-merchant-plan-refused")
    page.fill("#f-creator_ids", world.creator)
    calls = session.calls_during(
        lambda: page.click("#plan-form button[type=submit]"), "#plan-form .status:has-text('Saved plan')"
    )
    assert calls == ["POST /v1/plans"] and page.inner_text("#f-creator_ids-error") == ""
    plan_id = page.inner_text("#plan-form .status").split()[-1].rstrip(".")
    assert page.locator(f"tr[data-plan='{plan_id}']:has-text('targeted')").count() == 1
    page.click(f"tr[data-plan='{plan_id}'] button")
    page.fill("#f-commission_rate", "0.25")
    calls = session.calls_during(
        lambda: page.click("#plan-form button[type=submit]"), f"tr[data-plan='{plan_id}']:has-text('25.0%')"
    )
    assert calls == [f"PATCH /v1/plans/{plan_id}"]


def test_merchant_what_if_alerts_statement_and_lookalikes(session: Session, env) -> None:  # type: ignore[no-untyped-def]
    world, page = env.world, session.page
    session.sign_in(world.keys["merchant"])
    session.calls_during(
        lambda: page.click(f"tr[data-product='{world.product}'] a:has-text('What-if')"), "#whatif-form"
    )
    page.locator("#f-rate").fill("0.35")
    assert page.inner_text("#rate-shown") == "35.0%"
    calls = session.calls_during(lambda: page.click("#whatif-form button[type=submit]"), "#rank-chart canvas")
    assert calls == [f"POST /v1/products/{world.product}/what-if"]
    assert "35.0%" in page.inner_text("#whatif-summary")
    session.check_page("12-merchant-what-if")
    for name, selector in (
        ("alerts", "#alerts-table"),
        ("statement", "#statement-totals"),
        ("lookalikes", "#lookalikes-table"),
    ):
        calls = session.calls_during(lambda n=name: page.click(f"nav a[href='#/merchant/{n}']"), selector)
        assert len(calls) == 1 and calls[0].startswith(f"GET /v1/merchants/{world.merchant}/"), calls
        session.check_page(f"13-merchant-{name}")


def _invite(base_url: str, env: Any) -> str:
    """A pending invitation of the world's creator (set up through the API, as the merchant)."""
    answer = httpx.post(
        f"{base_url}/v1/products/{env.world.product}/invites",
        json={"creator_ids": [env.world.creator], "commission_rate": 0.33},
        headers={"X-API-Key": env.world.keys["merchant"]},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["items"][0]["invite_id"])


def test_creator_filters_the_pool_accepts_an_invite_and_requests_a_sample(session: Session, env, live_server) -> None:  # type: ignore[no-untyped-def]
    world, page = env.world, session.page
    invite_id = _invite(live_server.base_url, env)
    session.sign_in(world.keys["creator"])
    page.wait_for_selector("#product-cards .product-card")
    page.fill("#f-min_commission", "0.05")
    calls = session.calls_during(lambda: page.click("#pool-filters button[type=submit]"), ".product-card")
    assert len(calls) == 1 and calls[0] == f"GET /v1/creators/{world.creator}/products"
    rates = page.locator(".product-card .figure:has-text('Commission') dd").all_inner_texts()
    assert rates and all(float(r.split("%")[0]) >= 5 for r in rates)
    session.check_page("07-creator-pool")

    session.calls_during(lambda: page.click("a[href='#/creator/invites']"), f"tr[data-invite='{invite_id}']")
    calls = session.calls_during(
        lambda: page.get_by_role("button", name=f"Accept {invite_id}").click(),
        f"tr[data-invite='{invite_id}']:has-text('accepted')",
    )
    assert calls == [f"POST /v1/invites/{invite_id}/accept"]
    session.check_page("08-creator-invitations")

    session.calls_during(lambda: page.click("a[href='#/creator/pool']"), ".product-card")
    card = page.locator(".product-card").nth(0)
    product = card.get_attribute("data-product")
    card.get_by_role("button", name="Request a sample").click()
    card.locator("input[name=note]").fill("for a live stream")
    calls = session.calls_during(
        lambda: card.get_by_role("button", name="Send request").click(),
        ".product-card .inline-form .status:has-text('Sample requested')",
    )
    assert calls == [f"POST /v1/products/{product}/sample-requests"]

    session.calls_during(lambda: page.click("a[href='#/creator/samples']"), "#samples-table tbody tr")
    assert page.locator(f"#samples-table tr:has-text('{product}')").count() >= 1
    session.check_page("09-creator-samples")

    calls = session.calls_during(lambda: page.click("a[href='#/creator/statement']"), "#balance")
    assert calls == [f"GET /v1/creators/{world.creator}/statement"]
    session.check_page("14-creator-statement")
    session.calls_during(lambda: page.click("a[href='#/creator/similar']"), "#lookalikes-table")
    session.check_page("15-creator-similar")


def test_wrong_role_keys_reach_neither_pages_nor_data(session: Session, env, live_server) -> None:  # type: ignore[no-untyped-def]
    world, page = env.world, session.page
    session.open()
    page.fill("#f-api_key", "rk_nobody.not-a-key")
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#sign-in .status-error")
    assert "not an active API key" in page.inner_text("#sign-in .status-error")
    assert page.evaluate("() => sessionStorage.length") == 0 and "rk_" not in page.url
    session.sign_in(world.keys["creator"])
    calls = session.calls_during(lambda: session.page.evaluate("location.hash = '#/merchant/products'"), "#wrong-role")
    assert calls == []
    session.check_page("10-wrong-role")
    status = page.evaluate(
        """async (path) => (await fetch(path,
               {headers: {'X-API-Key': sessionStorage.getItem('recsys.console.apiKey')}})).status""",
        f"/v1/products/{world.product}/creators",
    )
    assert status == 403
    page.evaluate("location.hash = '#/admin/bundle'")
    page.wait_for_selector("#wrong-role")
    assert world.keys["creator"] not in page.url


def test_admin_sees_the_bundle_and_merchant_cannot(session: Session, env) -> None:  # type: ignore[no-untyped-def]
    world, page = env.world, session.page
    session.sign_in(world.keys["admin"])
    page.wait_for_selector("#metrics-table tbody tr")
    assert page.locator("#bundle .figure:has-text('Features') dd").inner_text() != "0"
    calls = session.calls_during(lambda: page.click("#reload"), ".status:has-text('Serving')")
    assert calls == ["POST /v1/admin/reload"]
    session.check_page("11-admin-bundle")
    calls = session.calls_during(lambda: page.click("a[href='#/admin/experiments']"), "#experiments")
    assert calls == ["GET /v1/admin/experiments"]
    session.check_page("16-admin-experiments")
    session.page.click("#sign-out")
    session.sign_in(world.keys["merchant"])
    session.page.evaluate("location.hash = '#/admin/bundle'")
    page.wait_for_selector("#wrong-role")
    assert (
        page.evaluate(
            "() => fetch('/v1/admin/bundle', {headers: {'X-API-Key': sessionStorage.getItem("
            "'recsys.console.apiKey')}}).then((r) => r.status)"
        )
        == 403
    )
