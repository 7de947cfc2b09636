"""The FastAPI application: ``create_app(settings)``; the store and the model open in the lifespan, never at import
(or, with ``recsys serve --workers N``, once in the process the workers are forked from: :mod:`serving.prefork`).

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


def check_settings(settings: Settings) -> None:
    """Raises ``ValueError`` for settings only the market simulation can act on."""
    if settings.matching.full_creators == "displace":  # it needs each open invitation's expected earnings
        raise ValueError(
            "matching.full_creators = 'displace' works in the market simulation only: the service does not know the "
            "expected earnings of open invitations; use 'keep' or 'hide' (docs/matching.md)"
        )


def open_service(settings: Settings, metrics: ServiceMetrics) -> Service:
    """The store opened and the current bundle loaded (a worker's start); without a bundle the service still starts
    and says why it is not ready."""
    store = Store.from_settings(settings)
    store.pin_file()  # a deleted store file is told from a new one at the same path (/readyz, every write)
    service = Service(settings, store, metrics, check_interval=settings.serving.refresh_seconds)
    service.start()
    return service


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """The service for ``settings`` (default: the process settings). ``service``: one already opened
    (:func:`open_service`) in the process this one was forked from; the lifespan then only catches up with the store
    (:meth:`Service.after_fork`) and stops it at the end. Raises ``ValueError`` for settings only the market
    simulation can act on."""
    settings = service.settings if service is not None else settings or get_settings()
    check_settings(settings)
    metrics = service.metrics if service is not None else ServiceMetrics()
    install_key_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_key_redaction()  # again at start: a logging config applied after create_app keeps it either way
        if service is None:
            live = await run_in_threadpool(open_service, settings, metrics)
            if settings.serving.warm_up_compliance:
                threading.Thread(target=compliance.warm_up, daemon=True, name="recsys-compliance-warm-up").start()
        else:  # loaded (and compliance warmed up) before this worker was forked
            live = service
            await run_in_threadpool(live.after_fork)
        app.state.service = live
        try:
            yield
        finally:
            await run_in_threadpool(live.stop)
            live.store.dispose()

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
