"""The one settings object, read from the environment or `.env` once at start."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatbot.prompts import DEFAULT_PROMPTS_DIR

# What `.env.example` holds where a secret goes; a value still containing it was never filled in.
PLACEHOLDER = "..."
_SECRETS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "jira_api_token",
    "jira_pat",
    "jira_webhook_secret",
    "github_webhook_secret",
    "github_token",
    "deploy_webhook_token",
    "context_http_token",
)
_DATABASE_DRIVERS = {"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg", "postgres"}


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable, never its value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # `SLACK_SIGNING_SECRET=` means "not set", so it is refused where it is required.
        env_ignore_empty=True,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # The bot's own ids, for telling its own events apart. Unset, they come from auth.test
    # run in the background at start and kept in the database: no request ever waits on it.
    slack_bot_user_id: str | None = None
    slack_bot_id: str | None = None
    # A message the bot owes Slack that has waited this long (Slack down or slow) makes the
    # bot tell the person, once, that it is saved and will appear when Slack is back.
    slack_late_notice_seconds: float = Field(default=60.0, ge=0, le=86400)
    # Slack's response_url works for 30 minutes; a reply later than that goes through the
    # Web API instead (a DM to the person).
    slack_response_url_seconds: float = Field(default=1800.0, ge=1, le=1800)
    # A reaction that logs a decision is kept while Slack cannot be read (down, rate-limited)
    # and read when it answers again; after this long the bot stops trying and tells the
    # person who reacted (a DM) to react again.
    slack_reaction_give_up_seconds: float = Field(default=86400.0, ge=60, le=7 * 86400)

    database_url: str = "sqlite:///./chatbot.db"
    # How long anything waits on the database before it gives up (chatbot.db.engine,
    # DatabaseLimits): opening a connection or pinging a pooled one (PostgreSQL counts whole
    # seconds, at least 2), one statement (PostgreSQL's statement_timeout; SQLite's wait for
    # the write lock), a free pooled connection; and the idle time before TCP keepalives.
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=300)
    db_statement_timeout_seconds: float = Field(default=15.0, gt=0, le=3600)
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0, le=300)
    db_keepalive_seconds: float = Field(default=10.0, ge=1, le=3600)
    # /healthz waits this long for the database, then answers 503 (load balancers time out).
    healthz_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    # While the database is unreachable a clock says so once, then at most once this often.
    db_outage_log_seconds: float = Field(default=60.0, gt=0, le=86400)

    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_pat: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    jira_timeout_seconds: float = 10.0

    github_webhook_secret: SecretStr | None = None
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    deploy_webhook_token: SecretStr | None = None
    context_http_token: SecretStr | None = None
    # Personal agent tokens (MCP): how long a new one lives, how many calls a minute it may make.
    agent_token_days: int = Field(default=90, ge=1, le=366)
    mcp_calls_per_minute: int = Field(default=120, ge=1, le=10_000)
    # Where people reach this server (https://throughline.example.com): the agent configs
    # shown with a new token point at PUBLIC_URL/mcp; unset, at http://localhost:PORT/mcp.
    public_url: str | None = None

    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    tz_default: str = "UTC"
    web_concurrency: int = Field(default=1, ge=1, le=64)
    web_threads: int = Field(default=16, ge=1, le=256)
    # Listener work that waits on Jira or Slack holds a thread; keep enough so acks never queue.
    listener_threads: int = Field(default=64, ge=4, le=512)
    # How long opening or submitting a form waits for the database before the person is told
    # it is not answering: inside Slack's 3 s for the trigger_id and the form's answer.
    slack_form_database_seconds: float = Field(default=2.0, gt=0, le=2.5)
    # Threads that run those forms' database work; when all wait on the database, the next
    # form is told at once instead of queueing behind them.
    slack_form_threads: int = Field(default=8, ge=1, le=128)
    # A request body not fully received within this many seconds is refused (408).
    http_body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    decision_reaction: str = "memo"
    # How often a clock (embedded or `chatbot scheduler`) looks for due jobs.
    clock_tick_seconds: float = Field(default=5.0, gt=0, le=60)
    # How long a clock that died mid-job keeps the job from the others; a live clock renews
    # its lease every quarter of this while the job runs.
    clock_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    # The outbox's retries: first after this many seconds, doubling up to the maximum; the
    # clock looks for due rows every `outbox_every_seconds`.
    outbox_backoff_seconds: float = Field(default=15.0, gt=0, le=3600)
    outbox_backoff_max_seconds: float = Field(default=300.0, gt=0, le=86400)
    outbox_every_seconds: int = Field(default=10, ge=1, le=3600)
    # How long a sender holds an outbox row. Past it the row is another process's to send,
    # which first looks for the message in Slack (the holder may have died after Slack took
    # it). Keep it well above a send's longest wait (Slack's client gives up after 10 s).
    outbox_lease_seconds: float = Field(default=120.0, ge=1, le=3600)
    # How long a digest post (or a leader's DM, a check-in) "running" in a process that died
    # blocks it; then another process looks for it in Slack and adopts it or sends it.
    digest_stale_seconds: float = Field(default=600.0, ge=1, le=86400)

    @field_validator(*_SECRETS)
    @classmethod
    def _filled_in(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and PLACEHOLDER in value.get_secret_value():
            raise ValueError(
                "still holds the placeholder from .env.example: "
                "set the real value or delete the line"
            )
        return value

    @field_validator("jira_url")
    @classmethod
    def _is_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be a URL like https://your-site.atlassian.net")
        return value.strip()

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
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        problem = "must be sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError(problem) from None
        if driver not in _DATABASE_DRIVERS:
            raise ValueError(problem)
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
