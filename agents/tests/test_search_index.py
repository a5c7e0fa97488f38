"""The search index beside the archive (migration 012): the archiver writes without building
vectors, its indexing pass builds them after, and search answers the same before and after."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, text
from tests.chat_factories import create_user, token_for
from tests.test_archival_helpers import make_archiver, run_worker, seed, sessions

from app.main import create_app
from app.services.identity_db import close_pool

SHOP = "searcher.myshopify.com"


@pytest.fixture
async def archiver(aredis: aioredis.Redis, database_url: str, clean_database: Engine):  # type: ignore[no-untyped-def]
    instance = await make_archiver(aredis, database_url)
    yield instance
    await close_pool(instance.pool)


def _vectors(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return [
            row[0] for row in connection.execute(text("SELECT search_vector FROM conversations"))
        ]


async def _search(user_id: str, token: str, words: str) -> dict[str, Any]:
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(
                f"/api/v1/users/{user_id}/conversations",
                params={"q": words},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_search_finds_what_was_archived_before_and_after_its_vector_is_built(
    archiver,
    aredis,
    clean_database,  # type: ignore[no-untyped-def]
) -> None:
    user_id = create_user(clean_database, SHOP)
    manager = sessions(aredis)
    refunds = await seed(manager, messages=0, user_id=user_id, shop=SHOP)
    for sender, words in (("user", "I need a refund for order 1001"), ("cj", "Sure, refunds")):
        await manager.append_message(
            conversation_id=refunds, user_id=user_id, sender=sender, content=words
        )
    other = await seed(manager, messages=2, user_id=user_id, shop=SHOP)
    assert (await archiver.archive_due(everything=True)).conversations == 2
    assert _vectors(clean_database) == [None, None]  # the write built no vector

    before = await _search(user_id, token_for(SHOP), "refund")
    assert await archiver.index_search() == 2
    assert all(vector for vector in _vectors(clean_database))
    after = await _search(user_id, token_for(SHOP), "refund")

    assert before == after
    assert [row["id"] for row in after["conversations"]] == [refunds]
    assert "**refund**" in after["conversations"][0]["snippet"]
    assert other not in [row["id"] for row in after["conversations"]]


async def test_a_conversation_archived_again_is_searched_by_its_new_words(
    archiver,
    aredis,
    clean_database,  # type: ignore[no-untyped-def]
) -> None:
    user_id = create_user(clean_database, SHOP)
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=2, user_id=user_id, shop=SHOP)
    await archiver.archive_due(everything=True)
    await archiver.index_search()
    await manager.append_message(
        conversation_id=conversation_id, user_id=user_id, sender="user", content="shipping delays"
    )
    await archiver.archive_due(everything=True)
    assert _vectors(clean_database) == [None]  # the old vector was dropped with the old words
    found = await _search(user_id, token_for(SHOP), "shipping")
    assert [row["id"] for row in found["conversations"]] == [conversation_id]
    await archiver.index_search()
    assert await _search(user_id, token_for(SHOP), "shipping") == found


def test_a_row_written_by_hand_gets_its_vector_title_and_preview_at_once(
    clean_database: Engine,
) -> None:
    with clean_database.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, messages) VALUES (gen_random_uuid(), "
                """'[{"sender": "user", "content": "Where   is my parcel?"},"""
                """ {"sender": "cj", "content": "On its way."}]'::jsonb)"""
            )
        )
        row = connection.execute(
            text("SELECT search_vector, first_message_title, preview FROM conversations")
        ).one()
    assert "parcel" in str(row.search_vector)
    assert (row.first_message_title, row.preview) == ("Where is my parcel?", "On its way.")


async def test_the_worker_builds_missing_vectors_with_index(
    aredis,
    clean_database,  # type: ignore[no-untyped-def]
) -> None:
    for _ in range(3):
        await seed(sessions(aredis), messages=2, end=True)
    worker = run_worker("--all", "--index", "--json")
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert '"indexed": 3' in out
    assert all(vector for vector in _vectors(clean_database))
