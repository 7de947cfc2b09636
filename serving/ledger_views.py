"""Ledger objects (:mod:`recsys.core.workflows.ledger`) as response models: money as two-place decimal strings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from recsys.core.config import Settings
from recsys.core.rules.settlement import CURRENCY, SETTLEMENT_STATUSES, money
from recsys.core.workflows.ledger import Balance, Figures, LedgerLine, figures, figures_by
from serving.schemas import statements as schema


def amount_text(value: Decimal) -> str:
    """``Decimal`` → ``"1234.50"`` (exact, two places)."""
    return f"{money(value):.2f}"


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def figures_view(fig: Figures) -> schema.Figures:
    parts = {
        s: schema.StatusFigures(
            orders=fig.orders[s], gmv=amount_text(fig.gmv[s]), commission=amount_text(fig.commission[s])
        )
        for s in SETTLEMENT_STATUSES
    }
    return schema.Figures(**parts, earned=amount_text(fig.earned), owed=amount_text(fig.owed))


def line_view(line: LedgerLine) -> schema.StatementLine:
    return schema.StatementLine(
        order_id=line.order_id,
        promotion_id=line.promotion_id,
        product_id=line.product_id,
        plan_id=line.plan_id,
        amount=amount_text(line.amount),
        commission_rate=str(line.commission_rate),
        commission=amount_text(line.commission),
        status=line.status,
        order_status=line.order_status,
        created_at=_aware(line.created_at),
        confirmed_at=_aware(line.confirmed_at),
        settleable_at=_aware(line.settleable_at),
        refunded_at=_aware(line.refunded_at),
        withdrawal_id=line.withdrawal_id,
    )


def balance_view(bal: Balance, settings: Settings) -> schema.Balance:
    minimum = Decimal(str(settings.rules.withdrawal_min_balance))
    return schema.Balance(
        paid=amount_text(bal.paid),
        withdrawn=amount_text(bal.withdrawn),
        available=amount_text(bal.available),
        withdrawal_min_balance=amount_text(minimum),
        can_withdraw=bool(bal.withdrawal(settings.rules)) and bal.available > 0,
    )


def creator_statement_view(
    creator_id: str,
    lines: list[LedgerLine],
    bal: Balance,
    period: tuple[datetime, datetime],
    now: datetime,
    settings: Settings,
    max_lines: int,
    fees: schema.TaskFees | None = None,
) -> schema.CreatorStatement:
    """The statement of ``lines`` (already the period's) with the all-time ``bal`` (settled commission and the
    fixed task fees that passed QA) and the fee figures (``serving.task_store.statement_fees``)."""
    plan_product = {line.plan_id: line.product_id for line in lines}
    return schema.CreatorStatement(
        creator_id=creator_id,
        currency=CURRENCY,
        period_start=_aware(period[0]),
        period_end=_aware(period[1]),
        as_of=_aware(now),
        totals=figures_view(figures(lines)),
        by_plan=[
            schema.PlanFigures(plan_id=plan_id, product_id=plan_product[plan_id], totals=figures_view(fig))
            for plan_id, fig in figures_by(lines, lambda line: line.plan_id).items()
        ],
        by_product=[
            schema.ProductFigures(product_id=product_id, totals=figures_view(fig))
            for product_id, fig in figures_by(lines, lambda line: line.product_id).items()
        ],
        balance=balance_view(bal, settings),
        lines=[line_view(line) for line in lines[:max_lines]],
        lines_truncated=len(lines) > max_lines,
        fees=fees,
    )


def merchant_statement_view(
    merchant_id: str,
    lines: list[LedgerLine],
    period: tuple[datetime, datetime],
    now: datetime,
    fees: schema.TaskFees | None = None,
) -> schema.MerchantStatement:
    return schema.MerchantStatement(
        merchant_id=merchant_id,
        currency=CURRENCY,
        period_start=_aware(period[0]),
        period_end=_aware(period[1]),
        as_of=_aware(now),
        totals=figures_view(figures(lines)),
        by_creator=[
            schema.CreatorFigures(creator_id=creator_id, totals=figures_view(fig))
            for creator_id, fig in figures_by(lines, lambda line: line.creator_id).items()
        ],
        fees=fees,
    )


def withdrawal_view(record: dict[str, Any]) -> schema.WithdrawalPublic:
    return schema.WithdrawalPublic(
        withdrawal_id=record["withdrawal_id"],
        creator_id=record["creator_id"],
        client_key=record["client_key"],
        amount=amount_text(record["amount"]),
        currency=record["currency"],
        order_count=int(record["order_count"]),
        commission=amount_text(record["commission"]),
        fees=amount_text(record["fees"]),
        fee_count=int(record["fee_count"]),
        status=record["status"],
        created_at=_aware(record["created_at"]),
    )
