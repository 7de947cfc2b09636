"""The web console: static pages (``serving/console/static``) served at ``/console/``, a client of the public API.

``mount_console(app)`` adds, in this order:

- ``GET /`` -> 307 to ``/console/``;
- ``GET /console/vendor/{name}``: the few front-end files the console and ``/docs`` load, read from the npm
  packages ``make setup`` installs (``npm ci`` into ``node_modules``, pinned by ``package-lock.json``), so nothing
  third-party is copied into the repository and no page loads anything from a CDN;
- ``GET /docs``: Swagger UI on those local assets (the app is created with ``docs_url=None``);
- ``/console``: the static files (``index.html`` for ``/console/``).

The pages hold the API key in ``sessionStorage`` and send it in the ``X-API-Key`` header only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from serving.errors import ApiError

STATIC_DIR = Path(__file__).resolve().parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

VENDOR_FILES: dict[str, str] = {
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "favicon-32x32.png": "swagger-ui-dist/favicon-32x32.png",
}
"""Served name -> file under ``node_modules``: only these are reachable, never the whole folder."""


CONSOLE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""The console's pages load only from the service itself (no CDN, no inline script) and are never framed."""


class ConsoleFiles(StaticFiles):
    """StaticFiles with :data:`CONSOLE_HEADERS` on every answer."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(CONSOLE_HEADERS)
        return response


def vendor_path(name: str, node_modules: Path = NODE_MODULES) -> Path:
    """The installed file behind ``/console/vendor/{name}``; 404 for another name, 503 when not installed."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        raise ApiError(404, "not_found", f"unknown console asset {name!r}; known: {', '.join(sorted(VENDOR_FILES))}")
    path = node_modules / relative
    if not path.is_file():
        raise ApiError(503, "console_assets_missing", f"{relative} is not installed: run `make setup` (npm ci)")
    return path


def mount_console(app: FastAPI) -> None:
    """Add the redirect, the vendor assets, local Swagger UI and the console's static files to ``app``."""

    @app.get("/", include_in_schema=False)
    async def to_console() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    @app.get("/console/vendor/{name}", include_in_schema=False)
    async def console_vendor(name: str) -> FileResponse:
        return FileResponse(vendor_path(name), headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – API docs",
            swagger_js_url="/console/vendor/swagger-ui-bundle.js",
            swagger_css_url="/console/vendor/swagger-ui.css",
            swagger_favicon_url="/console/vendor/favicon-32x32.png",
        )

    app.mount("/console", ConsoleFiles(directory=STATIC_DIR, html=True), name="console")
