"""Statements and withdrawals: ``GET /v1/creators/{creator_id}/statement``,
``POST|GET /v1/creators/{creator_id}/withdrawals``, ``GET /v1/merchants/{merchant_id}/statement``.

Money is exact (Python ``decimal``) and sent as two-place decimal strings with a ``currency``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from recsys.core.rules.settlement import CURRENCY
from recsys.core.vocab import Role
from recsys.core.workflows.ledger import created_between
from serving import ledger_store, ledger_views, task_store
from serving.auth import Principal
from serving.deps import ClockDep, CreatorIdPath, MerchantIdPath, MerchantSelfDep, PrincipalDep, ServiceDep
from serving.errors import ApiError, forbidden, not_found, responses
from serving.schemas.statements import CreatorStatement, MerchantStatement, WithdrawalList, WithdrawalPublic

router = APIRouter(tags=["statements"])

DEFAULT_PERIOD_DAYS = 90
FromQuery = Annotated[
    datetime | None,
    Query(alias="from", description="Orders created at or after this time (default: 90 days before `to`)."),
]
ToQuery = Annotated[datetime | None, Query(alias="to", description="Orders created before this time (default: now).")]
MaxLinesQuery = Annotated[int, Query(ge=0, le=5000, description="At most this many order lines (totals count all).")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Required. Your id for this withdrawal: a retry with the same key returns the same withdrawal.",
    ),
]


async def creator_ledger_caller(creator_id: CreatorIdPath, principal: PrincipalDep) -> Principal:
    """Admin, or the creator itself (a creator's money is shown to nobody else)."""
    if principal.is_admin or principal.is_creator(creator_id):
        return principal
    if principal.role is Role.CREATOR:
        raise forbidden(f"a creator key may only see its own statement; this key belongs to {principal.tenant_id!r}")
    raise forbidden("a creator's statement and withdrawals are only shown to that creator (and the admin)")


CreatorLedgerDep = Annotated[Principal, Depends(creator_ledger_caller)]


def _naive_utc(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def period(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """``[from, to)`` as naive UTC (times without a zone are UTC); 422 naming ``from`` when it is not before ``to``."""
    try:
        stop = _naive_utc(end) if end is not None else now
        begin = _naive_utc(start) if start is not None else stop - timedelta(days=DEFAULT_PERIOD_DAYS)
    except OverflowError:  # a time at the edge of the calendar (year 1 with a zone, or 90 days before it)
        message = "from/to must be times between the years 1 and 9999 in UTC"
        details = [{"loc": ["query", "to"], "msg": message}]
        raise ApiError(422, "invalid_request", f"query.to: {message}", details) from None
    if begin >= stop:
        message = f"from ({begin.isoformat()}) must be before to ({stop.isoformat()})"
        raise ApiError(422, "invalid_request", f"query.from: {message}", [{"loc": ["query", "from"], "msg": message}])
    return begin, stop


def _known(service: ServiceDep, table: str, entity_id: str) -> None:
    with service.store.engine.connect() as conn:
        if not service.store.existing_ids(conn, table, [entity_id]):
            raise not_found(table.removesuffix("s"), entity_id)


@router.get(
    "/v1/creators/{creator_id}/statement",
    response_model=CreatorStatement,
    summary="A creator's commission statement",
    responses=responses(401, 403, 404, 422),
)
def creator_statement(
    creator_id: CreatorIdPath,
    _caller: CreatorLedgerDep,
    service: ServiceDep,
    clock: ClockDep,
    start: FromQuery = None,
    end: ToQuery = None,
    max_lines: MaxLinesQuery = 500,
) -> CreatorStatement:
    """Commission of the creator's orders created in `[from, to)`: orders, GMV and commission per settlement
    status (pending: not confirmed or inside the after-sale window; settleable: window over, paid at the next
    settlement; paid: settled; refunded: reversed), per plan and per product, and each order with its after-sale
    dates. `balance` is all periods: paid, withdrawn and available to withdraw. Money: decimal strings, `currency`.

    Who may call: the creator itself and the admin."""
    _known(service, "creators", creator_id)
    now = clock()
    window = period(start, end, now)
    with service.store.engine.connect() as conn:
        lines, bal = ledger_store.creator_ledger(service.store, conn, creator_id, now, service.settings)
        fees = task_store.statement_fees(conn, window, creator_id=creator_id)
    chosen = created_between(lines, *window)
    return ledger_views.creator_statement_view(creator_id, chosen, bal, window, now, service.settings, max_lines, fees)


@router.post(
    "/v1/creators/{creator_id}/withdrawals",
    response_model=WithdrawalPublic,
    status_code=201,
    summary="Withdraw the available balance",
    responses={
        200: {"model": WithdrawalPublic, "description": "The withdrawal this Idempotency-Key already made"},
        **responses(401, 403, 404, 409, 422),
    },
)
def create_withdrawal(
    creator_id: CreatorIdPath,
    _caller: CreatorLedgerDep,
    service: ServiceDep,
    clock: ClockDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> WithdrawalPublic:
    """Withdraw the whole available balance (settled commission and task fees that passed QA, not withdrawn yet);
    the orders and fees it covers are marked in the same transaction, so the same money is never paid twice. Send
    an `Idempotency-Key` header: a retry with the same key answers 200 with the same withdrawal (201 when this call
    made it). 409 `withdrawal_balance_below_minimum` under `rules.withdrawal_min_balance` (default 100.00 CNY).

    Who may call: the creator itself and the admin."""
    if not idempotency_key or not idempotency_key.strip():
        message = "required: your id for this withdrawal (a retry with the same key returns the same withdrawal)"
        raise ApiError(
            422,
            "invalid_request",
            f"header.Idempotency-Key: {message}",
            [{"loc": ["header", "Idempotency-Key"], "msg": message, "type": "missing"}],
        )
    _known(service, "creators", creator_id)
    record, created = ledger_store.create_withdrawal(
        service.store, creator_id, idempotency_key.strip(), clock(), service.settings
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/creators/{creator_id}/withdrawals"
    return ledger_views.withdrawal_view(record)


@router.get(
    "/v1/creators/{creator_id}/withdrawals",
    response_model=WithdrawalList,
    summary="A creator's withdrawals",
    responses=responses(401, 403, 404, 422),
)
def list_withdrawals(creator_id: CreatorIdPath, _caller: CreatorLedgerDep, service: ServiceDep) -> WithdrawalList:
    """Every withdrawal of the creator, newest first.

    Who may call: the creator itself and the admin."""
    _known(service, "creators", creator_id)
    items = [ledger_views.withdrawal_view(r) for r in ledger_store.list_withdrawals(service.store, creator_id)]
    return WithdrawalList(creator_id=creator_id, currency=CURRENCY, items=items)


@router.get(
    "/v1/merchants/{merchant_id}/statement",
    response_model=MerchantStatement,
    summary="A merchant's commission statement",
    responses=responses(401, 403, 404, 422),
)
def merchant_statement(
    merchant_id: MerchantIdPath,
    _caller: MerchantSelfDep,
    service: ServiceDep,
    clock: ClockDep,
    start: FromQuery = None,
    end: ToQuery = None,
) -> MerchantStatement:
    """Commission on the merchant's products for orders created in `[from, to)`: owed (pending + settleable),
    paid and refunded, in total and per creator. Money: decimal strings with `currency`.

    Who may call: the merchant itself and the admin."""
    _known(service, "merchants", merchant_id)
    now = clock()
    window = period(start, end, now)
    with service.store.engine.connect() as conn:
        lines = ledger_store.merchant_ledger(service.store, conn, merchant_id, window[1], now, service.settings)
        fees = task_store.statement_fees(conn, window, merchant_id=merchant_id)
    return ledger_views.merchant_statement_view(merchant_id, created_between(lines, *window), window, now, fees)
