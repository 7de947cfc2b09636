"""Health, readiness and reload answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from serving.schemas.common import PublicModel, examples


class Health(PublicModel):
    status: Literal["ok"] = "ok"

    model_config = examples({"status": "ok"})


class Readiness(PublicModel):
    status: Literal["ready"] = "ready"
    model_run_id: str
    store_revision: int = Field(description="The store revision the matcher has caught up with.")
    creators: int
    products: int
    plans: int

    model_config = examples(
        {
            "status": "ready",
            "model_run_id": "20260630-101500-ab12cd34-s7",
            "store_revision": 4,
            "creators": 2000,
            "products": 8000,
            "plans": 9100,
        }
    )


class ReloadResult(PublicModel):
    model_run_id: str = Field(description="The bundle now served.")
    previous_run_id: str | None
    changed: bool = Field(description="False when the newest bundle is the one already served.")
    reloaded: bool = Field(
        description="Whether a new state was built: false when the bundle named is the one already served from an "
        "intact copy and its files verify (nothing to load; force=true loads it anyway)."
    )
    seconds: float = Field(description="Time to load, verify and swap.")

    model_config = examples(
        {
            "model_run_id": "20260701-020000-cd34ef56-s7",
            "previous_run_id": "20260630-101500-ab12cd34-s7",
            "changed": True,
            "reloaded": True,
            "seconds": 1.8,
        }
    )
