"""Experiments in the store: definitions, per-arm exposure counters and the events attributed to an arm.

Every definition change (start, stop) bumps the ``experiments`` counter in ``revisions`` in the same transaction,
so each worker's background check (``serving.runtime``) sees it within a second and loads the same arms. Exposure
counters are rows per (experiment, arm), created with the experiment and incremented in batches
(:func:`add_exposures`), so a busy list costs a memory increment, not a write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from recsys.core.experiment_stats import ArmData
from recsys.core.experiments import (
    EXPERIMENT_EVENTS,
    EXPERIMENT_EXPOSURES,
    EXPERIMENTS,
    ExperimentSpec,
    ExperimentStatus,
)
from recsys.core.schema import REVISIONS, SA_TABLES
from recsys.core.store import Store

EXPERIMENTS_COUNTER = "experiments"


class ExperimentConflict(Exception):
    """The definition cannot be stored as asked (message says why: name taken, endpoints overlap, not running)."""


@dataclass(frozen=True)
class StoredExperiment:
    spec: ExperimentSpec
    status: ExperimentStatus
    started_at: datetime
    stopped_at: datetime | None


def read_counter(store: Store) -> int:
    with store.engine.connect() as conn:
        value = conn.execute(sa.select(REVISIONS.c.value).where(REVISIONS.c.name == EXPERIMENTS_COUNTER)).scalar()
    return int(value or 0)


def _bump_counter(conn: Connection) -> None:
    updated = conn.execute(
        sa.update(REVISIONS).where(REVISIONS.c.name == EXPERIMENTS_COUNTER).values(value=REVISIONS.c.value + 1)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(REVISIONS).values(name=EXPERIMENTS_COUNTER, value=1))


def _stored(row: Any) -> StoredExperiment:
    return StoredExperiment(
        ExperimentSpec.from_json(dict(row.definition)), ExperimentStatus(row.status), row.started_at, row.stopped_at
    )


def list_experiments(store: Store, conn: Connection | None = None) -> list[StoredExperiment]:
    """Every experiment, by name."""
    query = sa.select(EXPERIMENTS).order_by(EXPERIMENTS.c.name)
    if conn is not None:
        return [_stored(r) for r in conn.execute(query)]
    with store.engine.connect() as own:
        return [_stored(r) for r in own.execute(query)]


def get_experiment(store: Store, name: str) -> StoredExperiment | None:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(EXPERIMENTS).where(EXPERIMENTS.c.name == name)).first()
    return _stored(row) if row is not None else None


def running_experiments(store: Store) -> list[ExperimentSpec]:
    return [e.spec for e in list_experiments(store) if e.status is ExperimentStatus.RUNNING]


def start_experiment(store: Store, spec: ExperimentSpec, now: datetime) -> tuple[StoredExperiment, bool]:
    """Store ``spec`` as running, with zero counters per arm; returns (experiment, created). The same definition
    again is a no-op (idempotent PUT); a name already used otherwise, or an endpoint a running experiment already
    splits, is an :class:`ExperimentConflict` (nothing written)."""
    with store.transaction() as conn:
        existing = {e.spec.name: e for e in list_experiments(store, conn)}
        same = existing.get(spec.name)
        if same is not None:
            if same.status is ExperimentStatus.RUNNING and same.spec.to_json() == spec.to_json():
                return same, False
            raise ExperimentConflict(
                f"experiment {spec.name!r} already exists ({same.status.value}); an experiment's arms never change, "
                "start a new one under another name"
            )
        for other in existing.values():
            shared = other.spec.endpoints & spec.endpoints
            if other.status is ExperimentStatus.RUNNING and shared:
                raise ExperimentConflict(
                    f"experiment {other.spec.name!r} already splits {', '.join(sorted(shared))}; stop it first"
                )
        conn.execute(
            sa.insert(EXPERIMENTS).values(
                name=spec.name, definition=spec.to_json(), status=ExperimentStatus.RUNNING.value, started_at=now
            )
        )
        conn.execute(
            sa.insert(EXPERIMENT_EXPOSURES),
            [{"experiment": spec.name, "arm": a.name, "requests": 0, "exposures": 0} for a in spec.arms],
        )
        _bump_counter(conn)
    return StoredExperiment(spec, ExperimentStatus.RUNNING, now, None), True


def stop_experiment(store: Store, name: str, now: datetime) -> StoredExperiment | None:
    """Mark the experiment stopped (None when there is no such experiment; a stopped one stays as it was)."""
    with store.transaction() as conn:
        row = conn.execute(sa.select(EXPERIMENTS).where(EXPERIMENTS.c.name == name)).first()
        if row is None:
            return None
        if row.status == ExperimentStatus.RUNNING.value:
            conn.execute(
                sa.update(EXPERIMENTS)
                .where(EXPERIMENTS.c.name == name)
                .values(status=ExperimentStatus.STOPPED.value, stopped_at=now)
            )
            _bump_counter(conn)
        row = conn.execute(sa.select(EXPERIMENTS).where(EXPERIMENTS.c.name == name)).one()
    return _stored(row)


# --- exposures --------------------------------------------------------------------------------------------------


def add_exposures(store: Store, counts: Mapping[tuple[str, str], tuple[int, int]]) -> None:
    """Add (requests, items) to each (experiment, arm) counter, in one transaction."""
    if not counts:
        return
    with store.transaction() as conn:
        for (experiment, arm), (requests, items) in counts.items():
            conn.execute(
                sa.update(EXPERIMENT_EXPOSURES)
                .where(EXPERIMENT_EXPOSURES.c.experiment == experiment, EXPERIMENT_EXPOSURES.c.arm == arm)
                .values(
                    requests=EXPERIMENT_EXPOSURES.c.requests + requests,
                    exposures=EXPERIMENT_EXPOSURES.c.exposures + items,
                )
            )


def exposure_counts(store: Store, name: str) -> dict[str, tuple[int, int]]:
    """Per arm: (requests, items shown) as stored."""
    query = sa.select(EXPERIMENT_EXPOSURES).where(EXPERIMENT_EXPOSURES.c.experiment == name)
    with store.engine.connect() as conn:
        return {r.arm: (int(r.requests), int(r.exposures)) for r in conn.execute(query)}


# --- events -----------------------------------------------------------------------------------------------------


def arm_problem(conn: Connection, experiment: str | None, arm: str | None) -> str | None:
    """Why an event's (experiment, arm) cannot be recorded, or None (also when it names none)."""
    if experiment is None and arm is None:
        return None
    if experiment is None or arm is None:
        return "arm: an event names both its experiment and its arm, or neither"
    row = conn.execute(sa.select(EXPERIMENTS.c.definition).where(EXPERIMENTS.c.name == experiment)).first()
    if row is None:
        return f"experiment: unknown experiment {experiment!r}"
    if ExperimentSpec.from_json(dict(row.definition)).arm(arm) is None:
        return f"arm: experiment {experiment!r} has no arm {arm!r}"
    return None


