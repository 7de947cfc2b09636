"""API keys never reach a log line.

Keys belong in the ``X-API-Key`` header, which no log writes; a key sent in a query string (``?api_key=...``) is
refused (422, unknown parameter) but uvicorn's access log would still print the request line with it.
:class:`KeyRedaction` is a logging filter that rewrites such lines: the value of any key-like query parameter
(``api_key``, ``apikey``, ``key``, ``token``, ``x-api-key``, ...) and anything shaped like one of our keys
(``rk_<id>.<secret>``), wherever it appears, become ``[redacted]``. :func:`install_key_redaction` puts it on uvicorn's
access and error loggers and on the service's own logger (idempotent).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from recsys.core.keys import PREFIX

_KEY_PARAM = re.compile(
    r"([?&;](?:x[-_]?)?(?:api[-_]?key|apikey|key|token|access[-_]?token)=)[^&;\s\"]*", re.IGNORECASE
)
_KEY_SHAPE = re.compile(re.escape(PREFIX) + r"[0-9A-Za-z]+(?:\.|%2[eE])[0-9A-Za-z_\-%]+")
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "recsys")


def redact(text: str) -> str:
    """``text`` with key-like query values and anything shaped like an API key replaced by ``[redacted]``."""
    text = _KEY_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    return _KEY_SHAPE.sub(REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class KeyRedaction(logging.Filter):
    """Rewrites a record's message and string arguments (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


def install_key_redaction() -> None:
    """Add one :class:`KeyRedaction` to each of :data:`LOGGERS` that has none yet."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, KeyRedaction) for f in logger.filters):
            logger.addFilter(KeyRedaction())
