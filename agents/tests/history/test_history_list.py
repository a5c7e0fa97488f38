"""GET /users/{id}/conversations: shape, newest-first order, offset and cursor pagination."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import httpx
import pytest
from history_factories import BASE_TIME, USER_A, USER_B, auth, create_conversation, message
from sqlalchemy import Engine, text

URL = f"/api/v1/users/{USER_A}/conversations"


async def test_empty_history_is_an_empty_page(client: httpx.AsyncClient, users: Engine) -> None:
    response = await client.get(URL, headers=auth(USER_A))
    assert response.status_code == 200
    assert response.json() == {
        "conversations": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
        "next_cursor": None,
    }


async def test_rows_have_the_contract_shape_and_count_messages(
    client: httpx.AsyncClient, users: Engine
) -> None:
    conversation_id = create_conversation(
        users, USER_A, messages=[message("one"), message("two", "cj"), message("three")]
    )
    body = (await client.get(URL, headers=auth(USER_A))).json()
    assert body["total"] == 1
    assert body["next_cursor"] is None
    assert body["conversations"] == [
        {
            "id": str(conversation_id),
            "workflow": "shopify_onboarding",
            "title": "one",
            "preview": "three",
            "started_at": "2024-05-01T12:00:00Z",
            "ended_at": "2024-05-01T12:05:00Z",
            "message_count": 3,
            "metadata": {"source": "test"},
        }
    ]


async def test_page_renders_values_exactly_as_the_detail_route_does(
    client: httpx.AsyncClient, users: Engine
) -> None:
    # The list body is built by PostgreSQL, the detail body by pydantic: the same row must come
    # out the same (microseconds, a null workflow-free row, unicode and nested metadata).
    metadata = {"source": "tést ✓", "nested": {"n": [1, 2.5, None, True]}, "quote": 'a"b\\c'}
    stamped = create_conversation(
        users, USER_A, started_at=BASE_TIME + timedelta(microseconds=123), metadata=metadata
    )
    undated = create_conversation(users, USER_A, started_at=None, created_at=BASE_TIME)
    with users.begin() as connection:
        connection.execute(
            text("UPDATE conversations SET workflow_name = NULL, metadata = NULL WHERE id = :id"),
            {"id": undated},
        )
    page = (await client.get(URL, headers=auth(USER_A))).json()["conversations"]
    assert [row["id"] for row in page] == [str(stamped), str(undated)]
    assert page[0]["started_at"] == "2024-05-01T12:00:00.000123Z"
    assert page[0]["metadata"] == metadata
    assert page[1]["workflow"] is None
    assert page[1]["started_at"] is None
    assert page[1]["metadata"] is None
    for row in page:
        detail = (await client.get(f"{URL}/{row['id']}", headers=auth(USER_A))).json()
        for key in ("id", "workflow", "started_at", "ended_at", "metadata"):
            assert row[key] == detail[key], key


async def test_newest_first_with_null_started_at_ordered_by_created_at(
    client: httpx.AsyncClient, users: Engine
) -> None:
    old = create_conversation(users, USER_A, started_at=BASE_TIME)
    new = create_conversation(users, USER_A, started_at=BASE_TIME + timedelta(days=2))
    undated = create_conversation(
        users, USER_A, started_at=None, created_at=BASE_TIME + timedelta(days=1)
    )
    body = (await client.get(URL, headers=auth(USER_A))).json()
    assert [row["id"] for row in body["conversations"]] == [str(new), str(undated), str(old)]
    assert body["conversations"][1]["started_at"] is None


@pytest.mark.parametrize(
    ("total", "limit", "offset", "expected_rows", "has_next"),
    [
        (5, 5, 0, 5, False),  # exact page
        (7, 5, 0, 5, True),
        (7, 5, 5, 2, False),  # last partial page
        (7, 5, 7, 0, False),  # just past the end
        (7, 100, 0, 7, False),
        (7, 1, 6, 1, False),
    ],
)
async def test_offset_pagination_edges(
    client: httpx.AsyncClient,
    users: Engine,
    total: int,
    limit: int,
    offset: int,
    expected_rows: int,
    has_next: bool,
) -> None:
    for index in range(total):
        create_conversation(users, USER_A, started_at=BASE_TIME + timedelta(minutes=index))
    response = await client.get(
        URL, params={"limit": limit, "offset": offset}, headers=auth(USER_A)
    )
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (total, limit, offset)
    assert len(body["conversations"]) == expected_rows
    assert (body["next_cursor"] is not None) is has_next


async def test_cursor_pages_never_repeat_or_skip_rows_sharing_started_at(
    client: httpx.AsyncClient, users: Engine
) -> None:
    # 13 rows at one instant, framed by others before and after: ties cross page boundaries.
    expected = [create_conversation(users, USER_A, started_at=BASE_TIME) for _ in range(13)]
    expected.append(create_conversation(users, USER_A, started_at=BASE_TIME + timedelta(hours=1)))
    expected.append(create_conversation(users, USER_A, started_at=BASE_TIME - timedelta(hours=1)))
    expected.append(create_conversation(users, USER_A, started_at=None, created_at=BASE_TIME))
    by_offset = (await client.get(URL, params={"limit": 100}, headers=auth(USER_A))).json()
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 4}
    while True:
        body = (await client.get(URL, params=params, headers=auth(USER_A))).json()
        assert body["total"] == len(expected)
        seen.extend(row["id"] for row in body["conversations"])
        if body["next_cursor"] is None:
            break
        params = {"limit": 4, "before": body["next_cursor"]}
    assert seen == [row["id"] for row in by_offset["conversations"]]
    assert sorted(seen) == sorted(str(c) for c in expected)


async def test_other_users_rows_are_never_listed(client: httpx.AsyncClient, users: Engine) -> None:
    mine = create_conversation(users, USER_A)
    create_conversation(users, USER_B)
    create_conversation(users, None)
    body = (await client.get(URL, headers=auth(USER_A))).json()
    assert body["total"] == 1
    assert [row["id"] for row in body["conversations"]] == [str(mine)]


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 10_000_001},
        {"offset": "1.5"},
        {"before": "not-a-cursor!"},
        {"before": _b64("k|yesterday|" + str(uuid.uuid4()))},
        {"before": _b64("k|2024-05-01T12:00:00|" + str(uuid.uuid4()))},  # no time zone
        {"before": _b64("k|2024-05-01T12:00:00+00:00|not-a-uuid")},
        {"before": _b64("s|20")},  # a search cursor on a plain listing
        {"before": "x" * 201},
        {"q": ""},
        {"q": "a\x00b"},
    ],
)
async def test_bad_query_parameters_are_422(
    client: httpx.AsyncClient, users: Engine, params: dict[str, object]
) -> None:
    create_conversation(users, USER_A)
    response = await client.get(URL, params=params, headers=auth(USER_A))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_largest_offset_is_an_empty_page(client: httpx.AsyncClient, users: Engine) -> None:
    create_conversation(users, USER_A)
    response = await client.get(URL, params={"offset": 10_000_000}, headers=auth(USER_A))
    assert response.status_code == 200
    assert response.json()["conversations"] == []
    assert response.json()["total"] == 1


def test_listing_and_its_keyset_use_the_order_index(users: Engine) -> None:
    from app.services.history.queries import LISTED, SORT_KEY

    with users.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                text(
                    f"EXPLAIN SELECT id FROM conversations WHERE user_id = 'u' AND {LISTED} "
                    f"AND ({SORT_KEY}, id) < (now(), gen_random_uuid()) "
                    f"ORDER BY {SORT_KEY} DESC, id DESC LIMIT 20"
                )
            )
        )
    assert "idx_conversations_user_recent" in plan
    assert "Sort" not in plan