def _commission_rates(conn: Connection, promotion_ids: Sequence[str]) -> dict[str, float]:
    """Each promotion's plan's stated commission rate (0 when the plan is unknown)."""
    promotions, plans = SA_TABLES["promotions"], SA_TABLES["plans"]
    query = (
        sa.select(promotions.c.promotion_id, plans.c.commission_rate)
        .join(plans, plans.c.plan_id == promotions.c.plan_id)
        .where(promotions.c.promotion_id.in_(list(promotion_ids)))
    )
    return {str(r.promotion_id): float(r.commission_rate or 0.0) for r in conn.execute(query)}


def record_event_arms(
    conn: Connection, accepted: Sequence[Mapping[str, Any]], arms: Mapping[str, tuple[str | None, str | None]]
) -> None:
    """Record the accepted events that followed an arm, inside the batch's transaction (durable with it).

    ``accepted``: the ``events`` rows written (event_id, kind, entity_id, payload, received_at); ``arms``: each
    event id's (experiment, arm) as sent. GMV is an order's amount (a promotion's reported GMV), commission that
    times the stated rate of the promotion's plan."""
    rows = [r for r in accepted if arms.get(r["event_id"], (None, None))[1] is not None]
    if not rows:
        return
    promotion_of = {r["event_id"]: str(r["payload"].get("promotion_id", "")) for r in rows}
    rates = _commission_rates(conn, sorted(set(promotion_of.values())))
    records = []
    for r in rows:
        data, (experiment, arm) = r["payload"], arms[r["event_id"]]
        gmv = float((data.get("amount") if r["kind"] == "order" else data.get("gmv")) or 0.0)
        records.append(
            {
                "event_id": r["event_id"],
                "experiment": experiment,
                "arm": arm,
                "kind": r["kind"],
                "entity_id": r["entity_id"],
                "gmv": gmv,
                "commission": round(gmv * rates.get(promotion_of[r["event_id"]], 0.0), 2),
                "received_at": r["received_at"],
            }
        )
    conn.execute(sa.insert(EXPERIMENT_EVENTS), records)


def arm_data(store: Store, spec: ExperimentSpec) -> list[ArmData]:
    """Per arm, in the definition's order: exposures and the attributed orders' amounts and commissions."""
    counts = exposure_counts(store, spec.name)
    query = sa.select(
        EXPERIMENT_EVENTS.c.arm, EXPERIMENT_EVENTS.c.kind, EXPERIMENT_EVENTS.c.gmv, EXPERIMENT_EVENTS.c.commission
    ).where(EXPERIMENT_EVENTS.c.experiment == spec.name)
    with store.engine.connect() as conn:
        events = list(conn.execute(query))
    out = []
    for arm in spec.arms:
        orders = [e for e in events if e.arm == arm.name and e.kind == "order"]
        requests, items = counts.get(arm.name, (0, 0))
        out.append(
            ArmData(
                arm=arm.name,
                requests=requests,
                exposures=items,
                order_gmv=np.array([e.gmv for e in orders], np.float64),
                order_commission=np.array([e.commission for e in orders], np.float64),
                promotions=sum(e.arm == arm.name and e.kind == "promotion" for e in events),
            )
        )
    return out


def order_counts(store: Store, name: str) -> dict[str, int]:
    """Per arm: the order events that named it."""
    query = (
        sa.select(EXPERIMENT_EVENTS.c.arm, sa.func.count())
        .where(EXPERIMENT_EVENTS.c.experiment == name, EXPERIMENT_EVENTS.c.kind == "order")
        .group_by(EXPERIMENT_EVENTS.c.arm)
    )
    with store.engine.connect() as conn:
        return {str(arm): int(n) for arm, n in conn.execute(query)}
