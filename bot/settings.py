"""Typed settings from the environment (and ``.env``). Built once in the composition root."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


class Settings(BaseSettings):
    """Every setting litbot reads. ``.env.example`` lists them all with a comment each."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Discord
    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_api_url: str = Field(default=DISCORD_API_URL, alias="LITBOT_DISCORD_API_URL")
    discord_gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL, alias="LITBOT_DISCORD_GATEWAY_URL"
    )
    dev_guild_id: int | None = Field(default=None, alias="LITBOT_DEV_GUILD")

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
    http_timeout: float = Field(default=8.0, alias="LITBOT_HTTP_TIMEOUT")
    http_retries: int = Field(default=2, alias="LITBOT_HTTP_RETRIES")
    max_retry_wait: float = Field(default=5.0, alias="LITBOT_MAX_RETRY_WAIT")

    # Storage
    db_path: Path = Field(default=Path("litbot.sqlite3"), alias="LITBOT_DB")
    cache_ttl_hours: float = Field(default=24 * 7, alias="LITBOT_CACHE_TTL_HOURS")

    log_level: str = Field(default="INFO", alias="LITBOT_LOG_LEVEL")

    @property
    def user_agent(self) -> str:
        # Crossref's polite pool and DataCite's "identified" tier read the mailto in the UA.
        from bot import __version__

        return (
            f"litbot/{__version__} (https://github.com/litbot/litbot; mailto:{self.contact_email})"
        )
