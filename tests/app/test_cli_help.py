"""Every command's --help shows every option's help text whole (rich markup must not eat bracketed text)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from recsys.app.cli import app


def _commands(group: Any, prefix: list[str]) -> list[tuple[list[str], Any]]:
    """(path, command) of every command under ``group``, sub-groups included (typer's groups are not click's)."""
    found: list[tuple[list[str], Any]] = []
    for name, command in group.commands.items():
        path = [*prefix, name]
        found.append((path, command))
        if hasattr(command, "commands"):
            found += _commands(command, path)
    return found


COMMANDS = _commands(typer.main.get_command(app), [])


def test_every_command_is_reached() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"import", "export", "generate", "train", "serve", "demo", "keys create", "experiment", "score"} <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_shows_each_option_text_whole(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    for param in command.params:
        text = getattr(param, "help", None)
        if not text:
            continue
        plain = " ".join(text.replace("\\[", "[").split())
        assert plain in shown, f"`recsys {' '.join(path)} --help` mangles the help of {param.name}: {plain!r}"
