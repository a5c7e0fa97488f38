"""Response models of the history API (shapes fixed by the contract)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StoredMessage(BaseModel):
    """One message as the chat stored it; keys added by later versions are passed through."""

    model_config = ConfigDict(extra="allow")

    sender: str | None = Field(default=None, description='"user" or "cj"')
    content: str | None = None
    timestamp: str | None = Field(default=None, description="ISO 8601, UTC")


class ConversationSummary(BaseModel):
    id: uuid.UUID
    workflow: str | None
    title: str | None = Field(
        description="A generated title, else the merchant's first message (<= 60 characters)"
    )
    preview: str | None = Field(description="The last message, <= 120 characters")
    started_at: datetime | None
    ended_at: datetime | None
    message_count: int
    metadata: dict[str, Any] | None
    snippet: str | None = Field(
        default=None,
        description="Only in search results (?q=): the matching text, matches between ** marks.",
    )


class ConversationPage(BaseModel):
    conversations: list[ConversationSummary]
    total: int = Field(
        description="All of the user's listed conversations (those in which they wrote), "
        "or all matches for ?q="
    )
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="Pass as ?before= for the next page; null on the last page"
    )


class ConversationDetail(BaseModel):
    id: uuid.UUID
    workflow: str | None
    started_at: datetime | None
    ended_at: datetime | None
    messages: list[StoredMessage]
    metadata: dict[str, Any] | None


class ProfileStats(BaseModel):
    total_conversations: int
    first_conversation: datetime | None
    last_conversation: datetime | None


class UserProfile(BaseModel):
    user_id: str
    shop_domain: str
    email: str | None
    name: str | None
    created_at: datetime | None
    last_seen: datetime | None
    stats: ProfileStats


class ErrorBody(BaseModel):
    detail: str
