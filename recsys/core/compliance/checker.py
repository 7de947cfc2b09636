"""The compliance check: a text and a task's context in, findings with spans out (pure, no I/O).

Steps, each driven by the rule table (:mod:`recsys.core.compliance.rule_table`) rather than code branches:

1. claims — every ``absolute_claim`` and ``guarantee`` rule is matched (token, phrase or regex; Chinese rules on
   jieba tokens, English rules on word tokens);
2. exceptions — a claim or price inside an ``exception`` match ("best regards", 你最好, 立减30元) is dropped;
3. overlaps — a finding inside a longer finding's span is dropped (绝对有效 is one guarantee, not also 绝对);
4. disclosure — when required and no ``disclosure_marker`` matches, one ``missing_disclosure`` finding at (0, 0);
5. prices — a ``price_pattern`` amount below ``min(plan_prices) * 0.99`` contradicts the plan;
6. the brief — each required term absent (case-insensitive) is one finding at (0, 0); each forbidden term's
   occurrences are findings with their spans.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from recsys.core.compliance.rule_table import Language, MatchKind, Rule, RuleCategory, RuleTable
from recsys.core.compliance.tokenize import Token, chinese_tokens, english_tokens

FindingCategory = Literal[
    "absolute_claim",
    "guarantee",
    "missing_disclosure",
    "price_contradiction",
    "required_term_missing",
    "forbidden_term",
]
PRICE_TOLERANCE = 0.99
"""A price up to 1% below the plan's lowest price is rounding, not a contradiction."""


