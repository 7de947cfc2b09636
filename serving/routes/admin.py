"""``POST /v1/admin/reload``: switch to the newest bundle."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query

from models.bundle import BundleError
from serving.deps import AdminDep, ServiceDep
from serving.errors import ApiError, responses
from serving.schemas import ReloadResult

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post(
    "/reload",
    response_model=ReloadResult,
    summary="Load the newest bundle",
    responses=responses(401, 403, 409),
)
def reload_bundle(
    _admin: AdminDep,
    service: ServiceDep,
    force: Annotated[
        bool, Query(description="Load the bundle even when it is the one already served (a new state is built).")
    ] = False,
) -> ReloadResult:
    """Load the bundle `artifacts/current` names, verify it (format, file checksums, feature names), then swap
    atomically: requests in flight finish on the old model. A broken bundle is refused (409 with the reason) and
    the old one keeps serving. Other workers follow within a second. When the bundle named is the one already
    served (from an intact copy) and its files verify, nothing is loaded (`reloaded: false`); `force=true` loads it
    anyway.

    Who may call: the admin key."""
    started = time.perf_counter()
    try:
        previous, state, reloaded = service.reload(force)
    except BundleError as exc:
        message = f"the newest bundle was refused, the old one keeps serving: {exc}"
        raise ApiError(409, "bundle_refused", message) from exc
    return ReloadResult(
        model_run_id=state.run_id,
        previous_run_id=previous,
        changed=previous != state.run_id,
        reloaded=reloaded,
        seconds=round(time.perf_counter() - started, 3),
    )
