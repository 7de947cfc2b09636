"""Settings: defaults < ``recsys.toml`` < ``RECSYS_*`` environment variables.

Every tunable of the service is reached from here, typed and documented, so that a misspelled option is an error
and not a silent ``None``; the sections live in ``recsys.core.config_sections`` and are re-exported here. Nested
sections are set from the environment with a double underscore, e.g. ``RECSYS_RULES__AFTER_SALE_DAYS=7``; the TOML
file uses tables, e.g. ``[rules]`` / ``after_sale_days = 7``. The TOML file is ``./recsys.toml`` unless
``RECSYS_CONFIG`` names another.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from recsys.core.config_sections.learning import RankerSettings as RankerSettings
from recsys.core.config_sections.learning import RetrievalSettings as RetrievalSettings
from recsys.core.config_sections.marketplace import IntegritySettings as IntegritySettings
from recsys.core.config_sections.marketplace import MatchingSettings as MatchingSettings
from recsys.core.config_sections.marketplace import RulesSettings as RulesSettings
from recsys.core.config_sections.service import DemoSettings as DemoSettings
from recsys.core.config_sections.service import ServingSettings as ServingSettings


class Settings(BaseSettings):
    """All settings of the service. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="RECSYS_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/recsys.db. postgresql:// works too."
    )
    data_dir: Path = Field(Path("data"), description="Embedded store, quarantine and demo dataset live here.")
    artifacts_dir: Path = Field(
        Path("artifacts"), description="Trained bundles: artifacts/<run_id>/, artifacts/current."
    )
    runs_dir: Path = Field(Path("runs"), description="Offline experiment runs: runs/<run_id>/.")
    shared_data_dir: Path = Field(Path("../shared/data"), description="Public datasets (read only, never copied).")
    seed: int = Field(7, description="Seed of training and sampling when a command gets no --seed.")
    rules: RulesSettings = RulesSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    ranker: RankerSettings = RankerSettings()
    serving: ServingSettings = ServingSettings()
    matching: MatchingSettings = MatchingSettings()
    integrity: IntegritySettings = IntegritySettings()
    demo: DemoSettings = DemoSettings()

    @model_validator(mode="after")
    def _commission_bounds_ordered(self) -> Settings:
        if self.rules.commission_min > self.rules.commission_max:
            raise ValueError("rules.commission_min must not exceed rules.commission_max")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'recsys.db'}"

    @property
    def quarantine_dir(self) -> Path:
        """Quarantined rows are written next to the store."""
        url = self.resolved_database_url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            return Path(url.removeprefix("sqlite:///")).parent / "quarantine"
        return self.data_dir / "quarantine"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("RECSYS_CONFIG", "recsys.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings(...)`` instead)."""
    return Settings()


def settings_table(settings: BaseModel | None = None, prefix: str = "") -> list[tuple[str, str, str]]:
    """(name, default, description) of every setting, nested sections flattened (``rules.after_sale_days``).

    The README's configuration table is this list; a test keeps the two equal.
    """
    model = settings if settings is not None else Settings()
    rows: list[tuple[str, str, str]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            rows += settings_table(value, f"{prefix}{name}.")
        else:
            rows.append((f"{prefix}{name}", "none" if value is None else str(value), info.description or ""))
    return rows
