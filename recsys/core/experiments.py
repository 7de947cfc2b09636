"""Online A/B experiments, the pure part: definitions and their validation, sticky assignment, settings overrides
and the store tables that hold definitions, exposure counters and the events attributed to an arm.

An experiment splits the callers of some recommendation endpoints between named **arms**. An arm serves either
another bundle (``bundle``: a run id under ``artifacts/``) or the live bundle with a few reranking or matching
settings changed (``settings``: only the names in :data:`VARIABLE_SETTINGS`), or — with neither — the live service
unchanged (a control). Assignment hashes (experiment name, caller id): the same caller always lands in the same arm
of one experiment, and two experiments split the callers independently of each other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from recsys.core.config import Settings
from recsys.core.schema import METADATA


class ExperimentEndpoint(StrEnum):
    """The recommendation lists an experiment can split, and whose id the assignment hashes."""

    CREATOR_PRODUCTS = "creator_products"  # GET /v1/creators/{id}/products: the creator
    PRODUCT_CREATORS = "product_creators"  # GET /v1/products/{id}/creators: the product's merchant
    MERCHANT_CREATORS = "merchant_creators"  # GET /v1/merchants/{id}/creators: the merchant


class ExperimentStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


VARIABLE_SETTINGS: dict[str, str] = {
    "matching.exposure_decay": "creators in many lists this period lose value (0 = off)",
    "matching.new_creator_boost": "new and small creators gain value",
    "matching.capacity_room": "creators with little capacity left lose value",
    "matching.category_diversity": "a creator's pool spreads over categories",
    "matching.retrieval_blend": "lists blend in the pair's retrieval affinity (0 = off)",
    "rules.earnings_blend": "weight of expected earnings vs fit in a creator's pool",
    "integrity.fake_penalty": "a creator flagged for bought engagement keeps this share of its value",
}
"""Settings an arm may change: reranking and matching controls read per request, so an arm needs no retraining
and no second copy of the store's tables."""

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_ARMS = 8
SPLIT_TOLERANCE = 1e-6


