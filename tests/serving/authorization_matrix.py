"""The authorization matrix's shared parts: a case (one endpoint, the keys of its right and wrong tenant, the status
expected for each caller) and the check that calls it as every caller.

``test_authorization.py`` (recommendations, plans, events, onboarding, probes) and
``test_authorization_workflows.py`` (invitations and sample requests) each hold their own cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.serving.conftest import key
from tests.serving.world import World

CALLERS = ("none", "bad", "wrong", "right", "admin")
"""No key, a malformed key, the wrong tenant's key, the right tenant's key, the admin key."""


@dataclass(frozen=True)
class Case:
    """One endpoint of the matrix: how to call it, whose keys are the wrong and the right tenant's, and the status
    expected for each caller of :data:`CALLERS`."""

    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] | None
    wrong: str | None  # key of the wrong tenant (None: public endpoint)
    right: str | None  # key of the right tenant
    expect: dict[str, int]


OK = {"none": 401, "bad": 401, "wrong": 403, "right": 200, "admin": 200}
"""The usual expectations: no or bad key 401, the wrong tenant 403, the right tenant and the admin 200."""


def _headers(w: World, who: str, case: Case) -> dict[str, str]:
    if who == "none":
        return {}
    if who == "bad":
        return {"X-API-Key": "rk_0123456789ab.not-a-real-key"}
    name = {"wrong": case.wrong, "right": case.right, "admin": "admin"}[who] or "admin"
    return key(w, name)


def check_case(client: Any, w: World, case: Case) -> None:
    """Call the case's endpoint as every caller (``client``: the module's TestClient) and check each status; a 401
    or 403 must carry the house error shape with an auth error code and a message."""
    for who in CALLERS:
        kwargs: dict[str, Any] = {"headers": _headers(w, who, case)}
        if case.body is not None:
            kwargs["json"] = case.body(w)
        res = client.request(case.method, case.path(w), **kwargs)
        assert res.status_code == case.expect[who], f"{case.name} as {who}: {res.status_code} {res.text[:300]}"
        if res.status_code in (401, 403):
            error = res.json()["error"]
            assert error["code"] in {"missing_api_key", "invalid_api_key", "forbidden"} and error["message"]
