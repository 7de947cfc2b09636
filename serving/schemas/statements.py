"""Statements (a creator's and a merchant's commission over a period) and withdrawals.

Money is exact: every amount is a decimal string with two places (``"1234.50"``, yuan) next to a ``currency``
(``"CNY"``), computed with Python's ``decimal`` (commission per order = amount x rate, rounded half up to 0.01).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from serving.schemas.common import PublicModel, examples

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1234.50"], description="Yuan, exact.")]
SettlementStatus = Literal["pending", "settleable", "paid", "refunded"]


def _status(orders: int, gmv: str, commission: str) -> dict[str, object]:
    return {"orders": orders, "gmv": gmv, "commission": commission}


_FIGURES = {
    "pending": _status(2, "70.40", "10.57"),
    "settleable": _status(1, "200.00", "30.00"),
    "paid": _status(2, "1010.29", "151.55"),
    "refunded": _status(1, "80.00", "12.00"),
    "earned": "204.12",
    "owed": "40.57",
}
_PERIOD = {
    "currency": "CNY",
    "period_start": "2026-10-01T00:00:00Z",
    "period_end": "2026-12-01T00:00:00Z",
    "as_of": "2026-12-01T09:40:00Z",
    "totals": _FIGURES,
}


class StatusFigures(PublicModel):
    orders: int
    gmv: Money
    commission: Money


class Figures(PublicModel):
    """Orders, GMV and commission per settlement status; ``refunded.commission`` is what the refunds reversed."""

    pending: StatusFigures = Field(description="Not confirmed yet, or still inside the after-sale window.")
    settleable: StatusFigures = Field(description="Window over, to be paid at the next settlement (`recsys settle`).")
    paid: StatusFigures = Field(description="Settled: paid into the creator's balance.")
    refunded: StatusFigures = Field(description="Refunded: pays nothing; `commission` is the amount reversed.")
    earned: Money = Field(description="pending + settleable + paid + refunded commission (before refunds).")
    owed: Money = Field(description="pending + settleable commission: still to be paid.")


class PlanFigures(PublicModel):
    plan_id: str
    product_id: str
    totals: Figures


class ProductFigures(PublicModel):
    product_id: str
    totals: Figures


class CreatorFigures(PublicModel):
    creator_id: str
    totals: Figures


class StatementLine(PublicModel):
    """One order with its commission and after-sale dates."""

    order_id: str
    promotion_id: str
    product_id: str
    plan_id: str
    amount: Money
    commission_rate: str = Field(description="The rate the order earns (tiered plans: the tier reached).")
    commission: Money
    status: SettlementStatus
    order_status: str = Field(description="The stored state: placed, confirmed, refunded or settled.")
    created_at: datetime
    confirmed_at: datetime | None
    settleable_at: datetime | None = Field(description="confirmed_at + the after-sale window.")
    refunded_at: datetime | None
    withdrawal_id: str | None = Field(description="The withdrawal that paid it out (paid orders only).")


class Balance(PublicModel):
    """The creator's money now, all periods together."""

    paid: Money = Field(description="Commission of every settled order, ever (fixed task fees: `fees.owed_total`).")
    withdrawn: Money = Field(description="What the creator's withdrawals took: commission and fixed task fees.")
    available: Money = Field(
        description="Settled commission plus fixed task fees (QA passed), not withdrawn yet: what a withdrawal now "
        "would take. The fee part is `fees.available`."
    )
    withdrawal_min_balance: Money
    can_withdraw: bool


class TaskFeeLine(PublicModel):
    """Fixed task fees of one creator on one task (issue 22)."""

    task_id: str
    creator_id: str
    deliverables_passed_qa: int
    owed: Money


class TaskFeeSettlement(PublicModel):
    """Fixed task fees of one creator on one task, all periods: owed (QA passed), paid by withdrawals, unpaid."""

    task_id: str
    creator_id: str
    deliverables_passed_qa: int
    deliverables_paid: int = Field(description="Deliverables whose fee a withdrawal paid out.")
    owed: Money = Field(description="The fees of every deliverable that passed QA.")
    paid: Money = Field(description="The part withdrawals paid out to the creator.")
    unpaid: Money = Field(description="The part still in the creator's available balance.")


