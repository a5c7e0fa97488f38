"""Search (?q=), export (JSON Lines, streamed), and what history reads write to the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import tracemalloc
from datetime import timedelta

import httpx
import pytest
from history_factories import BASE_TIME, USER_A, USER_B, auth, create_conversation, message
from sqlalchemy import Engine, text

from app.main import create_app, lifespan
from app.services.history import export as history_export

BASE = f"/api/v1/users/{USER_A}"


async def test_search_ranks_matches_and_shows_a_snippet(
    client: httpx.AsyncClient, users: Engine
) -> None:
    strong = create_conversation(
        users,
        USER_A,
        messages=[
            message("My refund is late"),
            message("Refunds take five days", "cj"),
            message("Another refund question"),
        ],
    )
    weak = create_conversation(
        users, USER_A, messages=[message("Shipping to Canada"), message("A refund maybe", "cj")]
    )
    create_conversation(users, USER_A, messages=[message("Nothing relevant here")])
    create_conversation(users, USER_B, messages=[message("refund refund refund")])
    body = (
        await client.get(f"{BASE}/conversations", params={"q": "refunds"}, headers=auth(USER_A))
    ).json()
    assert body["total"] == 2
    assert [row["id"] for row in body["conversations"]] == [str(strong), str(weak)]
    assert "**refund**" in body["conversations"][1]["snippet"].lower()
    assert body["conversations"][0]["message_count"] == 3


async def test_search_pages_with_its_cursor(client: httpx.AsyncClient, users: Engine) -> None:
    for index in range(5):
        create_conversation(
            users,
            USER_A,
            started_at=BASE_TIME + timedelta(minutes=index),
            messages=[message("inventory sync")],
        )
    seen: list[str] = []
    params: dict[str, str | int] = {"q": "inventory", "limit": 2}
    while True:
        body = (
            await client.get(f"{BASE}/conversations", params=params, headers=auth(USER_A))
        ).json()
        seen.extend(row["id"] for row in body["conversations"])
        if body["next_cursor"] is None:
            break
        params = {"q": "inventory", "limit": 2, "before": body["next_cursor"]}
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("words", ["the", "zzzz", "   ", "'\"&|!():*"])
async def test_searches_matching_nothing_are_empty_pages(
    client: httpx.AsyncClient, users: Engine, words: str
) -> None:
    create_conversation(users, USER_A, messages=[message("hello there")])
    response = await client.get(f"{BASE}/conversations", params={"q": words}, headers=auth(USER_A))
    assert response.status_code == 200
    assert response.json()["total"] == 0


def test_search_uses_the_gin_index(users: Engine) -> None:
    """With a realistic spread (many conversations, few matching), the planner picks the
    GIN index on search_vector rather than filtering all of the user's rows."""
    with users.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, user_id, started_at, messages) "
                "SELECT gen_random_uuid(), CASE WHEN g % 10 = 0 THEN :user_id ELSE :other END, now(), "
                "jsonb_build_array(jsonb_build_object('sender', 'user', 'content', "
                "CASE WHEN g % 1000 = 0 THEN 'a refund please' ELSE 'hello number ' || g END)) "
                "FROM generate_series(1, 30000) AS g"
            ),
            {"user_id": USER_A, "other": USER_B},
        )
    # As autovacuum would: flush GIN's pending list and refresh statistics.
    with users.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE conversations"))
    with users.connect() as connection:
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                text(
                    "EXPLAIN SELECT id FROM conversations WHERE user_id = :user_id "
                    "AND search_vector @@ websearch_to_tsquery('english', 'refund')"
                ),
                {"user_id": USER_A},
            )
        )
    assert "idx_conversations_search" in plan, plan


async def test_export_streams_json_lines_as_a_download(
    client: httpx.AsyncClient, users: Engine
) -> None:
    ids = [
        create_conversation(users, USER_A, started_at=BASE_TIME + timedelta(minutes=index))
        for index in range(5)
    ]
    create_conversation(users, USER_B)
    response = await client.get(f"{BASE}/export", headers=auth(USER_A))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="hirecj-conversations-{USER_A}.jsonl"'
    )
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["id"] for line in lines] == [str(i) for i in reversed(ids)]
    assert set(lines[0]) == {"id", "workflow", "started_at", "ended_at", "messages", "metadata"}
    assert lines[0]["messages"] == [message("hi")]


def _seed_many(engine: Engine, count: int, content: str) -> None:
    """COPY ``count`` conversations for USER_A, each with one ``content``-sized message."""
    messages = json.dumps([message(content)]).replace("\\", "\\\\")
    rows = io.StringIO()
    for index in range(count):
        started = (BASE_TIME + timedelta(seconds=index)).isoformat()
        rows.write(
            f"{index:08x}-0000-4000-8000-000000000000\t{USER_A}\tonboarding\t{started}\t{messages}\n"
        )
    rows.seek(0)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.copy_expert(
                "COPY conversations (id, user_id, workflow_name, started_at, messages) FROM STDIN",
                rows,
            )
        raw.commit()
    finally:
        raw.close()


@pytest.mark.slow
async def test_export_of_10000_conversations_keeps_memory_flat(users: Engine) -> None:
    """Stream the real route through ASGI, discarding chunks: Python's peak allocation stays a
    small fraction of the bytes sent, because only one batch is ever held."""
    _seed_many(users, 10_000, "x" * 3000)
    app = create_app()
    sent = {"bytes": 0, "chunks": 0, "status": 0}
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, object]:
        # The request once, then (as a real server does) nothing until the client goes away.
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(event: dict[str, object]) -> None:
        if event["type"] == "http.response.start":
            sent["status"] = int(event["status"])  # type: ignore[call-overload]
        elif event["type"] == "http.response.body":
            sent["bytes"] += len(event.get("body", b""))  # type: ignore[arg-type]
            sent["chunks"] += 1
            if not event.get("more_body", False):
                finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"{BASE}/export",
        "raw_path": f"{BASE}/export".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"authorization", auth(USER_A)["Authorization"].encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    async with lifespan(app):
        tracemalloc.start()
        await app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert sent["status"] == 200
    assert sent["bytes"] > 30_000_000
    assert sent["chunks"] >= 10_000 // history_export.EXPORT_BATCH_SIZE
    # One batch of 200 rows of ~3 KB is ~0.6 MB of text; allow generous overhead, and still far
    # below the 30 MB a whole-history load would need.
    assert peak < 8_000_000, f"peak {peak} bytes while streaming {sent['bytes']}"


async def test_history_reads_log_no_message_content(
    client: httpx.AsyncClient, users: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    secret_words = "purplemonkeydishwasher"
    conversation_id = create_conversation(users, USER_A, messages=[message(secret_words)])
    with caplog.at_level(logging.DEBUG):
        headers = auth(USER_A)
        await client.get(f"{BASE}/conversations", headers=headers)
        await client.get(f"{BASE}/conversations", params={"q": secret_words}, headers=headers)
        await client.get(f"{BASE}/conversations/{conversation_id}", headers=headers)
        await client.get(f"{BASE}/conversations/{conversation_id}?format=markdown", headers=headers)
        await client.get(f"{BASE}/export", headers=headers)
        await client.get(f"{BASE}/profile", headers=headers)
    # The test client's own request log (httpx) shows the URL it sent; the service's logs are
    # what must stay clean.
    service_lines = [record.getMessage() for record in caplog.records if record.name != "httpx"]
    assert service_lines, "the reads are expected to log something at DEBUG"
    assert not [line for line in service_lines if secret_words in line]
