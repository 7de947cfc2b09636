"""Advertising compliance check of creators' scripts and captions (issue 22): pure, no I/O beyond the rule table.

``check_text(text, context)`` returns the :class:`Finding` s of a text — absolute and superlative claims, guarantees
of effect, a missing ad disclosure, prices below the plan, the brief's required terms missing and forbidden terms
present — each with its character span and the rule that fired; ``[]`` means the text passes. The rules live in the
versioned table ``rules/rules.csv`` (``RULES_VERSION`` is its version line); see ``docs/compliance.md``.
"""

from __future__ import annotations

from functools import lru_cache

from recsys.core.compliance.checker import ComplianceContext, Finding, FindingCategory, check
from recsys.core.compliance.rule_table import RuleTable, RuleTableError, load_rule_table

__all__ = [
    "RULES_VERSION",
    "ComplianceContext",
    "Finding",
    "FindingCategory",
    "RuleTableError",
    "check_text",
    "rule_table",
    "warm_up",
]


@lru_cache(maxsize=1)
def rule_table() -> RuleTable:
    """The shipped rule table, read and validated once per process."""
    return load_rule_table()


RULES_VERSION: str = rule_table().version
"""The rule table's version (its first line); stored with every checked submission."""


def check_text(text: str, context: ComplianceContext) -> list[Finding]:
    """The findings of ``text`` under the task's ``context``, sorted by start; ``[]`` means it passes."""
    return check(text, context, rule_table())


def warm_up() -> None:
    """Load jieba's dictionary and the rule table's words now (~1.5 s of CPU), so that the first submission a worker
    checks does not wait for them; the service calls it in a background thread at start."""
    check_text("预热 warm-up", ComplianceContext(disclosure_required=False))
