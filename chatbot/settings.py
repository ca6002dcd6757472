"""The one settings object, read from the environment or `.env` once at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable, never its value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    database_url: str = "sqlite:///./chatbot.db"

    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_pat: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    jira_timeout_seconds: float = 10.0

    github_webhook_secret: SecretStr | None = None
    github_token: SecretStr | None = None
    deploy_webhook_token: SecretStr | None = None
    context_http_token: SecretStr | None = None

    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    tz_default: str = "UTC"
    web_concurrency: int = Field(default=1, ge=1, le=64)
    web_threads: int = Field(default=16, ge=1, le=256)
    # Listener work that waits on Jira or Slack holds a thread; keep enough so acks never queue.
    listener_threads: int = Field(default=64, ge=4, le=512)
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    decision_reaction: str = "memo"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("tz_default")
    @classmethod
    def _known_tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a known IANA time zone (e.g. Europe/Berlin)") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _known_db(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_url and (self.jira_pat or (self.jira_email and self.jira_api_token)))

    def require_slack(self, socket_mode: bool = False) -> None:
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        if not socket_mode and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if socket_mode and self.slack_app_token is None:
            missing.append("SLACK_APP_TOKEN")
        if missing:
            raise SettingsError(f"{missing[0]} is required but not set (see .env.example)")


def load_settings(**overrides: object) -> Settings:
    """Build the settings once; turn validation errors into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "a setting"
        reason = first.get("msg", "is invalid").removeprefix("Value error, ")
        raise SettingsError(f"{name} is malformed: {reason}") from None
