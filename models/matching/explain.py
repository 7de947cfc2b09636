"""Reasons for a page of recommendations: typed, exact and varied.

A reason is a code (:class:`recsys.core.vocab.ReasonCode`), the exact figures it quotes (``params``, from the
evidence arrays: :mod:`models.matching.reasons`) and a sentence built from them (:mod:`models.matching.sentences`).
Which reasons an item shows:

1. **evidence** — per code, the summed contributions of the ranker's features behind it (e.g. ``x_overlap*`` for
   ``audience_match``), so a reason is shown only where the model's score actually leaned on it (evidence of at
   least ``min_evidence``, 0.001);
2. **eligibility** — per code, a threshold on the facts, so what the sentence claims is true and worth saying
   (e.g. ``audience_match`` only at an overlap of 80% or more with a target the merchant published);
3. **diversity over the page** — items are taken in page order; a code's evidence is multiplied by
   ``repeat_decay`` for every earlier item that shows it, a code leads at most ``ceil(lead_share x page size)``
   items, and an item shows at most ``per_item`` reasons. A list of 20 then does not open with the same code 20
   times, while each item still shows only its own true, model-backed reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from features.tables import FeatureTables
from models.matching.reasons import SPECS, PairFacts, ReasonSpec
from models.matching.sentences import Params, sentence
from recsys.core.vocab import Direction, ReasonCode


@dataclass(frozen=True)
class Reason:
    """One reason: its code, the exact figures it quotes, its sentence, and its evidence — the summed
    contributions to the ranker's score of the features behind the code (>= ``Selection.min_evidence``)."""

    code: ReasonCode
    params: Params
    text: str
    contribution: float


@dataclass(frozen=True)
class Selection:
    """How a page's reasons are chosen and spread (see the module docstring); ``min_evidence``: the least summed
    contribution (in the ranker's score units) that counts as the score leaning on a reason."""

    per_item: int = 3
    lead_share: float = 0.25
    repeat_decay: float = 0.5
    min_evidence: float = 1e-3


def evidence_weights(names: Sequence[str], specs: Sequence[ReasonSpec]) -> np.ndarray:
    """(n_features, n_specs) 0/1: feature ``j`` counts as evidence of spec ``s`` when its name starts with one of
    the spec's prefixes."""
    out = np.zeros((len(names), len(specs)))
    for s, spec in enumerate(specs):
        out[[j for j, name in enumerate(names) if name.startswith(spec.evidence)], s] = 1.0
    return out


def choose(evidence: np.ndarray, eligible: np.ndarray, selection: Selection = Selection()) -> list[list[int]]:
    """Per row (page order), the columns (codes) to show, leading reason first.

    evidence : (n_rows, n_codes) evidence of each code for each row
    eligible : (n_rows, n_codes) bool — the code's threshold holds for the row
    """
    n_rows, n_codes = evidence.shape
    cap = max(1, math.ceil(selection.lead_share * n_rows))
    shown, led = [0] * n_codes, [0] * n_codes
    strength = evidence.tolist()  # a page is ~20 rows of ~10 codes: plain Python beats numpy per row here
    allowed = (eligible & (evidence >= selection.min_evidence)).tolist()
    out: list[list[int]] = []
    for row, ok in zip(strength, allowed, strict=True):
        candidates = [j for j in range(n_codes) if ok[j]]
        # strongest first after the decay for earlier items showing the code; ties by code order
        order = sorted(candidates, key=lambda j: (-row[j] * selection.repeat_decay ** shown[j], j))
        if not order:
            out.append([])
            continue
        lead = next((j for j in order if led[j] < cap), order[0])
        picked = [lead, *[j for j in order if j != lead][: selection.per_item - 1]]
        led[lead] += 1
        for j in picked:
            shown[j] += 1
        out.append(picked)
    return out


class ReasonExplainer:
    """Reasons of a direction's pages from the ranker's contributions and the tables' evidence arrays. Codes whose
    arrays the bundle lacks (a bundle written before they existed) are never shown."""

    def __init__(self, tables: FeatureTables, direction: Direction, selection: Selection = Selection()) -> None:
        self.tables = tables
        self.direction = direction
        self.selection = selection
        self.specs = [s for s in SPECS if direction in s.directions and all(name in tables.arrays for name in s.arrays)]
        self.weights = evidence_weights(tables.feature_names, self.specs)

    def explain(self, contributions: np.ndarray, c: np.ndarray, p: np.ndarray, rate: np.ndarray) -> list[list[Reason]]:
        """Reasons per pair of a page, in page order.

        contributions : (n_pairs, n_features + 1) the ranker's per-feature contributions (last column: bias)
        c, p : (n_pairs,) creator and product rows; rate : (n_pairs,) the commission rate each pair would get
        """
        return self.explain_evidence(np.asarray(contributions)[:, :-1] @ self.weights, c, p, rate)

    def explain_evidence(
        self, evidence: np.ndarray, c: np.ndarray, p: np.ndarray, rate: np.ndarray
    ) -> list[list[Reason]]:
        """:meth:`explain` from each pair's evidence per spec, ``contributions[:, :-1] @ self.weights``, already
        summed (e.g. by the ranker's per-leaf sums, ``BoostedTrees.grouped_explainer``)."""
        facts = PairFacts(self.tables, c, p, rate)
        eligible = np.zeros(evidence.shape, dtype=bool)
        for s, spec in enumerate(self.specs):
            eligible[:, s] = spec.eligible(facts)
        chosen = choose(evidence, eligible, self.selection)
        # each code's figures for the rows that show it, in one pass over its arrays (not item by item)
        shown: list[list[int]] = [[] for _ in self.specs]
        for i, columns in enumerate(chosen):
            for s in columns:
                shown[s].append(i)
        params = [
            dict(zip(rows, spec.params(facts, np.asarray(rows, dtype=np.int64)), strict=True)) if rows else {}
            for spec, rows in zip(self.specs, shown, strict=True)
        ]
        strength = evidence.tolist()
        out = []
        for i, columns in enumerate(chosen):
            row = []
            for s in columns:
                code, figures = self.specs[s].code, params[s][i]
                row.append(Reason(code, figures, sentence(code, figures, self.direction), round(strength[i][s], 4)))
            out.append(row)
        return out


def reason_type_coverage(lists: Iterable[Sequence[Sequence[Reason]]], min_codes: int = 4) -> float:
    """The share of lists whose items together carry at least ``min_codes`` distinct reason codes (NaN without
    lists). Each list is its items' reasons, e.g. ``[rec.reasons for rec in page]``."""
    hits = [len({r.code for item in items for r in item}) >= min_codes for items in lists]
    return float(np.mean(hits)) if hits else math.nan
