"""The sections of :class:`recsys.core.config.Settings`, one module per concern (import them from
``recsys.core.config``, which re-exports every section)."""
