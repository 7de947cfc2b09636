"""``POST /v1/score``: explicit (creator, product) pairs, up to 1,000 per call."""

from __future__ import annotations

from fastapi import APIRouter

from recsys.core.vocab import Role
from serving.deps import PrincipalDep, SettingsDep, StateDep
from serving.errors import ApiError, forbidden, responses
from serving.schemas import ScoreRequest, ScoreResponse
from serving.views import pair_item, text

router = APIRouter(tags=["score"])


def _field_error(message: str, loc: list[str | int], kind: str) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        f"{'.'.join(map(str, loc))}: {message}",
        [{"loc": [str(p) for p in loc], "msg": message, "type": kind}],
    )


@router.post(
    "/v1/score",
    response_model=ScoreResponse,
    summary="Score explicit pairs",
    responses=responses(401, 403, 422, 503),
)
async def score_pairs(
    body: ScoreRequest, principal: PrincipalDep, settings: SettingsDep, state: StateDep
) -> ScoreResponse:
    """Fit, predicted GMV and units, the plan and commission the creator would get, expected commission, merchant
    ROI and reasons for each pair. Pairs the rules do not allow are scored too and say why (`refusal`); a listed
    plan that does not name the creator never shows (the pair reads as "no plan offered").

    Who may call: the admin (any pairs); a creator, for pairs of its own creator id; a merchant, for pairs of its
    own products."""
    if len(body.pairs) > settings.serving.max_score_pairs:
        raise _field_error(f"at most {settings.serving.max_score_pairs} pairs per call", ["body", "pairs"], "too_long")
    if principal.role is Role.CREATOR:
        others = [p.creator_id for p in body.pairs if p.creator_id != principal.tenant_id]
        if others:
            raise forbidden(f"a creator key may only score its own pairs; got creator {others[0]!r}")
    tables = state.bundle.engine.tables
    for i, pair in enumerate(body.pairs):
        if pair.creator_id not in tables.creators:
            raise _field_error(
                f"unknown creator {pair.creator_id!r}", ["body", "pairs", i, "creator_id"], "unknown_creator"
            )
        if pair.product_id not in tables.products:
            raise _field_error(
                f"unknown product {pair.product_id!r}", ["body", "pairs", i, "product_id"], "unknown_product"
            )
    if principal.role is Role.MERCHANT:
        catalog = state.matcher.catalog
        for pair in body.pairs:
            owner = text(catalog.product_merchant[tables.products.row(pair.product_id)])
            if owner != principal.tenant_id:
                raise forbidden(f"a merchant key may only score its own products; {pair.product_id!r} is not one")
    recs = state.matcher.score_pairs(
        [p.creator_id for p in body.pairs], [p.product_id for p in body.pairs], body.format
    )
    return ScoreResponse(model_run_id=state.run_id, items=[pair_item(state, r) for r in recs])
