"""``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (no key needed: for load balancers and Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from serving.deps import ServiceDep
from serving.errors import ApiError, responses
from serving.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process is up (it may still have no model; see /readyz)."""
    return Health()


@router.get("/readyz", response_model=Readiness, summary="Readiness", responses=responses(503))
async def readyz(service: ServiceDep) -> Readiness:
    """Ready when the store is the one the service opened (and answers) and a model is loaded; otherwise 503 with
    one sentence saying why (e.g. no trained bundle yet, the store file was deleted)."""
    fault = service.store.file_fault() if service.store.is_file else await run_in_threadpool(service.store.fault)
    if fault is not None:
        raise ApiError(503, "store_unavailable", f"not ready: {fault}")
    service.maybe_refresh()
    state = service.current
    if state is None:
        raise ApiError(503, "model_not_loaded", f"not ready: {service.not_ready_reason}")
    if service.guard.problem is not None:  # the served bundle is damaged or the live one was refused here
        raise ApiError(503, "bundle_fault", f"not ready: {service.guard.problem}")
    tables = state.bundle.engine.tables
    book = state.matcher.planbook
    return Readiness(
        model_run_id=state.run_id,
        store_revision=state.revision,
        creators=len(tables.creators),
        products=len(tables.products),
        plans=book.n_plans if book is not None else 0,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"example": "recsys_http_requests_total{...} 12.0"}},
            "description": "Prometheus text exposition format",
        }
    },
)
def metrics(service: ServiceDep) -> Response:
    """Request counts and latency histograms per route template, model version, index and feature table sizes."""
    body, content_type = service.metrics.render()
    return Response(content=body, media_type=content_type)