@dataclass(frozen=True)
class ComplianceContext:
    """What the task asks of a text: disclosure, the brief's required and forbidden terms, the plan's prices (CNY)."""

    disclosure_required: bool = True
    required_terms: tuple[str, ...] = ()
    forbidden_terms: tuple[str, ...] = ()
    plan_prices: tuple[float, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem in a text: the rule, its category, the span (end exclusive; (0, 0) for an absence)."""

    rule_id: str
    category: FindingCategory
    start: int
    end: int
    excerpt: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "excerpt": self.excerpt,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Tokens:
    zh: list[Token]
    en: list[Token]

    def of(self, language: Language) -> list[Token]:
        return self.en if language == Language.EN else self.zh


def check(text: str, context: ComplianceContext, table: RuleTable) -> list[Finding]:
    """All findings for ``text`` under ``table``, sorted by start then rule id."""
    tokens = _Tokens(zh=chinese_tokens(text, _zh_custom_words(table)), en=english_tokens(text))
    exceptions = [span for rule in table.of(RuleCategory.EXCEPTION) for span in _matches(rule, text, tokens)]
    claims = [
        _finding(rule, text, start, end)
        for category in (RuleCategory.ABSOLUTE_CLAIM, RuleCategory.GUARANTEE)
        for rule in table.of(category)
        for start, end in _matches(rule, text, tokens)
    ]
    findings = _drop_overlaps([f for f in claims if not _inside_any(f.start, f.end, exceptions)])
    findings += _disclosure(text, context, table, tokens, exceptions)
    findings += _prices(text, context, table, exceptions)
    findings += _brief(text, context)
    return sorted(findings, key=lambda f: (f.start, f.end, f.rule_id))


def _zh_custom_words(table: RuleTable) -> frozenset[str]:
    """Chinese token terms of two characters or more, added to jieba's dictionary so each is one token."""
    return frozenset(
        rule.pattern
        for rule in table.rules
        if rule.match == MatchKind.TOKEN and rule.language != Language.EN and len(rule.pattern) > 1
    )


def _matches(rule: Rule, text: str, tokens: _Tokens) -> Iterator[tuple[int, int]]:
    """The (start, end) spans where ``rule`` matches ``text``."""
    if rule.regex is not None:
        for match in rule.regex.finditer(text):
            if match.end() > match.start():
                yield match.start(), match.end()
        return
    languages = (Language.ZH, Language.EN) if rule.language == Language.ANY else (rule.language,)
    for language in languages:
        if rule.match == MatchKind.TOKEN:
            term = rule.pattern.lower()
            yield from ((t.start, t.end) for t in tokens.of(language) if t.text == term)
        else:
            yield from _phrase_matches(rule.pattern, text, tokens.of(language))


def _phrase_matches(phrase: str, text: str, tokens: list[Token]) -> Iterator[tuple[int, int]]:
    """Spans of ``phrase`` in ``text`` (case-insensitive, spaces optional) that begin and end on token edges."""
    wanted = "".join(phrase.lower().split())
    starts = {t.start: i for i, t in enumerate(tokens)}
    lowered = text.lower()
    for index in starts.values():
        joined = ""
        for token in tokens[index:]:
            piece = lowered[token.start : token.end]
            joined += "".join(piece.split())
            if joined == wanted:
                yield tokens[index].start, token.end
                break
            if not wanted.startswith(joined):
                break


def _inside_any(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(outer_start <= start and end <= outer_end for outer_start, outer_end in spans)


def _drop_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the longest finding where spans nest; one finding per identical span (the first rule in the table)."""
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start - f.end, f.start)):
        if not _inside_any(finding.start, finding.end, ((k.start, k.end) for k in kept)):
            kept.append(finding)
    return kept


def _finding(rule: Rule, text: str, start: int, end: int) -> Finding:
    category: FindingCategory = "guarantee" if rule.category == RuleCategory.GUARANTEE else "absolute_claim"
    return Finding(rule.rule_id, category, start, end, text[start:end], rule.message)


def _disclosure(
    text: str, context: ComplianceContext, table: RuleTable, tokens: _Tokens, exceptions: list[tuple[int, int]]
) -> list[Finding]:
    """One ``missing_disclosure`` finding unless a marker appears outside an exception (不是广告 is no marker)."""
    if not context.disclosure_required:
        return []
    for rule in table.of(RuleCategory.DISCLOSURE_MARKER):
        if any(not _inside_any(start, end, exceptions) for start, end in _matches(rule, text, tokens)):
            return []
    message = "The text carries no ad disclosure (e.g. 广告, 合作, #ad, paid partnership) and the task requires one."
    return [Finding("disclosure.missing", "missing_disclosure", 0, 0, "", message)]


def _prices(
    text: str, context: ComplianceContext, table: RuleTable, exceptions: list[tuple[int, int]]
) -> list[Finding]:
    if not context.plan_prices:
        return []
    floor = min(context.plan_prices) * PRICE_TOLERANCE
    findings = []
    for rule in table.of(RuleCategory.PRICE_PATTERN):
        assert rule.regex is not None  # the loader compiles every price pattern
        for match in rule.regex.finditer(text):
            amount = next((group for group in match.groups() if group), None)
            if amount is None or float(amount) >= floor or _inside_any(match.start(), match.end(), exceptions):
                continue
            lowest = min(context.plan_prices)
            message = f"{rule.message.rstrip('.')}: the text says {float(amount):g}, the plan's lowest is {lowest:g}."
            findings.append(
                Finding(rule.rule_id, "price_contradiction", match.start(), match.end(), match.group(), message)
            )
    return findings


def _brief(text: str, context: ComplianceContext) -> list[Finding]:
    lowered = text.lower()
    findings = [
        Finding(
            "brief.required",
            "required_term_missing",
            0,
            0,
            "",
            f"The brief requires the term {term!r}, which the text does not contain.",
        )
        for term in context.required_terms
        if term.strip() and term.strip().lower() not in lowered
    ]
    for term in context.forbidden_terms:
        wanted = term.strip().lower()
        if not wanted:
            continue
        start = lowered.find(wanted)
        while start >= 0:
            end = start + len(wanted)
            message = f"The brief forbids the term {term!r}."
            findings.append(Finding("brief.forbidden", "forbidden_term", start, end, text[start:end], message))
            start = lowered.find(wanted, end)
    return findings
