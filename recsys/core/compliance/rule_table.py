"""The compliance rule table: a versioned CSV file read into typed, validated rules.

The table is data (``rules/rules.csv``), not code: a new banned term is a new row. The file's first line is
``# version: <version>``; the rest is CSV with the columns ``rule_id, category, language, match, pattern, message``
(``docs/compliance.md`` explains each column and how to add a rule). Loading refuses a malformed table, naming the
line and the reason, so a bad edit fails at start-up and in the tests rather than silently passing every text.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

RULES_PATH = Path(__file__).with_name("rules") / "rules.csv"
"""The shipped rule table."""
_VERSION_PREFIX = "# version:"
_COLUMNS = ("rule_id", "category", "language", "match", "pattern", "message")


class RuleCategory(StrEnum):
    """What a row does: the two claim categories produce findings; the others steer the check."""

    ABSOLUTE_CLAIM = "absolute_claim"
    GUARANTEE = "guarantee"
    EXCEPTION = "exception"  # a phrase that is not a claim (e.g. "best regards"): findings inside it are dropped
    DISCLOSURE_MARKER = "disclosure_marker"  # any match satisfies the disclosure rule
    PRICE_PATTERN = "price_pattern"  # a regex whose first matched group is a price in CNY


class MatchKind(StrEnum):
    """How ``pattern`` is found in a text (see :mod:`recsys.core.compliance.checker`)."""

    TOKEN = "token"  # one whole token of the language's tokenizer (jieba for zh), case-insensitive
    PHRASE = "phrase"  # the term's tokens in a row (spaces optional), starting and ending on token boundaries
    REGEX = "regex"  # a Python regular expression on the raw text


class Language(StrEnum):
    ZH = "zh"
    EN = "en"
    ANY = "any"


@dataclass(frozen=True)
class Rule:
    """One row of the table; ``regex`` is compiled for ``match == regex`` rows only."""

    rule_id: str
    category: RuleCategory
    language: Language
    match: MatchKind
    pattern: str
    message: str
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class RuleTable:
    version: str
    rules: tuple[Rule, ...]

    def of(self, category: RuleCategory) -> tuple[Rule, ...]:
        """The rules of one category, in table order."""
        return tuple(rule for rule in self.rules if rule.category == category)


class RuleTableError(ValueError):
    """The rule table is malformed; the message names the line and the reason."""


def load_rule_table(path: Path = RULES_PATH) -> RuleTable:
    """Read and validate a rule table file."""
    return parse_rule_table(path.read_text(encoding="utf-8"), source=str(path))


def parse_rule_table(text: str, source: str = "<rules>") -> RuleTable:
    """Parse the table's text: the version line, then CSV rows; raise :class:`RuleTableError` on any bad row."""
    first, _, body = text.partition("\n")
    if not first.startswith(_VERSION_PREFIX) or not first[len(_VERSION_PREFIX) :].strip():
        raise RuleTableError(f"{source}:1: the first line must be '{_VERSION_PREFIX} <version>'")
    version = first[len(_VERSION_PREFIX) :].strip()
    reader = csv.DictReader(io.StringIO(body))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise RuleTableError(f"{source}:2: the header must be {','.join(_COLUMNS)}")
    rules: list[Rule] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num + 1
        rule = _parse_row(row, f"{source}:{line}")
        if rule.rule_id in seen:
            raise RuleTableError(f"{source}:{line}: duplicate rule_id {rule.rule_id!r}")
        seen.add(rule.rule_id)
        rules.append(rule)
    return RuleTable(version=version, rules=tuple(rules))


def _parse_row(row: dict[str, str], where: str) -> Rule:
    values = {column: (row.get(column) or "").strip() for column in _COLUMNS}
    empty = [column for column in _COLUMNS if not values[column]]
    if empty:
        raise RuleTableError(f"{where}: empty {', '.join(empty)}")
    try:
        category = RuleCategory(values["category"])
        language = Language(values["language"])
        match = MatchKind(values["match"])
    except ValueError as exc:
        raise RuleTableError(f"{where}: {exc}") from exc
    regex = None
    if match == MatchKind.REGEX:
        try:
            regex = re.compile(values["pattern"])
        except re.error as exc:
            raise RuleTableError(f"{where}: bad regex {values['pattern']!r}: {exc}") from exc
    elif category == RuleCategory.PRICE_PATTERN:
        raise RuleTableError(f"{where}: a price_pattern rule must be a regex")
    return Rule(
        rule_id=values["rule_id"],
        category=category,
        language=language,
        match=match,
        pattern=values["pattern"],
        message=values["message"],
        regex=regex,
    )
