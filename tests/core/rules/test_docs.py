"""docs/rules.md cannot drift: its defaults are RulesSettings' defaults and its reason table is REASONS."""

from __future__ import annotations

import re
from pathlib import Path

from recsys.core.config import RulesSettings
from recsys.core.rules import REASONS

DOC = (Path(__file__).resolve().parents[3] / "docs" / "rules.md").read_text(encoding="utf-8")
DEFAULTS = RulesSettings()
FIELDS = set(RulesSettings.model_fields)


def _value(text: str) -> object:
    text = text.rstrip(".")
    if text in ("true", "false"):
        return text == "true"
    return float(text)


def test_settings_table_lists_every_setting_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `rules\.(\w+)` \| `([^`]+)` \|", DOC, flags=re.MULTILINE))
    assert set(rows) == FIELDS
    for name, text in rows.items():
        assert _value(text) == getattr(DEFAULTS, name), name


def test_every_default_mentioned_in_the_text_is_the_real_default() -> None:
    mentions = [(n, v) for n, v in re.findall(r"`(\w+)` = ([\w.]+)", DOC) if n in FIELDS]
    assert len(mentions) >= 20  # the rule tables really cite their settings
    for name, text in mentions:
        assert _value(text) == getattr(DEFAULTS, name), f"docs/rules.md says {name} = {text}"


def test_reason_table_is_the_registry_in_order() -> None:
    section = DOC.split("## Reason codes", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", section, flags=re.MULTILINE)
    assert rows == list(REASONS.items())
