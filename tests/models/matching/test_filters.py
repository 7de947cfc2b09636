"""List filters and block paging, worked by hand: which rows each mask keeps, and how a list is cut into pages."""

from __future__ import annotations

import numpy as np
import pytest

from models.matching.filters import dominant_is, excluded_mask, range_mask, share_at_least
from models.matching.outcomes import Outcomes
from models.matching.rerank import Ranked, in_blocks, page_blocks
from models.matching.resolution import Resolved
from recsys.core.schema import AUDIENCE_KEYS
from recsys.core.vocab import AgeBand, AudienceGender, Vocabulary


def test_range_mask_is_inclusive_and_never_passes_nan() -> None:
    values = np.array([1.0, 5.0, np.nan, 10.0, 12.0])
    assert range_mask(values, 2, 10).tolist() == [False, True, False, True, False]
    assert range_mask(values, None, 5).tolist() == [True, True, False, False, False]
    assert range_mask(values, 10, None).tolist() == [False, False, False, True, True]
    assert range_mask(values, None, None) is None


def test_excluded_mask_leaves_out_known_ids_only() -> None:
    vocab = Vocabulary(["a", "b", "c"])
    assert excluded_mask(vocab, ["b", "zz", "b"]).tolist() == [True, False, True]  # type: ignore[union-attr]
    assert excluded_mask(vocab, ["zz"]) is None
    assert excluded_mask(vocab, []) is None


def _audience(*rows: dict[str, float]) -> np.ndarray:
    """Audience share rows (columns in AUDIENCE_KEYS order), stored as float32 like the feature tables."""
    return np.array([[row.get(k, 0.0) for k in AUDIENCE_KEYS] for row in rows], np.float32)


def test_gender_share_at_least_reads_float32_shares_exactly() -> None:
    audience = _audience({"female": 0.7, "male": 0.3}, {"female": 0.69, "male": 0.31}, {"female": 0.2, "male": 0.8})
    assert float(np.float32(0.7)) < 0.7  # the stored share reads just below the value asked for
    assert share_at_least(audience, AudienceGender.FEMALE, 0.7).tolist() == [True, False, False]
    assert share_at_least(audience, AudienceGender.MALE, 0.5).tolist() == [False, False, True]


def test_dominant_band_is_the_largest_share_and_a_tie_goes_to_the_younger_band() -> None:
    audience = _audience(
        {"age_18_23": 0.1, "age_24_30": 0.5, "age_31_40": 0.4},
        {"age_18_23": 0.4, "age_24_30": 0.4, "age_31_40": 0.2},  # a tie: the earlier band
        {"age_41_50": 0.3, "age_50_plus": 0.7},
    )
    assert dominant_is(audience, "age", AgeBand.AGE_24_30.value).tolist() == [True, False, False]
    assert dominant_is(audience, "age", AgeBand.AGE_18_23.value).tolist() == [False, True, False]
    assert dominant_is(audience, "age", AgeBand.AGE_50_PLUS.value).tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("n", "offset", "k", "expected"),
    [
        (450, 0, 20, (0, 200)),  # the first page: the first block
        (450, 190, 20, (0, 400)),  # a page across a boundary: both blocks
        (450, 400, 100, (400, 450)),  # the last, short block
        (450, 200, 200, (200, 400)),
    ],
)
def test_page_blocks_cover_the_page_with_whole_blocks(n: int, offset: int, k: int, expected: tuple) -> None:
    span = page_blocks(n, offset, k, 200)
    assert (span.start, span.stop) == expected


def _outcomes(gmv: list[float]) -> Outcomes:
    n = len(gmv)
    z = np.zeros(n)
    none = np.full(n, None, dtype=object)
    resolved = Resolved(np.ones(n, bool), z, np.full(n, -1), np.full(n, -1), none, None, np.arange(n))
    g = np.array(gmv)
    return Outcomes(np.arange(n), g, g, g, z, z, z, z, z, z, resolved)


def _by_gmv(outcomes: Outcomes) -> Ranked:
    order = np.lexsort((outcomes.idx, -outcomes.gmv))
    return Ranked(order, outcomes.gmv, outcomes.gmv, np.zeros(len(order)))


def test_blocks_are_reranked_apart_and_kept_in_order() -> None:
    # candidates in the ranker's order; each block of 3 is reordered by GMV on its own
    outcomes = _outcomes([1.0, 3.0, 2.0, 9.0, 0.5, 4.0, 7.0])
    ranked = in_blocks(_by_gmv, outcomes, 3)
    assert ranked.order.tolist() == [1, 2, 0, 3, 5, 4, 6]  # 9.0 stays in the second block
    assert ranked.score.tolist() == outcomes.gmv.tolist()  # scores stay aligned with the outcomes rows
    # a page cut anywhere equals the same slice of the whole list: reranking the second block alone agrees
    second = in_blocks(_by_gmv, outcomes.take(np.arange(3, 6)), 3)
    assert (second.order + 3).tolist() == ranked.order[3:6].tolist()
