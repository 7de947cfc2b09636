"""Helpers of the console's browser tests: a page that may only reach 127.0.0.1, counts its API calls, checks
accessibility with axe-core and writes 1280×800 screenshots."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.console.conftest import AXE

VIEWPORT = {"width": 1280, "height": 800}
SERIOUS = ("serious", "critical")


@dataclass
class Session:
    """One browser tab on the console, with what it asked for."""

    page: Any
    base_url: str
    screenshots: Path
    api_calls: list[str] = field(default_factory=list)  # "METHOD /path" of each API request
    api_urls: list[str] = field(default_factory=list)  # the same requests' full URLs (query included)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions and CSP refusals in the page

    def open(self, fragment: str = "") -> None:
        self.page.goto(f"{self.base_url}/console/{fragment}")

    def sign_in(self, api_key: str) -> None:
        self.open()
        self.page.fill("#f-api_key", api_key)
        self.page.click("#sign-in button[type=submit]")
        self.page.wait_for_selector("#who:not(:empty)")

    def calls_during(self, action: Any, settle: str, state: str = "visible") -> list[str]:
        """The API calls one user action made: run ``action``, wait for ``settle`` (a selector), return them."""
        before = len(self.api_calls)
        action()
        self.page.wait_for_selector(settle, state=state)
        self.page.wait_for_load_state("networkidle")
        return self.api_calls[before:]

    def screenshot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def serious_violations(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not self.page.evaluate("() => Boolean(window.axe)"):
            # Evaluated over the DevTools protocol, not as a <script> tag: the console's CSP refuses inline scripts.
            self.page.evaluate(f"{AXE.read_text()}\n;true")
        return list(
            self.page.evaluate(
                """async (levels) => (await axe.run(document, {resultTypes: ['violations']})).violations
                   .filter((v) => levels.includes(v.impact))
                   .map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target)}))""",
                list(SERIOUS),
            )
        )

    def check_page(self, name: str) -> None:
        """Screenshot the page, then assert axe finds nothing serious on it."""
        self.screenshot(name)
        violations = self.serious_violations()
        assert violations == [], f"{name}: {violations}"


def new_session(browser: Any, base_url: str, screenshots: Path) -> Session:
    """A fresh context (own sessionStorage) whose page may only reach ``base_url``'s host: any other request is
    aborted and recorded."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()
    session = Session(page, base_url, screenshots)
    allowed = urlsplit(base_url).hostname

    def gate(route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host == allowed:
            route.continue_()
        else:
            session.blocked.append(url)
            route.abort()

    page.route("**/*", gate)
    api = re.compile(r"/v1/")

    def record(request: Any) -> None:
        if api.search(request.url):
            session.api_calls.append(f"{request.method} {urlsplit(request.url).path}")
            session.api_urls.append(request.url)

    page.on("request", record)
    page.on("pageerror", lambda error: session.page_errors.append(str(error)))
    page.on(
        "console",
        lambda message: session.page_errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return session
