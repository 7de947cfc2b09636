"""``GET /v1/admin/bundle``: the bundle being served, from its manifest (what the console's admin page shows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from serving.deps import AdminDep, StateDep
from serving.errors import responses
from serving.schemas.console import BundleInfo

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def _time(value: Any) -> datetime | None:
    """A manifest time as an aware datetime (the manifest writes naive UTC)."""
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed is not None and parsed.tzinfo is None else parsed


def feature_count(names: Any) -> int:
    """Feature names are a list, or a list per direction (the rankers' union is counted once)."""
    if isinstance(names, dict):
        return len({n for group in names.values() for n in group})
    return len(names or [])


@router.get("/bundle", response_model=BundleInfo, summary="The served bundle", responses=responses(401, 403, 503))
async def served_bundle(_admin: AdminDep, state: StateDep) -> BundleInfo:
    """Run id, training time, the data's 'now', seed, feature count and the validation metrics recorded in the
    bundle's manifest.

    Who may call: the admin key."""
    manifest = state.bundle.manifest
    return BundleInfo(
        model_run_id=state.run_id,
        created_at=_time(manifest.get("created_at")),
        data_now=_time(manifest.get("data_now")),
        seed=manifest.get("seed"),
        feature_count=feature_count(manifest.get("feature_names")),
        ranker_mode=manifest.get("ranker_mode"),
        metrics=manifest.get("metrics") or {},
    )
