"""The agents service's settings: the shared contract variables plus its own."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings

AGENTS_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = AGENTS_DIR.parent


class Settings(ServiceSettings):
    # Optional LLM responder (OpenAI-compatible chat completions); unset = scripted replies.
    llm_api_key: SecretStr | None = None
    llm_base_url: str = "https://api.openai.com/v1"
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=120)

    # Archiver tuning (the schedule itself comes from the contract's ARCHIVE_* variables).
    archive_batch_size: int = Field(default=500, ge=1, le=10000)
    archive_lease_seconds: int = Field(default=300, ge=10)

    # How long a chat write waits for REDIS_WAIT_REPLICAS replicas before it is refused.
    redis_wait_timeout_ms: int = Field(default=1000, ge=10, le=60_000)

    # History retention; unset keeps conversations forever.
    conversation_retention_days: int | None = Field(default=None, ge=1)

    # The guide's key metrics (gauges on /metrics) are recomputed this often, never per scrape.
    usage_stats_interval_seconds: int = Field(default=300, ge=10)

    # The homepage's production build, served by this app when present.
    homepage_dist_dir: Path = REPO_DIR / "homepage" / "dist"


@lru_cache
def get_settings() -> Settings:
    return Settings.load(AGENTS_DIR)
