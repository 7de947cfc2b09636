"""Shared fixtures. Every random draw is seeded; data is tiny."""

from __future__ import annotations

import os

from hypothesis import settings as hypothesis_settings

os.environ.setdefault("RECSYS_CONFIG", os.devnull)  # tests never read a developer's recsys.toml

hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci")