class TaskFees(PublicModel):
    """Fixed task fees (保底) owed for deliverables that passed the merchant's QA. Settled with the commission: a
    fee is part of the creator's `balance.available` from QA on, and the next withdrawal pays it, once."""

    owed_in_period: Money = Field(description="Fees of deliverables that passed QA within the period.")
    owed_total: Money = Field(description="Every fee owed so far, all periods (= available + withdrawn).")
    available: Money = Field(description="Fees not withdrawn yet: the fee part of the creator's `balance.available`.")
    withdrawn: Money = Field(description="Fees withdrawals paid out, all periods.")
    lines: list[TaskFeeLine] = Field(description="The period's fees per task and creator.")
    settlement: list[TaskFeeSettlement] = Field(
        description="Per task and creator, all periods: owed, paid by withdrawals and unpaid."
    )


class CreatorStatement(PublicModel):
    creator_id: str
    currency: str = Field(examples=["CNY"])
    period_start: datetime = Field(description="Orders created at or after this time ...")
    period_end: datetime = Field(description="... and before this one.")
    as_of: datetime = Field(description="The time statuses are judged at (now).")
    totals: Figures
    by_plan: list[PlanFigures]
    by_product: list[ProductFigures]
    balance: Balance
    lines: list[StatementLine] = Field(description="The period's orders, oldest first (at most `max_lines`).")
    lines_truncated: bool = Field(description="True when the period has more orders than the lines listed.")
    fees: TaskFees | None = Field(default=None, description="Fixed task fees owed (tasks with a fee only).")

    model_config = examples(
        {
            "creator_id": "c00012",
            **_PERIOD,
            "by_plan": [{"plan_id": "pl00084", "product_id": "p00075", "totals": _FIGURES}],
            "by_product": [{"product_id": "p00075", "totals": _FIGURES}],
            "balance": {
                "paid": "151.55",
                "withdrawn": "0.00",
                "available": "151.55",
                "withdrawal_min_balance": "100.00",
                "can_withdraw": True,
            },
            "lines": [
                {
                    "order_id": "o9000001",
                    "promotion_id": "pr900001",
                    "product_id": "p00075",
                    "plan_id": "pl00084",
                    "amount": "50.50",
                    "commission_rate": "0.15",
                    "commission": "7.58",
                    "status": "pending",
                    "order_status": "confirmed",
                    "created_at": "2026-11-28T09:40:00Z",
                    "confirmed_at": "2026-11-29T09:40:00Z",
                    "settleable_at": "2026-12-14T09:40:00Z",
                    "refunded_at": None,
                    "withdrawal_id": None,
                }
            ],
            "lines_truncated": False,
        }
    )


class MerchantStatement(PublicModel):
    merchant_id: str
    currency: str = Field(examples=["CNY"])
    period_start: datetime
    period_end: datetime
    as_of: datetime
    totals: Figures
    by_creator: list[CreatorFigures] = Field(description="Owed (pending + settleable) and paid per creator.")
    fees: TaskFees | None = Field(default=None, description="Fixed task fees owed to creators (tasks with a fee).")

    model_config = examples(
        {"merchant_id": "m00003", **_PERIOD, "by_creator": [{"creator_id": "c00012", "totals": _FIGURES}]}
    )


class WithdrawalPublic(PublicModel):
    withdrawal_id: str
    creator_id: str
    client_key: str = Field(description="The Idempotency-Key the withdrawal was made with.")
    amount: Money
    currency: str
    order_count: int = Field(description="Settled orders the withdrawal paid out.")
    commission: Money = Field(description="The commission part of `amount`.")
    fees: Money = Field(description="The fixed-task-fee part of `amount`.")
    fee_count: int = Field(description="Task deliverables (QA passed) whose fixed fee the withdrawal paid out.")
    status: Literal["paid"]
    created_at: datetime

    model_config = examples(
        {
            "withdrawal_id": "wd-0a1b2c3d4e5f",
            "creator_id": "c00012",
            "client_key": "2026-07-01-payout",
            "amount": "1234.50",
            "currency": "CNY",
            "order_count": 42,
            "commission": "934.50",
            "fees": "300.00",
            "fee_count": 1,
            "status": "paid",
            "created_at": "2026-07-01T12:00:00Z",
        }
    )


class WithdrawalList(PublicModel):
    creator_id: str
    currency: str
    items: list[WithdrawalPublic] = Field(description="Newest first.")

    model_config = examples(
        {
            "creator_id": "c00012",
            "currency": "CNY",
            "items": [
                {
                    "withdrawal_id": "wd-0a1b2c3d4e5f",
                    "creator_id": "c00012",
                    "client_key": "2026-07-01-payout",
                    "amount": "151.55",
                    "currency": "CNY",
                    "order_count": 2,
                    "commission": "151.55",
                    "fees": "0.00",
                    "fee_count": 0,
                    "status": "paid",
                    "created_at": "2026-07-01T12:00:00Z",
                }
            ],
        }
    )
