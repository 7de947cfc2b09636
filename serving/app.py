"""The FastAPI application: ``create_app(settings)``; the store and the model open in the lifespan, never at import.

``uvicorn serving.app:create_app --factory`` (or ``recsys serve``) runs it with the process settings.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from recsys.core import compliance
from recsys.core.config import Settings, get_settings
from recsys.core.store import Store
from serving.admission import Admission
from serving.console import mount_console
from serving.deps import reject_unknown_query
from serving.errors import install_error_handlers
from serving.limits import RequestLimits
from serving.log_redaction import install_key_redaction
from serving.routes import ROUTERS
from serving.runtime import Service
from serving.telemetry import MetricsMiddleware, ServiceMetrics

DESCRIPTION = """
Creator–product matchmaking for a CPS affiliate marketplace: product pools for creators, creators for merchants,
pair scores, public hot lists, merchant-owned promotion plans and event ingestion.

**Keys.** Send your key in the `X-API-Key` header. Admin keys may call everything; a merchant key acts for one
merchant (its plans, creators for its products); a creator key for one creator (its product pool, plans offered to
it, its own pair scores). 401 without a valid key, 403 for another tenant's resource; a plan a creator may not see
answers 404 exactly like an unknown plan.

**Errors** always look like `{"error": {"code", "message", "details"}}`.
"""

TAGS = [
    {"name": "creators", "description": "A creator's product pool."},
    {"name": "products", "description": "Creators for a product."},
    {"name": "merchants", "description": "Shop-level creators and a merchant's plans."},
    {"name": "score", "description": "Explicit pairs."},
    {"name": "rankings", "description": "Public hot lists."},
    {"name": "plans", "description": "Merchant-owned promotion plans, validated by the plan rules."},
    {"name": "invites", "description": "Invitations to targeted plans; accepting starts a collaboration."},
    {"name": "samples", "description": "Sample requests: request, approve or reject, ship, report the content."},
    {"name": "statements", "description": "Commission statements (creator, merchant) and creator withdrawals."},
    {"name": "tasks", "description": "Tasks: briefs, invitations and applications, deliverables, content review."},
    {"name": "events", "description": "Promotion and order events (admin)."},
    {"name": "experiments", "description": "A/B experiments of bundles and settings (admin key)."},
    {"name": "admin", "description": "Operations (admin key)."},
    {"name": "me", "description": "Who a key is: its role and tenant (the web console reads it)."},
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics (no key)."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service for ``settings`` (default: the process settings). Raises ``ValueError`` for settings only the
    market simulation can act on."""
    settings = settings or get_settings()
    if settings.matching.full_creators == "displace":  # it needs each open invitation's expected earnings
        raise ValueError(
            "matching.full_creators = 'displace' works in the market simulation only: the service does not know the "
            "expected earnings of open invitations; use 'keep' or 'hide' (docs/matching.md)"
        )
    metrics = ServiceMetrics()
    install_key_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_key_redaction()  # again at start: a logging config applied after create_app keeps it either way
        store = Store.from_settings(settings)
        store.pin_file()  # a deleted store file is told from a new one at the same path (/readyz, every write)
        service = Service(settings, store, metrics, check_interval=settings.serving.refresh_seconds)
        app.state.service = service
        await run_in_threadpool(service.start)
        if settings.serving.warm_up_compliance:
            threading.Thread(target=compliance.warm_up, daemon=True, name="recsys-compliance-warm-up").start()
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)
            store.dispose()

    app = FastAPI(
        title="recsys-match",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
        docs_url=None,  # served by mount_console on local Swagger assets (no CDN)
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app)
    app.add_middleware(RequestLimits, max_body_bytes=settings.serving.max_body_bytes)
    app.add_middleware(
        Admission,
        max_in_flight=settings.serving.max_in_flight,
        retry_after_s=settings.serving.overload_retry_after_s,
        keepalive_requests=settings.serving.keepalive_requests,
        keepalive_seconds=settings.serving.keepalive_seconds,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
