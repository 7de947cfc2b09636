"""``python -m recsys`` runs the CLI."""

from recsys.app.cli import app

app()
