"""The history API: a signed-in user's own conversations, profile, export and deletions.

Every route authenticates the bearer token (401), then checks that the path's user is the
token's user (403), before anything is read. Routes are ``async`` over an asyncpg pool, so a
slow query waits without holding a thread or stalling other requests.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app.api.deps import ChatSessionsDep, OwnHistory
from app.schemas.history import ConversationDetail, ConversationPage, ErrorBody, UserProfile
from app.services.history import deletion, queries
from app.services.history.export import export_filename, render_markdown, start_export

_401 = {"model": ErrorBody, "description": "Missing, malformed, expired or wrongly signed token"}
_403 = {"model": ErrorBody, "description": "The token belongs to another user"}
_404_CONVERSATION = {"model": ErrorBody, "description": "No such conversation of this user"}
_503 = {"model": ErrorBody, "description": "PostgreSQL or Redis did not answer"}

router = APIRouter(
    prefix="/users",
    tags=["history"],
    responses={401: _401, 403: _403, 503: _503},
)


@router.get(
    "/{user_id}/conversations", response_model=ConversationPage, response_model_exclude_unset=True
)
async def list_conversations(
    access: OwnHistory,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    before: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Words to search for in messages"),
    ] = None,
) -> Any:
    """The user's conversations, newest first; with `q`, those whose messages match, best first.

    `next_cursor` passed back as `before` gives the next page, as cheaply deep down as at the
    top. Search results carry a `snippet` of the matching text."""
    page = await queries.conversation_page(
        pool=access.pool,
        user_id=access.user_id,
        limit=limit,
        offset=offset,
        before=before,
        query=q,
    )
    if isinstance(page, bytes):
        # The plain listing's body comes ready-made from PostgreSQL (see queries.py).
        return Response(page, media_type="application/json")
    return page


@router.get(
    "/{user_id}/conversations/{conversation_id}",
    response_model=ConversationDetail,
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        404: _404_CONVERSATION,
    },
)
async def get_conversation(
    access: OwnHistory,
    conversation_id: uuid.UUID,
    format: Annotated[
        Literal["json", "markdown"], Query(description="markdown: a readable transcript")
    ] = "json",
) -> Any:
    """One conversation with all of its messages."""
    conversation = await queries.get_conversation(
        pool=access.pool, user_id=access.user_id, conversation_id=conversation_id
    )
    if format == "markdown":
        return Response(render_markdown(conversation), media_type="text/markdown; charset=utf-8")
    return conversation


@router.delete(
    "/{user_id}/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: _404_CONVERSATION},
)
async def delete_conversation(
    access: OwnHistory, conversation_id: uuid.UUID, sessions: ChatSessionsDep
) -> Response:
    """Delete one conversation: archived (PostgreSQL) and live (Redis) copies."""
    await deletion.delete_conversation(
        pool=access.pool,
        sessions=sessions,
        user_id=access.user_id,
        conversation_id=conversation_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.api_route(
    "/{user_id}/conversations/{conversation_id}",
    methods=["POST", "PUT", "PATCH", "OPTIONS"],
    include_in_schema=False,
)
async def conversation_method_not_allowed() -> Response:
    # Starlette's own 405 names only the first route matching the path (GET), but a 405 must list
    # every method the resource supports.
    return JSONResponse(
        {"detail": "Method Not Allowed"},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": "GET, DELETE"},
    )


@router.get(
    "/{user_id}/profile",
    response_model=UserProfile,
    responses={404: {"model": ErrorBody, "description": "No such user"}},
)
async def get_profile(access: OwnHistory) -> dict[str, Any]:
    """Who the user is, and how many conversations they have had, first and last."""
    return await queries.get_profile(pool=access.pool, user_id=access.user_id)


@router.get(
    "/{user_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "JSON Lines: one conversation (as the detail route returns it) a line",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def export_conversations(access: OwnHistory) -> StreamingResponse:
    """Download every conversation of the user, streamed without holding them all in memory."""
    chunks = await start_export(pool=access.pool, user_id=access.user_id)
    filename = export_filename(access.user_id)
    return StreamingResponse(
        chunks,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
