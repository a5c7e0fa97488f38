"""Every history route authenticates (401) and authorizes (403); user A reads nothing of B's."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from history_factories import (
    USER_A,
    USER_B,
    auth,
    conversation_exists,
    create_conversation,
    message,
)
from redis import Redis
from sqlalchemy import Engine

from app.config import get_settings
from app.core.redis_keys import conversation_due_key, messages_key, session_key

CONVERSATION = "00000000-0000-4000-8000-000000000001"
ROUTES = [
    ("GET", "/api/v1/users/{user}/conversations"),
    ("GET", "/api/v1/users/{user}/conversations?q=refund"),
    ("GET", "/api/v1/users/{user}/conversations/" + CONVERSATION),
    ("GET", "/api/v1/users/{user}/conversations/" + CONVERSATION + "?format=markdown"),
    ("DELETE", "/api/v1/users/{user}/conversations/" + CONVERSATION),
    ("GET", "/api/v1/users/{user}/profile"),
    ("GET", "/api/v1/users/{user}/export"),
]


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "hirecj-auth",
        "aud": "hirecj-agents",
        "sub": USER_A,
        "shop": "a-shop.myshopify.com",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _signed(claims: dict[str, object], secret: str | None = None) -> str:
    key = secret or get_settings().identity_token_secret.get_secret_value()
    return jwt.encode(claims, key, algorithm="HS256")


def _unsigned(claims: dict[str, object]) -> str:
    return jwt.encode(claims, None, algorithm="none")


BAD_AUTHORIZATION = {
    "missing": None,
    "empty bearer": "Bearer ",
    "not bearer": "Basic dXNlcjpwYXNz",
    "malformed": "Bearer not.a.jwt",
    "garbage": "Bearer abc",
    "expired": "Bearer " + _signed(_claims(iat=1_000_000, exp=1_000_600)),
    "wrong signature": "Bearer " + _signed(_claims(), secret="another-secret-" + "x" * 40),
    "wrong audience": "Bearer " + _signed(_claims(aud="someone-else")),
    "wrong issuer": "Bearer " + _signed(_claims(iss="someone-else")),
    "alg none": "Bearer " + _unsigned(_claims()),
    "no jti": "Bearer " + _signed(_claims(jti=None)),
    "no sub": "Bearer " + _signed(_claims(sub=None)),
    "no shop": "Bearer " + _signed(_claims(shop=None)),
    "no exp": "Bearer " + _signed(_claims(exp=None)),
}


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
async def test_bad_or_missing_tokens_are_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, users: Engine, method: str, route: str, case: str
) -> None:
    conversation_id = create_conversation(users, USER_A, conversation_id=uuid.UUID(CONVERSATION))
    value = BAD_AUTHORIZATION[case]
    headers = {"Authorization": value} if value is not None else {}
    response = await client.request(method, route.format(user=USER_A), headers=headers)
    assert response.status_code == 401, case
    assert response.headers["www-authenticate"] == "Bearer"
    assert conversation_exists(users, conversation_id)


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_a_token_for_another_user_is_403_and_changes_nothing(
    client: httpx.AsyncClient, users: Engine, method: str, route: str
) -> None:
    conversation_id = create_conversation(users, USER_B, conversation_id=uuid.UUID(CONVERSATION))
    response = await client.request(method, route.format(user=USER_B), headers=auth(USER_A))
    assert response.status_code == 403
    assert response.json() == {"detail": "This token belongs to another user"}
    assert conversation_exists(users, conversation_id)


async def test_user_a_reads_nothing_of_user_b_through_their_own_path(
    client: httpx.AsyncClient, users: Engine, redis_client: Redis
) -> None:
    theirs = create_conversation(users, USER_B, messages=[message("refund for order 77")])
    live = uuid.uuid4()
    redis_client.hset(session_key(str(live)), mapping={"user_id": USER_B, "status": "active"})
    redis_client.rpush(messages_key(str(live)), '{"sender":"user","content":"x"}')
    redis_client.zadd(conversation_due_key(str(live)), {str(live): 1})
    base = f"/api/v1/users/{USER_A}"
    headers = auth(USER_A)

    listing = (await client.get(f"{base}/conversations", headers=headers)).json()
    assert listing["total"] == 0
    search = (await client.get(f"{base}/conversations?q=refund", headers=headers)).json()
    assert search["total"] == 0
    assert search["conversations"] == []
    for suffix in ("", "?format=markdown"):
        response = await client.get(f"{base}/conversations/{theirs}{suffix}", headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Conversation not found"}
    export = await client.get(f"{base}/export", headers=headers)
    assert export.status_code == 200
    assert export.content == b""
    for target in (theirs, live):
        response = await client.delete(f"{base}/conversations/{target}", headers=headers)
        assert response.status_code == 404
    assert conversation_exists(users, theirs)
    assert redis_client.exists(session_key(str(live)), messages_key(str(live))) == 2
    assert redis_client.zscore(conversation_due_key(str(live)), str(live)) == 1
    profile = await client.get(f"/api/v1/users/{USER_B}/profile", headers=headers)
    assert profile.status_code == 403


def test_openapi_declares_the_bearer_scheme_and_error_responses() -> None:
    from app.main import create_app

    document = create_app().openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The token the auth service issued at the end of the Shopify OAuth.",
    }
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/users"):
            continue
        for operation in operations.values():
            assert operation["security"] == [{"BearerToken": []}]
            assert {"401", "403", "422"} <= set(operation["responses"])
