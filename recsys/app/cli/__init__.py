"""``recsys`` command-line interface. Each module registers its commands on the shared typer app."""

from recsys.app.cli import brand, data, experiment, serve, synth, train  # noqa: F401  (registers commands)
from recsys.app.cli._app import app

__all__ = ["app"]
