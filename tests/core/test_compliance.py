"""The compliance checker: measured on a labelled phrase table, plus spans, context rules and the rule table loader."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from recsys.core.compliance import RULES_VERSION, ComplianceContext, check_text
from recsys.core.compliance.rule_table import RuleTableError, parse_rule_table

PHRASES = Path(__file__).parent / "data" / "compliance_phrases.csv"
NO_DISCLOSURE = ComplianceContext(disclosure_required=False)
HEADER = "# version: 1\nrule_id,category,language,match,pattern,message\n"


def _labelled_rows() -> list[dict[str, str]]:
    with PHRASES.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _context(row: dict[str, str]) -> ComplianceContext:
    prices = (float(row["plan_price"]),) if row["plan_price"] else ()
    return ComplianceContext(disclosure_required=row["disclosure_required"] == "1", plan_prices=prices)


def _precision_recall(rows: list[dict[str, str]]) -> tuple[float, float, list[str]]:
    """Phrase-level figures: a phrase is positive when it has any non-compliant category."""
    tp = fp = fn = 0
    mistakes = []
    for row in rows:
        flagged = bool(check_text(row["phrase"], _context(row)))
        expected = bool(row["categories"])
        tp += flagged and expected
        fp += flagged and not expected
        fn += expected and not flagged
        if flagged != expected:
            mistakes.append(row["phrase"])
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), mistakes


def test_labelled_table_precision_and_recall_at_least_0_9() -> None:
    rows = _labelled_rows()
    assert len(rows) >= 100
    assert {row["language"] for row in rows} == {"zh", "en"}
    assert sum(bool(row["categories"]) for row in rows) >= 40 and sum(not row["categories"] for row in rows) >= 40
    precision, recall, mistakes = _precision_recall(rows)
    for split in ("dev", "holdout", "blind"):
        p, r, _ = _precision_recall([row for row in rows if row["split"] == split])
        print(f"compliance {split}: precision {p:.3f} recall {r:.3f}")
    print(f"compliance all {len(rows)} phrases: precision {precision:.3f} recall {recall:.3f}; wrong: {mistakes}")
    assert precision >= 0.9 and recall >= 0.9, mistakes


def test_labelled_categories_mostly_match() -> None:
    """Beyond flagged or not, the category set found equals the labelled one for at least 90% of phrases."""
    rows = _labelled_rows()
    same = sum(
        {f.category for f in check_text(row["phrase"], _context(row))}
        == set(filter(None, row["categories"].split(";")))
        for row in rows
    )
    assert same / len(rows) >= 0.9


def test_cheapest_without_disclosure_has_both_findings_with_spans() -> None:
    text = "这款面霜最便宜，最近很火"
    findings = check_text(text, ComplianceContext(disclosure_required=True))
    assert [(f.category, f.start, f.end, f.excerpt) for f in findings] == [
        ("missing_disclosure", 0, 0, ""),
        ("absolute_claim", 4, 7, "最便宜"),
    ]
    assert text[4:7] == "最便宜"
    assert findings[1].rule_id == "zh.absolute.zuipianyi"
    corrected = "这款面霜性价比很高，最近很火 #广告"
    assert check_text(corrected, ComplianceContext(disclosure_required=True)) == []


@pytest.mark.parametrize("text", ["最近很忙", "第一次用", "Best regards, Anna", "It lasts two hours at best"])
def test_tricky_negatives_pass(text: str) -> None:
    assert check_text(text, NO_DISCLOSURE) == []


def test_nested_claims_are_one_finding() -> None:
    findings = check_text("绝对有效", NO_DISCLOSURE)
    assert [(f.rule_id, f.category, f.start, f.end) for f in findings] == [
        ("zh.guarantee.jueduiyouxiao", "guarantee", 0, 4)
    ]


def test_price_below_plan_contradicts_but_a_discount_does_not() -> None:
    context = ComplianceContext(disclosure_required=False, plan_prices=(129.0, 99.0))
    findings = check_text("原价199，今天只要89元，立减10元", context)
    assert [(f.category, f.excerpt) for f in findings] == [("price_contradiction", "89元")]
    assert check_text("到手价98.5元", context) == []  # within 1% of the lowest plan price


def test_brief_terms_required_and_forbidden() -> None:
    context = ComplianceContext(disclosure_required=False, required_terms=("SPF50",), forbidden_terms=("美白",))
    findings = check_text("美白又保湿，真的美白", context)
    assert [(f.category, f.start, f.end) for f in findings] == [
        ("required_term_missing", 0, 0),
        ("forbidden_term", 0, 2),
        ("forbidden_term", 8, 10),
    ]
    assert check_text("spf50 防晒", context) == []  # terms are case-insensitive


def test_finding_to_dict_is_json_ready() -> None:
    (finding,) = check_text("The cheapest blender", NO_DISCLOSURE)
    assert finding.to_dict() == {
        "rule_id": "en.absolute.cheapest",
        "category": "absolute_claim",
        "start": 4,
        "end": 12,
        "excerpt": "cheapest",
        "message": finding.message,
    }


def test_rules_version_comes_from_the_table() -> None:
    table_text = (Path(__file__).parents[2] / "recsys/core/compliance/rules/rules.csv").read_text(encoding="utf-8")
    assert table_text.startswith(f"# version: {RULES_VERSION}\n")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("rule_id,category\n", "first line"),
        ("# version: 1\nrule_id,category\n", "header"),
        (HEADER + "x,claim,zh,token,最,m\n", "claim"),
        (HEADER + "x,guarantee,zh,regex,(,m\n", "bad regex"),
        (HEADER + "x,guarantee,zh,token,,m\n", "empty pattern"),
        (
            HEADER + "x,guarantee,zh,token,a,m\nx,guarantee,zh,token,b,m\n",
            "duplicate",
        ),
    ],
)
def test_malformed_rule_table_is_refused_naming_the_reason(text: str, reason: str) -> None:
    with pytest.raises(RuleTableError, match=reason):
        parse_rule_table(text)
