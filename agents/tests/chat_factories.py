"""Small helpers for the chat tests: tokens, frames, archived conversations."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from shared.ids import user_id_for_shop
from shared.tokens import issue_token


def new_id() -> str:
    return str(uuid.uuid4())


def token_for(
    shop: str, *, ttl: int = 3600, secret: str | None = None, now: int | None = None
) -> str:
    return issue_token(
        user_id=user_id_for_shop(shop),
        shop=shop,
        secret=secret or os.environ["IDENTITY_TOKEN_SECRET"],
        ttl_seconds=ttl,
        now=now,
    )


def unsigned_token(shop: str) -> str:
    """An ``alg: none`` token with otherwise perfect claims."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "hirecj-auth",
        "aud": "hirecj-agents",
        "sub": user_id_for_shop(shop),
        "shop": shop,
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def start_frame(
    conversation_id: str, *, token: str | None = None, user_id: str | None = None
) -> dict[str, Any]:
    return {
        "type": "start",
        "workflow": "shopify_onboarding",
        "conversation_id": conversation_id,
        "merchant_id": None,
        "user_id": user_id,
        "token": token,
    }


def oauth_frame(token: str, *, is_new: bool = True, user_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "oauth_complete",
        "oauth_provider": "shopify",
        "is_new": is_new,
        "merchant_id": None,
        "user_id": user_id,
        "token": token,
    }


def create_user(engine: Engine, shop: str) -> str:
    user_id = user_id_for_shop(shop)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, shop_domain) VALUES (:id, :shop) ON CONFLICT DO NOTHING"),
            {"id": user_id, "shop": shop},
        )
    return user_id


def create_archived_conversation(
    engine: Engine,
    *,
    shop: str,
    messages: list[dict[str, Any]],
    conversation_id: str | None = None,
    started_at: datetime | None = None,
    user: bool = True,
) -> str:
    """An archived conversation row (the archiver's output) for ``shop``'s user (or anonymous)."""
    conversation_id = conversation_id or new_id()
    user_id = create_user(engine, shop) if user else None
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, user_id, merchant_id, workflow_name, started_at, "
                "ended_at, messages) VALUES (:id, :user_id, NULL, 'shopify_onboarding', :started, "
                ":started, CAST(:messages AS jsonb))"
            ),
            {
                "id": conversation_id,
                "user_id": user_id,
                "started": started_at or datetime.now(UTC),
                "messages": json.dumps(messages),
            },
        )
    return conversation_id


def message(sender: str, content: str) -> dict[str, str]:
    return {"sender": sender, "content": content, "timestamp": datetime.now(UTC).isoformat()}