class DefinitionProblem(ValueError):
    """A definition that cannot run; ``loc`` names the field (``("arms", 1, "settings", "x")``)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class ArmSpec:
    """One arm: its name, its share of the callers and what it serves."""

    name: str
    weight: float
    bundle: str | None = None  # a run id under artifacts/ (None: the live bundle)
    settings: dict[str, float] = field(default_factory=dict)  # overrides, names from VARIABLE_SETTINGS

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, "bundle": self.bundle, "settings": dict(self.settings)}


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated definition: arms in order (the first is the baseline the others are compared with)."""

    name: str
    arms: tuple[ArmSpec, ...]
    endpoints: frozenset[ExperimentEndpoint]

    def arm(self, name: str) -> ArmSpec | None:
        return next((a for a in self.arms if a.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arms": [a.to_json() for a in self.arms],
            "endpoints": sorted(e.value for e in self.endpoints),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExperimentSpec:
        """A definition as stored (already validated when it was written)."""
        arms = tuple(
            ArmSpec(str(a["name"]), float(a["weight"]), a.get("bundle"), dict(a.get("settings") or {}))
            for a in data["arms"]
        )
        return cls(str(data["name"]), arms, frozenset(ExperimentEndpoint(e) for e in data["endpoints"]))


# --- validation -----------------------------------------------------------------------------------------------


def check_name(name: str, loc: tuple[str | int, ...]) -> None:
    if not NAME_PATTERN.match(name):
        raise DefinitionProblem(loc, "use 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit")


def apply_overrides(settings: Settings, overrides: dict[str, float]) -> Settings:
    """``settings`` with an arm's overrides, each validated by its section's own bounds.

    Raises :class:`DefinitionProblem` (loc ``(name,)``) for a name outside :data:`VARIABLE_SETTINGS` or a value
    its setting refuses."""
    sections: dict[str, dict[str, Any]] = {}
    for name, value in overrides.items():
        if name not in VARIABLE_SETTINGS:
            raise DefinitionProblem(
                (name,), f"not a setting an arm may change; allowed: {', '.join(VARIABLE_SETTINGS)}"
            )
        section, key = name.split(".", 1)
        sections.setdefault(section, {})[key] = value
    update: dict[str, BaseModel] = {}
    for section, values in sections.items():
        current: BaseModel = getattr(settings, section)
        try:
            update[section] = type(current).model_validate({**current.model_dump(), **values})
        except ValidationError as exc:
            first = exc.errors()[0]
            key = str(first["loc"][0]) if first["loc"] else next(iter(values))
            raise DefinitionProblem((f"{section}.{key}",), str(first["msg"])) from None
    return settings.model_copy(update=update) if update else settings


def validate_definition(
    name: str, arms: list[ArmSpec], endpoints: list[ExperimentEndpoint], settings: Settings
) -> ExperimentSpec:
    """A definition that can run, or :class:`DefinitionProblem` naming the first field that cannot: the name,
    2–8 uniquely named arms with positive weights summing to 1, settings from the allowed list within their
    bounds, bundle run ids that are plain folder names, at least one endpoint. Whether a bundle loads is checked
    by the service, which loads it before the experiment starts."""
    check_name(name, ("name",))
    if not 2 <= len(arms) <= MAX_ARMS:
        raise DefinitionProblem(("arms",), f"an experiment needs 2 to {MAX_ARMS} arms, got {len(arms)}")
    seen: set[str] = set()
    for i, arm in enumerate(arms):
        check_name(arm.name, ("arms", i, "name"))
        if arm.name in seen:
            raise DefinitionProblem(("arms", i, "name"), f"arm name {arm.name!r} is used twice")
        seen.add(arm.name)
        if not arm.weight > 0:
            raise DefinitionProblem(("arms", i, "weight"), "must be above 0")
        if arm.bundle is not None:
            check_name(arm.bundle, ("arms", i, "bundle"))
        try:
            apply_overrides(settings, arm.settings)
        except DefinitionProblem as exc:
            raise DefinitionProblem(("arms", i, "settings", *exc.loc), exc.message) from None
    total = sum(a.weight for a in arms)
    if abs(total - 1.0) > SPLIT_TOLERANCE:
        raise DefinitionProblem(("arms",), f"the arms' weights must sum to 1, they sum to {total:g}")
    if not endpoints:
        raise DefinitionProblem(("endpoints",), "name at least one endpoint: " + ", ".join(ExperimentEndpoint))
    return ExperimentSpec(name, tuple(arms), frozenset(endpoints))


# --- assignment -----------------------------------------------------------------------------------------------


def assignment_point(experiment: str, caller_id: str) -> float:
    """Where the caller falls in [0, 1) for this experiment: the first 8 bytes of sha256(experiment, caller).
    Salting with the experiment's name makes assignments of different experiments independent."""
    digest = hashlib.sha256(f"{experiment}\x1f{caller_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_arm(spec: ExperimentSpec, caller_id: str) -> ArmSpec:
    """The caller's arm: the one whose cumulative share interval holds its assignment point (sticky)."""
    point = assignment_point(spec.name, caller_id)
    upper = 0.0
    for arm in spec.arms:
        upper += arm.weight
        if point < upper:
            return arm
    return spec.arms[-1]  # rounding: weights summing to 1 - 1e-12


# --- store tables ---------------------------------------------------------------------------------------------

EXPERIMENTS = sa.Table(
    "experiments",
    METADATA,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("definition", sa.JSON(), nullable=False),  # ExperimentSpec.to_json()
    sa.Column("status", sa.String(), nullable=False),  # running | stopped
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("stopped_at", sa.DateTime(), nullable=True),
)

EXPERIMENT_EXPOSURES = sa.Table(
    "experiment_exposures",
    METADATA,
    sa.Column("experiment", sa.String(), primary_key=True),
    sa.Column("arm", sa.String(), primary_key=True),
    sa.Column("requests", sa.BigInteger(), nullable=False, default=0),  # lists served
    sa.Column("exposures", sa.BigInteger(), nullable=False, default=0),  # items shown
)

EXPERIMENT_EVENTS = sa.Table(
    "experiment_events",
    METADATA,
    sa.Column("event_id", sa.String(), primary_key=True),  # the events row it came with
    sa.Column("experiment", sa.String(), nullable=False, index=True),
    sa.Column("arm", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),  # promotion | order
    sa.Column("entity_id", sa.String(), nullable=False),
    sa.Column("gmv", sa.Float(), nullable=False),  # an order's amount; a promotion's reported GMV
    sa.Column("commission", sa.Float(), nullable=False),  # gmv x the plan's stated rate
    sa.Column("received_at", sa.DateTime(), nullable=False),
)
