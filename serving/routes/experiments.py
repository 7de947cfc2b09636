"""``/v1/admin/experiments``: define, start, read and stop A/B experiments of bundles and settings (admin key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response

from recsys.core.experiments import ArmSpec, DefinitionProblem, ExperimentStatus, validate_definition
from serving import experiment_store
from serving.deps import AdminDep, ClockDep, ServiceDep, SettingsDep
from serving.errors import ApiError, not_found, responses
from serving.experiment_store import ExperimentConflict, StoredExperiment
from serving.experiments import ArmLoadError
from serving.runtime import Service
from serving.schemas.experiments import ArmCounters, ExperimentDefinition, ExperimentList, ExperimentPublic

router = APIRouter(prefix="/v1/admin/experiments", tags=["experiments"])

ExperimentName = Annotated[str, Path(min_length=1, max_length=64, examples=["earnings-blend-0.6"])]


def invalid(loc: list[str | int], message: str) -> ApiError:
    """422 in the house shape, naming the field."""
    field = ".".join(str(part) for part in loc)
    return ApiError(
        422, "invalid_request", f"{field}: {message}", [{"loc": loc, "msg": message, "type": "value_error"}]
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)  # the store keeps naive UTC


def public(service: Service, stored: StoredExperiment) -> ExperimentPublic:
    """The experiment with its counters as stored (after this worker's own counts are flushed)."""
    spec = stored.spec
    counts = experiment_store.exposure_counts(service.store, spec.name)
    orders = experiment_store.order_counts(service.store, spec.name)
    return ExperimentPublic(
        name=spec.name,
        status=stored.status,
        endpoints=sorted(spec.endpoints),
        started_at=_utc(stored.started_at),
        stopped_at=_utc(stored.stopped_at) if stored.stopped_at is not None else None,
        arms=[
            ArmCounters(
                name=arm.name,
                weight=arm.weight,
                bundle=arm.bundle,
                settings=arm.settings,
                requests=counts.get(arm.name, (0, 0))[0],
                exposures=counts.get(arm.name, (0, 0))[1],
                orders=orders.get(arm.name, 0),
            )
            for arm in spec.arms
        ],
    )


@router.put(
    "/{name}",
    response_model=ExperimentPublic,
    summary="Start an A/B experiment",
    responses={
        201: {"description": "Started", "model": ExperimentPublic},
        **responses(401, 403, 409, 422),
    },
)
def put_experiment(
    name: ExperimentName,
    body: ExperimentDefinition,
    _admin: AdminDep,
    service: ServiceDep,
    settings: SettingsDep,
    clock: ClockDep,
    response: Response,
) -> ExperimentPublic:
    """Define and start an experiment: named arms with their share of the callers (summing to 1), each serving
    a bundle (`bundle`: a run id under artifacts/) and/or setting overrides (`settings`), and the lists it
    splits. Every arm is loaded and verified first: an arm that cannot load refuses the experiment (422 naming it)
    and what was serving keeps serving. Then the lists switch at once (a request is served wholly by one arm);
    other workers follow within a second. The same definition again answers 200 and changes nothing; a name used
    before, or a list another running experiment splits, is a 409.

    Who may call: the admin key."""
    arms = [ArmSpec(a.name, a.weight, a.bundle, dict(a.settings)) for a in body.arms]
    try:
        spec = validate_definition(name, arms, list(dict.fromkeys(body.endpoints)), settings)
    except DefinitionProblem as exc:
        loc: list[str | int] = ["path", "name"] if exc.loc == ("name",) else ["body", *exc.loc]
        raise invalid(loc, exc.message) from None
    stored = experiment_store.get_experiment(service.store, name)
    if stored is not None and stored.status is ExperimentStatus.RUNNING and stored.spec.to_json() == spec.to_json():
        return public(service, stored)
    try:
        experiment = service.experiments.load(spec)
    except ArmLoadError as exc:
        raise invalid(["body", *exc.loc], exc.message) from None
    try:
        stored, created = experiment_store.start_experiment(service.store, spec, clock())
    except ExperimentConflict as exc:
        service.experiments.release(experiment)
        raise ApiError(409, "experiment_conflict", str(exc)) from None
    except BaseException:
        service.experiments.release(experiment)
        raise
    if created:
        service.experiments.install(experiment)
        response.status_code = 201
    else:
        service.experiments.release(experiment)
    return public(service, stored)


@router.get(
    "",
    response_model=ExperimentList,
    summary="A/B experiments",
    responses=responses(401, 403),
)
def list_experiments(_admin: AdminDep, service: ServiceDep) -> ExperimentList:
    """Every experiment, running or stopped, with its per-arm counters (lists served, items shown, orders).

    Who may call: the admin key."""
    service.experiments.flush()
    return ExperimentList(items=[public(service, e) for e in experiment_store.list_experiments(service.store)])


@router.get(
    "/{name}",
    response_model=ExperimentPublic,
    summary="One A/B experiment",
    responses=responses(401, 403, 404),
)
def get_experiment(name: ExperimentName, _admin: AdminDep, service: ServiceDep) -> ExperimentPublic:
    """The definition and its live per-arm counters. `recsys ab report NAME` compares the arms.

    Who may call: the admin key."""
    service.experiments.flush()
    stored = experiment_store.get_experiment(service.store, name)
    if stored is None:
        raise not_found("experiment", name)
    return public(service, stored)


@router.post(
    "/{name}/stop",
    response_model=ExperimentPublic,
    summary="Stop an A/B experiment",
    responses=responses(401, 403, 404),
)
def stop_experiment(name: ExperimentName, _admin: AdminDep, service: ServiceDep, clock: ClockDep) -> ExperimentPublic:
    """Stop the experiment: its lists return to the live model at once (answers name no arm again), other
    workers follow within a second; its counters and events stay for the report. Stopping twice is harmless.

    Who may call: the admin key."""
    stored = experiment_store.stop_experiment(service.store, name, clock())
    if stored is None:
        raise not_found("experiment", name)
    service.experiments.remove(name)
    return public(service, stored)
