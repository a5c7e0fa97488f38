"""Titles and previews (migration 009), and chats in which the merchant never wrote: the list,
search and the profile leave them out, and the archiver does not archive them."""

from __future__ import annotations

import httpx
import pytest
from history_factories import USER_A, auth, create_conversation, message
from sqlalchemy import Engine, text

from app.services.chat.titles import PREVIEW_MAX_CHARS, TITLE_MAX_CHARS, condense

URL = f"/api/v1/users/{USER_A}/conversations"

CASES = [
    "Where is my order?",
    "  spaces \n\t and   newlines   collapse  ",
    "How do I connect my Shopify store and see which customers asked about refunds last week",
    "x" * 80,
    "short words " * 10,
    "a" * 59 + " tail",
    "a" * 58 + " tail and more",
    "Ünïcödé ✓ " * 9,
    "   ",
]


@pytest.mark.parametrize("value", CASES)
@pytest.mark.parametrize("limit", [TITLE_MAX_CHARS, PREVIEW_MAX_CHARS])
def test_python_and_postgresql_condense_the_same(users: Engine, value: str, limit: int) -> None:
    with users.connect() as connection:
        in_sql = connection.execute(
            text("SELECT condense_text(:value, :limit)"), {"value": value, "limit": limit}
        ).scalar()
    assert condense(value, limit) == in_sql
    if in_sql is not None:
        assert len(in_sql) <= limit
        assert "  " not in in_sql


async def test_title_is_the_first_merchant_message_and_preview_the_last(
    client: httpx.AsyncClient, users: Engine
) -> None:
    long = "How do I connect my Shopify store and see which customers asked about refunds?"
    create_conversation(
        users,
        USER_A,
        messages=[
            message("Hi! I'm CJ.", "cj"),
            message(long, "user", 1),
            message("Press Connect Shopify " + "and wait " * 20, "cj", 2),
        ],
    )
    row = (await client.get(URL, headers=auth(USER_A))).json()["conversations"][0]
    assert row["title"] == "How do I connect my Shopify store and see which customers…"
    assert len(row["title"]) <= 60
    assert row["preview"].startswith("Press Connect Shopify and wait")
    assert row["preview"].endswith("…")
    assert len(row["preview"]) <= 120


async def test_a_generated_title_wins_over_the_first_message(
    client: httpx.AsyncClient, users: Engine
) -> None:
    conversation_id = create_conversation(users, USER_A, messages=[message("refund for #1001")])
    with users.begin() as connection:
        connection.execute(
            text("UPDATE conversations SET title = 'Refund for order 1001' WHERE id = :id"),
            {"id": conversation_id},
        )
    row = (await client.get(URL, headers=auth(USER_A))).json()["conversations"][0]
    assert row["title"] == "Refund for order 1001"


async def test_chats_without_a_merchant_message_are_not_listed_counted_or_found(
    client: httpx.AsyncClient, users: Engine
) -> None:
    create_conversation(users, USER_A, messages=[message("Hi! I'm CJ, ask me about refunds", "cj")])
    create_conversation(users, USER_A, messages=[])
    kept = create_conversation(users, USER_A, messages=[message("refunds please")])
    body = (await client.get(URL, headers=auth(USER_A))).json()
    assert body["total"] == 1
    assert [row["id"] for row in body["conversations"]] == [str(kept)]
    found = (await client.get(URL, params={"q": "refunds"}, headers=auth(USER_A))).json()
    assert [row["id"] for row in found["conversations"]] == [str(kept)]
    assert found["total"] == 1
    profile = (await client.get(f"/api/v1/users/{USER_A}/profile", headers=auth(USER_A))).json()
    assert profile["stats"]["total_conversations"] == 1
