"""``recsys`` command-line interface. Each module is named after the command (group) it registers on the shared
typer app; the import order below is the order ``recsys --help`` lists them in (commands, then groups)."""

from recsys.app.cli import brand, data, experiment, serve, demo, synth, train, batch, settle, keys, recommend, ab, db  # noqa: F401, I001
from recsys.app.cli._app import app

__all__ = ["app"]
