"""The base of every settings section: unknown keys are errors and a section never changes once built."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A nested settings table (``[rules]`` in ``recsys.toml``, ``RECSYS_RULES__...`` in the environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
