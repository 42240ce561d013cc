"""Typed settings from the environment (and ``.env``). Built once in the composition root."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# How much of a rejected value the error line echoes back.
_ECHO_LIMIT = 60


class SettingsError(Exception):
    """A setting in the environment or ``.env`` is unusable; ``str()`` is one line naming it."""


_UPSTREAMS = ("openalex", "crossref", "unpaywall", "s2", "datacite", "arxiv", "ncbi")


class Settings(BaseSettings):
    """Every setting litbot reads. ``.env.example`` lists them all with a comment each."""

    # env_ignore_empty: ``cp .env.example .env`` leaves lines such as ``LITBOT_DEV_GUILD=``
    # empty; an empty value means "unset" (the default), not an empty string or a parse error.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    # Discord
    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_api_url: str = Field(default=DISCORD_API_URL, alias="LITBOT_DISCORD_API_URL")
    discord_gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL, alias="LITBOT_DISCORD_GATEWAY_URL"
    )
    dev_guild_id: int | None = Field(default=None, gt=0, alias="LITBOT_DEV_GUILD")
    # The privileged message-content intent (Developer Portal → Bot): without it, pasted links
    # unfurl in DMs, in messages that mention the bot and in replies to it, not channel-wide.
    message_content: bool = Field(default=False, alias="LITBOT_MESSAGE_CONTENT")

    # Upstream APIs: roots to which each client appends the API's documented path.
    openalex_url: str = Field(default="https://api.openalex.org", alias="LITBOT_OPENALEX_URL")
    crossref_url: str = Field(default="https://api.crossref.org", alias="LITBOT_CROSSREF_URL")
    unpaywall_url: str = Field(default="https://api.unpaywall.org", alias="LITBOT_UNPAYWALL_URL")
    s2_url: str = Field(default="https://api.semanticscholar.org", alias="LITBOT_S2_URL")
    datacite_url: str = Field(default="https://api.datacite.org", alias="LITBOT_DATACITE_URL")
    arxiv_url: str = Field(default="https://export.arxiv.org", alias="LITBOT_ARXIV_URL")
    ncbi_url: str = Field(default="https://www.ncbi.nlm.nih.gov", alias="LITBOT_NCBI_URL")
    contact_email: str = Field(default="litbot@example.org", alias="LITBOT_CONTACT_EMAIL")
    openalex_api_key: SecretStr | None = Field(default=None, alias="OPENALEX_API_KEY")
    s2_api_key: SecretStr | None = Field(default=None, alias="S2_API_KEY")

    # HTTP behaviour
    http_timeout: float = Field(default=8.0, gt=0, allow_inf_nan=False, alias="LITBOT_HTTP_TIMEOUT")
    http_retries: int = Field(default=2, ge=0, le=10, alias="LITBOT_HTTP_RETRIES")
    http_max_bytes: int = Field(
        default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024, alias="LITBOT_HTTP_MAX_BYTES"
    )
    max_retry_wait: float = Field(
        default=5.0, ge=0, allow_inf_nan=False, alias="LITBOT_MAX_RETRY_WAIT"
    )

    # Storage
    db_path: Path = Field(default=Path("litbot.sqlite3"), alias="LITBOT_DB")
    cache_ttl_hours: float = Field(
        default=24 * 7, ge=0, allow_inf_nan=False, alias="LITBOT_CACHE_TTL_HOURS"
    )

    # The living library (bot/watch.py): each saved work is re-checked every
    # LITBOT_WATCH_HOURS; the job wakes every LITBOT_WATCH_POLL_MINUTES to re-check what is due
    # and deliver alerts (also those planned by `litbot bib watch`).
    watch_hours: float = Field(default=24.0, gt=0, allow_inf_nan=False, alias="LITBOT_WATCH_HOURS")
    watch_poll_minutes: float = Field(
        default=10.0, gt=0, allow_inf_nan=False, alias="LITBOT_WATCH_POLL_MINUTES"
    )
    log_level: str = Field(default="INFO", alias="LITBOT_LOG_LEVEL")

    @field_validator("discord_token", mode="before")
    @classmethod
    def _blank_token_is_no_token(cls, value: object) -> object:
        # "DISCORD_TOKEN=   " is as missing as "DISCORD_TOKEN=": no login attempt with it.
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("discord_api_url", *(f"{s}_url" for s in _UPSTREAMS))
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")) or len(value.split()) != 1:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.lower().startswith(("ws://", "wss://")) or len(value.split()) != 1:
            raise ValueError("must be a ws:// or wss:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @property
    def user_agent(self) -> str:
        # Crossref's polite pool and DataCite's "identified" tier read the mailto in the UA.
        from bot import __version__

        return (
            f"litbot/{__version__} (https://github.com/litbot/litbot; mailto:{self.contact_email})"
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``; ``SettingsError`` (one line) if unusable.

    Start-up must not end in a pydantic traceback: the operator gets the variable's name,
    what is wrong with it and (unless it is a secret) the value that was read.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None
    except (OSError, UnicodeDecodeError) as error:  # an unreadable or non-UTF-8 .env
        raise SettingsError(f"cannot read .env: {error}") from None


def describe_errors(error: ValidationError) -> str:
    """A ``ValidationError`` from ``Settings`` as one line: ``NAME='value': reason; …``."""
    secret = {
        field.alias or name
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr or SecretStr in get_args(field.annotation)
    }
    parts = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else "a setting"
        reason = str(item["msg"]).removeprefix("Value error, ")
        shown = name
        if name not in secret and isinstance(item.get("input"), str | int | float):
            value = str(item["input"])
            if len(value) > _ECHO_LIMIT:
                value = value[: _ECHO_LIMIT - 1] + "…"
            shown = f"{name}={value!r}"
        parts.append(f"{shown}: {reason}")
    return " ".join(f"invalid setting: {'; '.join(parts)} (from the environment or .env)".split())
