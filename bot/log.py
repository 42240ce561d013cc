"""Logging set-up: one format, discord.http quietened, secrets never written."""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"((?:api_key|key|token|email|mailto)=)[^&\s]+", re.IGNORECASE)


class _RedactFilter(logging.Filter):
    """Masks API keys and e-mail parameters that might appear in logged URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = _SECRET_PARAMS.sub(r"\1***", record.msg)
        return True


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once; safe to call again (it replaces its own handler)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_litbot", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._litbot = True  # type: ignore[attr-defined]
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(_RedactFilter())
    root.addHandler(handler)
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("discord.gateway").setLevel(logging.WARNING)
    # httpx logs every request URL at INFO, query string (api_key) included.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
