"""Configuration in one place, read once at start (environment variables prefixed ``ESV_``,
plus ``DATABASE_URL`` and ``REDIS_URL`` under their usual names)."""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# A fixed key so the demo and tests sign checkpoints out of the box; production sets its own.
DEMO_SIGNING_KEY = "ZXN1cGVydmlzaW9uLWRlbW8tbGVkZ2VyLWtleS0wMDE="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESV_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///esupervision.db",
        validation_alias=AliasChoices("DATABASE_URL", "ESV_DATABASE_URL"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "ESV_REDIS_URL"),
    )
    rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("RABBITMQ_URL", "ESV_RABBITMQ_URL"),
    )
    # "inprocess" is the embedded default; production uses "redis" or "rabbitmq".
    broker: Literal["inprocess", "redis", "rabbitmq"] = "inprocess"
    timezone: str = "Asia/Shanghai"
    # Ed25519 private key seed, 32 bytes base64; signs ledger checkpoints.
    ledger_signing_key: str = DEMO_SIGNING_KEY
    # A signed checkpoint is written every this many events of a center's chain.
    ledger_checkpoint_every: int = 1000
    # Reports whose occurred_at is older than this many hours when recorded are flagged late.
    late_report_hours: float = 24.0
    # Demo clock speed: 1 is real time; 60 runs a minute of case time per second.
    speed: float = 1.0
    environment: Literal["development", "production", "test"] = "development"
    # HS256 secret for access tokens; production sets its own.
    jwt_secret: str = "esupervision-demo-jwt-secret-change-me-in-production"
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    max_page_size: int = 100


@lru_cache
def get_settings() -> Settings:
    return Settings()
