"""The README cannot drift from the code: its settings table, its rule defaults and its two commands."""

from __future__ import annotations

import re
from pathlib import Path

from recsys.core.config import RulesSettings, settings_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_configuration_table_is_every_setting_with_its_default() -> None:
    rows = re.findall(r"^\| `([\w.]+)` \| `([^`]*)` \| (.*) \|$", README, flags=re.MULTILINE)
    documented = {name: (default, meaning) for name, default, meaning in rows}
    expected = {name: (default, meaning) for name, default, meaning in settings_table()}
    assert documented == expected


def test_rule_defaults_quoted_in_the_readme_are_the_real_defaults() -> None:
    defaults = RulesSettings()
    mentions = [(n, v) for n, v in re.findall(r"`(\w+)` = ([\d.]+)", README) if n in RulesSettings.model_fields]
    assert len(mentions) >= 15
    for name, text in mentions:
        assert float(text) == float(getattr(defaults, name)), f"README says {name} = {text}"


def test_the_two_commands_exist_and_ci_runs_the_test_command() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, flags=re.MULTILINE) and re.search(r"^test: ", makefile, flags=re.MULTILINE)
    assert "make run" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()
