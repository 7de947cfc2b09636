"""Demo tasks (issue 22; ``recsys demo`` calls it once, right after :mod:`serving.demo_workflows`), so every task
state shows in the demo: two tasks of the demo merchant on its best product, written through the same store
functions as the API.

- **Launch video** (fixed fee 200 per deliverable): two creators from the task's recommended list are invited —
  the first accepts (its first video's draft claims 最便宜 without a disclosure and gets changes requested, its
  second video's draft passed and was approved, its post waits to be created), the second has not answered; the
  demo creator has applied and waits for the demo merchant's answer.
- **Routine series** (fixed fee 150): the demo creator applied and was accepted; its first video passed QA (the fee
  shows in its statement), the second is done and waits for QA, the third's draft is in review with findings.

Then :func:`serving.demo_funnel.seed_demo_funnel` adds exposure, click, add-to-cart and order events for the
tasks' accepted pairs, so both task reports have figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from recsys.core.config import Settings
from recsys.core.store import Store, now_utc
from recsys.core.workflows.tasks import DeliverableState, Party
from serving import task_review_store, task_store, task_writes
from serving.demo_funnel import seed_demo_funnel
from serving.schemas.tasks import TaskCreate
from serving.state import open_matcher_state

FLAGGED = "全网最便宜的面霜，用了绝对有效！"
CLEAN = "【广告】这款面霜质地轻薄，早晚都能用，干皮也不会起皮。"
LINK = "https://example.com/demo/content/{}"


def _task_body(product_id: str, title: str, fee: float, videos: int, posts: int, now: datetime) -> TaskCreate:
    day = now.date()
    lines: list[dict[str, Any]] = [{"format": "video", "quantity": videos}]
    if posts:
        lines.append({"format": "post", "quantity": posts})
    return TaskCreate.model_validate(
        {
            "title": title,
            "product_ids": [product_id],
            "goal": "purchase",
            "deliverables": lines,
            "brief": "Show the product in a real routine; say what it does, not what it cures.",
            "talking_points": ["light texture", "fits a morning routine"],
            "required_terms": ["面霜"],
            "forbidden_terms": ["治愈"],
            "disclosure_required": True,
            "milestones": [
                {"name": "first_draft", "due": (day + timedelta(days=3)).isoformat()},
                {"name": "review", "due": (day + timedelta(days=6)).isoformat()},
                {"name": "go_live", "due": (day + timedelta(days=14)).isoformat()},
                {"name": "recap", "due": (day + timedelta(days=28)).isoformat()},
            ],
            "fee_per_deliverable": fee,
        }
    )


def _walk(
    store: Store, task: dict[str, Any], deliverable: dict[str, Any], steps: str, merchant: str, now: datetime
) -> None:
    """Drive one deliverable: ``f`` flagged draft + changes requested, ``r`` flagged draft left in review, ``c``
    clean draft, ``a`` approve, ``l`` final link, ``q`` QA passed."""
    creator_actor = f"creator:{deliverable['creator_id']}"
    merchant_actor = f"merchant:{merchant}"
    submission_id = ""
    for step in steps:
        current = task_store.load_deliverable(store, deliverable["deliverable_id"]) or deliverable
        if step in "frcl":
            text = FLAGGED if step in "fr" else CLEAN
            link = LINK.format(deliverable["deliverable_id"]) if step == "l" else None
            submission_id = task_review_store.submit(
                store, task, current, text, link, creator_actor, Party.CREATOR, now
            )
            if step == "f":
                stored = task_store.load_submission(store, submission_id) or {}
                reasons = ["remove the absolute claims (最便宜, 绝对有效)", "add the ad disclosure (广告)"]
                task_review_store.review(store, stored, False, reasons, Party.MERCHANT, merchant_actor, now)
        elif step == "a":
            stored = task_store.load_submission(store, submission_id) or {}
            task_review_store.review(store, stored, True, [], Party.MERCHANT, merchant_actor, now)
        elif step == "q":
            task_review_store.transition(
                store,
                deliverable["deliverable_id"],
                DeliverableState.PASSED_QA,
                Party.MERCHANT,
                merchant_actor,
                [],
                now,
            )


def seed_demo_tasks(settings: Settings, store: Store, merchant_id: str, creator_id: str) -> dict[str, object]:
    """Seed the two demo tasks (see the module docstring) and their funnel events; returns what was seeded."""
    matcher = open_matcher_state(settings, store).matcher
    top = matcher.recommend_creators_for_merchant(merchant_id, 5)
    if not top:
        return {"tasks": 0}
    product_id = top[0].product_id
    now = now_utc() - timedelta(hours=1)  # the seeded moves are in the past of the demo's first request
    launch_id = task_writes.create_task(store, merchant_id, _task_body(product_id, "Launch video", 200, 2, 1, now), now)
    series_id = task_writes.create_task(
        store, merchant_id, _task_body(product_id, "Routine series", 150, 3, 0, now), now
    )
    listed = matcher.recommend_creators(product_id, 10)
    invited = [r.creator_id for r in listed if r.creator_id != creator_id][:2]
    launch = task_store.load_task(store, launch_id) or {}
    series = task_store.load_task(store, series_id) or {}
    if invited:
        task_writes.invite(store, launch, invited, now)
        task_writes.answer(store, launch, invited[0], True, Party.CREATOR, None, now)
        units = task_store.list_deliverables(store, launch_id, invited[0])
        for deliverable, steps in zip(units, ("f", "ca", ""), strict=False):
            _walk(store, launch, deliverable, steps, merchant_id, now)
    task_writes.apply(store, launch, creator_id, "Happy to film this one too.", now)
    task_writes.apply(store, series, creator_id, "My audience loves routines.", now)
    task_writes.answer(store, series, creator_id, True, Party.MERCHANT, None, now)
    units = task_store.list_deliverables(store, series_id, creator_id)
    for deliverable, steps in zip(units, ("fcalq", "cal", "r"), strict=False):
        _walk(store, series, deliverable, steps, merchant_id, now)
    funnel = seed_demo_funnel(settings, store, [launch_id, series_id], now_utc())
    return {"tasks": 2, "task_ids": [launch_id, series_id], "invited": len(invited), **funnel}
