"""The settings every service shares: the contract's environment variables, validated once.

Each service subclasses :class:`ServiceSettings` in its own ``app/config.py`` and builds it with
:meth:`ServiceSettings.load`, which reads the env-file chain below the real environment and
turns a validation failure into one message naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.env_loader import env_file_chain, load_env_files

DEFAULT_IDENTITY_DATABASE_URL = (
    "postgresql://hirecj:hirecj_dev_password@localhost:5435/hirecj_identity"
)
# Development-only secrets: usable on a laptop, refused anywhere else (see _refuse_placeholders).
DEV_TOKEN_SECRET = "dev-only-identity-token-secret-change-me-0123456789"
DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktdG9rZW4tZW5jcnlwdGlvbi1rZXktMDE="
PLACEHOLDER_SECRETS = frozenset({DEV_TOKEN_SECRET, DEV_ENCRYPTION_KEY, "", "changeme", "secret"})


class SettingsError(RuntimeError):
    """Start-up configuration is invalid; the message names each bad variable."""


class _EnvFilesSource(PydanticBaseSettingsSource):
    """Values from the env-file chain; ranked below the real environment by ``load``."""

    def __init__(self, settings_cls: type[BaseSettings], files: list[Path]) -> None:
        super().__init__(settings_cls)
        self._values = {key.lower(): value for key, value in load_env_files(files).items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        # Keys stay as env names (lowercased); aliases and field names both resolve from them.
        return {key: value for key, value in self._values.items() if value != ""}


class ServiceSettings(BaseSettings):
    """The variables both services read (docs/api.md, "Settings") and their limits."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=False)
    env_files: ClassVar[list[Path]] = []

    environment: Literal["development", "test", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"

    identity_database_url: str = Field(
        default=DEFAULT_IDENTITY_DATABASE_URL,
        # Heroku Postgres names its URL DATABASE_URL; the contract's name wins when both are set.
        validation_alias=AliasChoices("identity_database_url", "database_url"),
    )
    # Migrations and session-level advisory locks need a session of their own; when the URL above
    # goes through a transaction-mode pooler (PgBouncer), this one goes straight to PostgreSQL.
    identity_database_direct_url: str | None = None
    identity_db_pool_size: int = Field(default=5, ge=1, le=20)
    identity_db_max_overflow: int = Field(default=10, ge=0, le=20)
    identity_db_connect_timeout: int = Field(default=10, ge=1, le=120)

    redis_url: str = "redis://localhost:6379/0"
    # REDIS_URL names any node of a Redis Cluster; every client is then redis-py's cluster client.
    redis_cluster: bool = False
    # Production refuses to start on a Redis known to run without AOF, unless this says so.
    redis_allow_volatile: bool = False
    # A chat message is acknowledged only once WAIT confirms it on this many replicas.
    redis_wait_replicas: int = Field(default=0, ge=0, le=10)

    shopify_client_id: str | None = None
    shopify_client_secret: SecretStr | None = None
    shopify_scopes: str = "read_products,read_orders,read_customers"
    shopify_admin_url_template: str = "https://{shop}/admin"
    auth_public_url: str = "http://localhost:8103"
    frontend_url: str = "http://localhost:3456"

    identity_token_secret: SecretStr = SecretStr(DEV_TOKEN_SECRET)
    # During a rotation the old secret keeps verifying tokens it signed; new ones use the new one.
    identity_token_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list
    )
    identity_token_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    token_encryption_key: SecretStr = SecretStr(DEV_ENCRYPTION_KEY)
    token_encryption_previous_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list
    )

    redis_session_ttl: int = Field(default=86400, ge=60)
    archive_before_ttl_seconds: int = Field(default=7200, ge=0)
    archive_interval_seconds: int = Field(default=1800, ge=1)
    archive_idle_seconds: int = Field(default=60, ge=1)
    archiver_enabled: bool = True

    # Abuse limits (per minute, counted in Redis so every process shares them). The defaults are
    # far above what a person typing, signing in or reading history ever does.
    chat_messages_per_minute: int = Field(default=30, ge=1)
    chat_max_messages_per_conversation: int = Field(default=2000, ge=2)
    new_conversations_per_minute_per_ip: int = Field(default=30, ge=1)
    oauth_installs_per_minute_per_ip: int = Field(default=20, ge=1)
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's variable and
    # default): a comma list of addresses or networks, or "*" when every peer is the platform's
    # router (Heroku: a dyno is reachable only through it). See shared/client_address.py.
    forwarded_allow_ips: str = "127.0.0.1,::1"

    # Production surface: /metrics wants this bearer token in production (refused while unset
    # there); /docs, /redoc and /openapi.json are off in production unless DOCS_ENABLED=true.
    metrics_token: SecretStr | None = None
    docs_enabled: bool = False
    # Development only: more browser origins (besides FRONTEND_URL's) that may open the chat.
    chat_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("identity_database_url", "identity_database_direct_url")
    @classmethod
    def _postgresql_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        if not value.startswith(("postgresql://", "postgresql+")):
            raise ValueError("must be a postgresql:// (or postgres://) URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("auth_public_url", "frontend_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("shopify_admin_url_template")
    @classmethod
    def _has_shop_placeholder(cls, value: str) -> str:
        if "{shop}" not in value or not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL containing {shop}")
        return value.rstrip("/")

    @field_validator(
        "identity_token_previous_secrets",
        "token_encryption_previous_keys",
        "chat_allowed_origins",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("chat_allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an http(s) origin")
        return [origin.rstrip("/") for origin in value]

    @model_validator(mode="after")
    def _direct_defaults_to_the_url(self) -> Self:
        if self.identity_database_direct_url is None:
            self.identity_database_direct_url = self.identity_database_url
        return self

    @property
    def through_pooler(self) -> bool:
        """IDENTITY_DATABASE_URL differs from the direct URL: it goes through a pooler."""
        return self.identity_database_direct_url != self.identity_database_url

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Self:
        if len(self.identity_token_secret.get_secret_value().encode()) < 32:
            raise ValueError("IDENTITY_TOKEN_SECRET must be at least 32 bytes")
        if self.environment != "development":
            for name, secret in (
                ("IDENTITY_TOKEN_SECRET", self.identity_token_secret),
                ("TOKEN_ENCRYPTION_KEY", self.token_encryption_key),
            ):
                if secret.get_secret_value() in PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"{name} is the development placeholder; set a real secret "
                        f"when ENVIRONMENT={self.environment}"
                    )
        if self.environment == "production" and self.chat_allowed_origins:
            raise ValueError(
                "CHAT_ALLOWED_ORIGINS is for development only; in production only "
                "FRONTEND_URL's origin may open the chat"
            )
        return self

    @property
    def docs_served(self) -> bool:
        """/docs, /redoc and /openapi.json: always outside production, on request in it."""
        return self.environment != "production" or self.docs_enabled

    @property
    def scopes(self) -> list[str]:
        return [scope.strip() for scope in self.shopify_scopes.split(",") if scope.strip()]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _EnvFilesSource(settings_cls, cls.env_files))

    @classmethod
    def load(cls, service_dir: Path | None = None, **overrides: Any) -> Self:
        """Build the settings from the environment and the service's env files, or fail clearly."""
        files = env_file_chain(service_dir) if service_dir is not None else []
        # A subclass per load keeps the file list out of the global class state.
        bound = type(cls.__name__, (cls,), {"env_files": files})
        try:
            return bound(**overrides)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "settings"
        variable = location.upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{variable}: {message}" if error["loc"] else message)
    return "invalid configuration: " + "; ".join(lines)


def token_secrets(settings: ServiceSettings) -> list[str]:
    """The current token secret first, then any still accepted during a rotation."""
    return [settings.identity_token_secret.get_secret_value()] + [
        secret.get_secret_value() for secret in settings.identity_token_previous_secrets
    ]
