"""The demo's seeded invitations and sample requests, read back through the API with the demo's roles."""

from __future__ import annotations

from recsys.core.store import Store
from tests.serving.conftest import key


def test_the_demo_seeds_invitations_and_sample_requests(client, env) -> None:  # type: ignore[no-untyped-def]
    from serving.demo_workflows import seed_demo_workflows

    w = env.world
    store = Store(env.settings.resolved_database_url)
    try:
        seeded = seed_demo_workflows(env.settings, store, w.merchant, w.creator)
    finally:
        store.dispose()
    assert seeded["invites"] == 4 and seeded["sample_requests"] in (1, 2)
    product = seeded["product_id"]
    invites = client.get(f"/v1/products/{product}/invites", headers=key(w, "merchant")).json()["items"]
    assert sorted(i["status"] for i in invites) == ["accepted", "declined", "pending", "pending"]
    mine = client.get(f"/v1/creators/{w.creator}/invites", headers=key(w, "creator")).json()["items"]
    assert [i["status"] for i in mine] == ["pending"]
    accepted = client.post(f"/v1/invites/{mine[0]['invite_id']}/accept", headers=key(w, "creator"))
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
