"""Factories for the history tests: tokens from the real auth code, users and conversations
written straight into PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from app.config import get_settings
from shared.tokens import issue_token

USER_A = "usr_aaaaaaaa"
USER_B = "usr_bbbbbbbb"
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_token(user_id: str, *, shop: str = "a-shop.myshopify.com", ttl: int = 3600) -> str:
    secret = get_settings().identity_token_secret.get_secret_value()
    return issue_token(user_id=user_id, shop=shop, secret=secret, ttl_seconds=ttl)


def auth(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user_id)}"}


def create_user(engine: Engine, user_id: str, **fields: Any) -> None:
    values = {
        "id": user_id,
        "shop_domain": fields.get("shop_domain", f"{user_id}.myshopify.com"),
        "email": fields.get("email"),
        "name": fields.get("name"),
    }
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, shop_domain, email, name) "
                "VALUES (:id, :shop_domain, :email, :name)"
            ),
            values,
        )


def message(content: str, sender: str = "user", minute: int = 0) -> dict[str, str]:
    stamp = (BASE_TIME + timedelta(minutes=minute)).isoformat()
    return {"sender": sender, "content": content, "timestamp": stamp}


def create_conversation(
    engine: Engine,
    user_id: str | None,
    *,
    started_at: datetime | None = BASE_TIME,
    created_at: datetime | None = None,
    messages: list[dict[str, Any]] | None = None,
    workflow: str = "shopify_onboarding",
    metadata: dict[str, Any] | None = None,
    conversation_id: uuid.UUID | None = None,
) -> uuid.UUID:
    conversation_id = conversation_id or uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, user_id, merchant_id, workflow_name, started_at, "
                "ended_at, messages, metadata, created_at) VALUES (:id, :user_id, 'merchant_x', "
                ":workflow, :started_at, :ended_at, CAST(:messages AS jsonb), "
                "CAST(:metadata AS jsonb), COALESCE(:created_at, now()))"
            ),
            {
                "id": conversation_id,
                "user_id": user_id,
                "workflow": workflow,
                "started_at": started_at,
                "ended_at": started_at + timedelta(minutes=5) if started_at else None,
                "messages": json.dumps(messages if messages is not None else [message("hi")]),
                "metadata": json.dumps(metadata if metadata is not None else {"source": "test"}),
                "created_at": created_at,
            },
        )
    return conversation_id


def conversation_exists(engine: Engine, conversation_id: uuid.UUID) -> bool:
    with engine.connect() as connection:
        return (
            connection.execute(
                text("SELECT 1 FROM conversations WHERE id = :id"), {"id": conversation_id}
            ).first()
            is not None
        )
