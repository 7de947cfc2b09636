"""CLI commands (registered on the shared app)."""

from __future__ import annotations

from recsys.cli._app import app  # noqa: F401
