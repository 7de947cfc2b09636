"""Demo data for the workflows after a match (``recsys demo`` calls it once, through the CLI): the demo merchant
invites the demo creator and three creators from its best product's list; one accepts, one declines, the demo
creator's invitation stays pending (its key can accept it); the accepted creator's sample request is approved and
shipped, and the demo creator's waits for the demo merchant; the demo creator gets orders in every settlement state
(:mod:`serving.demo_orders`). Written through the same store functions as the API."""

from __future__ import annotations

from datetime import timedelta

from recsys.core.config import Settings
from recsys.core.store import Store, now_utc
from recsys.core.workflows import InviteAction, SampleAction
from serving import invite_store, sample_store
from serving.demo_orders import seed_demo_orders
from serving.errors import ApiError
from serving.state import open_matcher_state


def seed_demo_workflows(settings: Settings, store: Store, merchant_id: str, creator_id: str) -> dict[str, object]:
    """Seed invitations and sample requests; returns what was seeded (recorded in the demo state)."""
    matcher = open_matcher_state(settings, store).matcher
    top = matcher.recommend_creators_for_merchant(merchant_id, 5)
    if not top:
        return {"invites": 0, "sample_requests": 0}
    product_id = top[0].product_id
    listed = matcher.recommend_creators(product_id, 10)
    others = [r.creator_id for r in listed if r.creator_id != creator_id][:3]
    best = max((r.commission_rate for r in listed), default=0.1)
    rate = round(min(best + 0.05, settings.rules.commission_max), 2)
    now = now_utc()
    invites = invite_store.invite_creators(
        store, settings, product_id, merchant_id, [creator_id, *others], rate, now + timedelta(days=7), now
    )
    if len(invites) > 1:
        invite_store.respond(store, settings, invites[1], InviteAction.ACCEPT, now)
    if len(invites) > 2:
        invite_store.respond(store, settings, invites[2], InviteAction.DECLINE, now)
    requests = 0
    steps = {invites[1]["creator_id"]: (SampleAction.APPROVE, SampleAction.SHIP)} if len(invites) > 1 else {}
    for creator in [*steps, creator_id]:
        try:  # a product out of samples just seeds fewer requests
            record = sample_store.create_request(store, product_id, merchant_id, creator, "demo request", now)
            requests += 1
            for action in steps.get(creator, ()):
                sample_store.apply_action(store, record["request_id"], action, now)
        except ApiError:
            continue
    orders = seed_demo_orders(settings, store, creator_id)  # statements are not empty (serving.demo_orders)
    return {"product_id": product_id, "invites": len(invites), "sample_requests": requests, **orders}
